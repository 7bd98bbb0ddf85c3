"""The one wiring of each export: read → shape (leadflow's or HubSpot's columns) → write.

The CLI and the tests call these; each returns how many rows it wrote.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Literal

import pandas as pd
from sqlalchemy import Connection, Engine

from models.rules import Rules
from tasks.export.files import write_csv
from tasks.export.hubspot import (
    DEFAULT_PIPELINE,
    hubspot_companies,
    hubspot_contacts,
    hubspot_deals,
)
from tasks.export.native import native_companies, native_contacts, native_deals
from tasks.export.read import read_companies, read_contacts, read_deals

ExportKind = Literal["contacts", "companies", "deals"]


@dataclass(frozen=True)
class ExportOptions:
    """How to write an export: leadflow's layout, or HubSpot's (`hubspot`) with what it
    needs — the rules (lead-status and deal-stage names), the business time zone for its
    times, the pipeline id of its deals."""

    tz: tzinfo
    rules: Rules | None = None
    hubspot: bool = False
    pipeline: str = DEFAULT_PIPELINE


READERS: dict[ExportKind, Callable[[Connection], pd.DataFrame]] = {
    "contacts": read_contacts,
    "companies": read_companies,
    "deals": read_deals,
}


def shape_export(rows: pd.DataFrame, *, kind: ExportKind, options: ExportOptions) -> pd.DataFrame:
    """The rows of `kind` (as read) in the export's columns: leadflow's or HubSpot's."""
    if not options.hubspot:
        native = {"contacts": native_contacts, "companies": native_companies, "deals": native_deals}
        return native[kind](rows)
    if options.rules is None:
        raise ValueError("a HubSpot export needs the rules (lead-status and deal-stage names)")
    rules, tz = options.rules, options.tz
    if kind == "contacts":
        return hubspot_contacts(rows, lead_statuses=rules.lead_status.hubspot, tz=tz)
    if kind == "companies":
        return hubspot_companies(rows, tz=tz)
    return hubspot_deals(rows, rules=rules.deals, pipeline=options.pipeline, tz=tz)


def export_frame(engine: Engine, *, kind: ExportKind, options: ExportOptions) -> pd.DataFrame:
    """Read `kind` and shape it as the export file's rows."""
    with engine.connect() as conn:
        rows = READERS[kind](conn)
    return shape_export(rows, kind=kind, options=options)


def export_records(
    engine: Engine, *, kind: ExportKind, path: str, options: ExportOptions
) -> int:
    """Write every contact, company or deal to `path` (CSV); returns the row count.

    Raises OSError when the file cannot be written.
    """
    frame = export_frame(engine, kind=kind, options=options)
    write_csv(frame, path)
    return len(frame)
