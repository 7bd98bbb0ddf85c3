"""leadflow: lead-lifecycle automation as code, run by Prefect."""

__version__ = "0.1.0"
