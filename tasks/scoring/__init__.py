"""Scoring: read → decide → apply of behaviour + fit scores, and `explain`."""
