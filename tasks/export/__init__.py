"""Exports: contacts, companies and deals as CSV, in leadflow's columns (which `leadflow
import` reads back) or as files HubSpot's importer takes as they are.

`export_records` (tasks.export.run) is the one wiring; every text cell is neutralised
against CSV formula injection (tasks.export.files).
"""

import pandas as pd
from sqlalchemy import Connection

from models.enums import Stage
from tasks.export.files import (
    FORMULA_PREFIXES,
    neutralise_formula,
    neutralise_formulas,
    write_csv,
)
from tasks.export.hubspot_values import hubspot_stage
from tasks.export.native import CONTACT_COLUMNS, native_contacts
from tasks.export.read import first_entered, read_contacts

EXPORT_STAGES = [Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.OTHER]
EXPORT_COLUMNS = CONTACT_COLUMNS

__all__ = [
    "EXPORT_COLUMNS",
    "EXPORT_STAGES",
    "FORMULA_PREFIXES",
    "first_entered",
    "neutralise_formula",
    "neutralise_formulas",
    "read_contacts_export",
    "to_hubspot_stages",
    "write_csv",
]


def read_contacts_export(conn: Connection) -> pd.DataFrame:
    """One row per contact in leadflow's export columns; `became_<stage>_at` is the first
    time it entered that stage."""
    return native_contacts(read_contacts(conn))


def to_hubspot_stages(frame: pd.DataFrame) -> pd.DataFrame:
    """`lifecycle_stage` renamed to HubSpot's internal names (lost_renurture: empty)."""
    out = frame.copy()
    out["lifecycle_stage"] = out["lifecycle_stage"].map(hubspot_stage)
    return out
