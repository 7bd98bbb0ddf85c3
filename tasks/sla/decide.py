"""Placeholder: replaced by the SLA work."""
