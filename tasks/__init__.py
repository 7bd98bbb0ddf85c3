"""Prefect tasks: extract/load, decision functions and dispatch."""
