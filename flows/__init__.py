"""Prefect flows: one module per deployment, each read → decide → apply → artifact."""
