"""Adapters to the outside world (Slack, SMTP): one real implementation and a local one each."""
