"""The KPI report: read → compute (pure) → render, wired once in `report.py`."""
