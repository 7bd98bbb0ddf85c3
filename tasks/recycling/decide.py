"""Placeholder: replaced by the recycling work."""
