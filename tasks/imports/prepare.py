"""Prepare one chunk: normalise, validate, convert; every failing row becomes quarantine.

Pure: no database, no clock. The order matters: text the database cannot store is
caught first, then the schema's checks, then the database's limits, then conversion.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

import pandas as pd

from models.deal_rules import DEFAULT_DEAL_RULES, DealRules
from models.enums import Stage
from models.schemas import IMPORT_SCHEMAS, timestamp_check
from tasks.imports.columns import ImportKind, Layout, quarantine_frame
from tasks.imports.consent import ConsentMapping, column_evidence, consent_verdicts
from tasks.imports.convert import (
    convert_types,
    failing_cells,
    out_of_range_cells,
    unconverted_cells,
    unstorable_cells,
)
from tasks.imports.dates import DateFormat, normalise_dates, unreadable_date_cells
from tasks.imports.deal_stages import UNKNOWN_DEAL_STAGE, map_deal_stages
from tasks.imports.hubspot_sent import sent_values
from tasks.imports.normalise import (
    TIME_COLUMNS,
    map_lead_statuses,
    map_stage_names,
    normalise_text,
)
from tasks.imports.read import CsvChunk
from tasks.imports.stage_dates import stage_date_cells
from tasks.imports.timezones import hubspot_time_zones

# Natural keys of the kinds that are upserted; a key twice in one file is ambiguous.
UPSERT_KEYS: dict[ImportKind, str] = {
    "owners": "email",
    "companies": "domain",
    "contacts": "email",
    "deals": "deal_id",
}
# Ledger rows are insert-only: the same id twice is fine only with the same content.
LEDGER_KEYS: dict[ImportKind, str] = {"events": "event_id", "activities": "activity_id"}


@dataclass(frozen=True)
class Prepared:
    """One chunk after validation: typed good rows (with `line`), and what was rejected;
    `labels` names columns as the file does."""

    rows: pd.DataFrame
    quarantine: pd.DataFrame
    total: int
    notes: dict[str, int] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)


def _quarantine(cells: pd.DataFrame, lines: pd.Series, layout: Layout) -> pd.DataFrame:
    if cells.empty:
        return quarantine_frame()
    return pd.DataFrame(
        {
            "row_number": lines.loc[cells["index"]].to_numpy(),
            "field": cells["column"].map(layout.label).to_numpy(),
            "value": cells["value"].to_numpy(),
            "reason": cells["reason"].to_numpy(),
        }
    )


def _as_written(cells: pd.DataFrame, written: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Failing cells of date columns show the cell as the file has it, not as normalised."""
    hit = cells["column"].isin(list(written)) if not cells.empty else None
    if hit is None or not hit.any():
        return cells
    cells = cells.copy()
    for column, original in written.items():
        mask = cells["column"] == column
        if mask.any():
            cells.loc[mask, "value"] = original.reindex(cells.loc[mask, "index"]).to_numpy()
    return cells


_CHECKED_DATE = "2000-01-01"


def _dates_checked(
    text: pd.DataFrame, written: Mapping[str, pd.Series], kind: ImportKind
) -> pd.DataFrame:
    """The frame for the schema, its date cells (already read by `unreadable_date_cells`,
    the same test as the schema's) replaced by one valid date: millions of timestamps are
    not parsed twice. Missing cells stay missing, so "is required" is still reported."""
    schema = IMPORT_SCHEMAS[kind]
    out = text
    for column in written:
        checks = schema.columns[column].checks if column in schema.columns else []
        if column not in text or [c.error for c in checks] != [timestamp_check().error]:
            continue
        if out is text:
            out = text.copy()
        out[column] = text[column].where(text[column].isna(), _CHECKED_DATE)
    return out


def _contact_columns(
    text: pd.DataFrame,
    frame: pd.DataFrame,
    *,
    layout: Layout,
    stage_map: Mapping[str, Stage],
    consent: ConsentMapping | None,
) -> dict[str, int]:
    """Stages, statuses, HubSpot time zones and mapped consent, in place; returns notes.

    A HubSpot file's rows also keep the stage and status cells as written, with the
    leadflow value each was read as (`tasks.imports.hubspot_sent`).
    """
    written = {column: text[column].copy() for column in ("lifecycle_stage", "lead_status")}
    text["lifecycle_stage"] = map_stage_names(text["lifecycle_stage"], stage_map)
    text["lead_status"], notes = map_lead_statuses(text["lead_status"])
    if layout.hubspot:
        zones, zone_notes = hubspot_time_zones(frame, labels=layout.labels)
        text["timezone"] = text["timezone"].where(text["timezone"].notna(), zones)
        notes.update(zone_notes)
        sent, sent_notes = sent_values(text, cells=written, labels=layout.labels)
        for column in sent.columns:
            text[column] = sent[column]
        notes.update(sent_notes)
    label = layout.label("consent")
    if consent is not None and consent.rules:
        verdicts = consent_verdicts(frame, consent, consent=text["consent"], label=label)
        for column in verdicts.columns:
            text[column] = verdicts[column]
    else:
        text["consent_evidence"] = column_evidence(text["consent"], label=label)
    return notes


def prepare_rows(
    chunk: CsvChunk,
    *,
    layout: Layout,
    naive_tz: tzinfo,
    stage_map: Mapping[str, Stage],
    now: datetime | None = None,
    deal_rules: DealRules | None = None,
    deal_stage_map: Mapping[str, str] | None = None,
    date_format: DateFormat | None = None,
    consent: ConsentMapping | None = None,
) -> Prepared:
    """Normalise, validate (lazily) and convert one chunk; failures become quarantine rows.

    `now` is the import's instant: a contact's stage date after it is quarantined (None
    skips that check). Deal stages must be in `deal_rules` (default pipeline) or mapped
    by `deal_stage_map` (folded custom name → deal stage). Dates are ISO 8601 or
    YYYY/MM/DD, or day-/month-first with `date_format`. Contacts take their consent from
    `consent` rules when given (rows gain `unsubscribed_by` / `bounced_by`: the opt-out
    rule that matched).
    """
    kind = layout.kind
    rejected: list[pd.DataFrame] = [chunk.malformed]
    frame = chunk.frame
    if chunk.text.nul or chunk.text.undecodable:
        cells = unstorable_cells(frame, chunk.text)
        rejected.append(_quarantine(cells, chunk.lines, layout))
        frame = frame.drop(index=pd.Index(cells["index"].unique()))
    text = normalise_text(frame, kind=kind)
    notes: dict[str, int] = {}
    unknown_deal_stages = pd.Index([])
    if kind == "contacts":
        notes = _contact_columns(
            text, frame, layout=layout, stage_map=stage_map, consent=consent
        )
    elif kind == "deals":
        text["stage"], cells = map_deal_stages(
            text["stage"], deals=deal_rules or DEFAULT_DEAL_RULES, stage_map=deal_stage_map or {}
        )
        rejected.append(_quarantine(cells, chunk.lines, layout))
        unknown_deal_stages = pd.Index(cells["index"].unique())
    written = {column: text[column] for column in TIME_COLUMNS[kind]}
    for column in written:
        text[column] = normalise_dates(text[column], date_format)
    for check in (
        lambda t: unreadable_date_cells(t, columns=written, date_format=date_format),
        lambda t: failing_cells(_dates_checked(t, written, kind), IMPORT_SCHEMAS[kind]),
        lambda t: out_of_range_cells(t, kind=kind),
    ):
        cells = _as_written(check(text), written)
        rejected.append(_quarantine(cells, chunk.lines, layout))
        text = text.drop(index=pd.Index(cells["index"].unique()))
    # Other problems of a row with an unknown deal stage are reported too, then it goes.
    text = text.drop(index=unknown_deal_stages.intersection(text.index))
    rows = convert_types(text, kind=kind, naive_tz=naive_tz)
    cells = _as_written(unconverted_cells(text, rows), written)
    rejected.append(_quarantine(cells, chunk.lines, layout))
    rows = rows.drop(index=pd.Index(cells["index"].unique()))
    if kind == "contacts":
        cells = _as_written(
            stage_date_cells(rows, text=text, now=now, label=layout.label), written
        )
        rejected.append(_quarantine(cells, chunk.lines, layout))
        rows = rows.drop(index=pd.Index(cells["index"].unique()))
    rows["line"] = chunk.lines.loc[rows.index].to_numpy()
    if kind in UPSERT_KEYS:
        key = UPSERT_KEYS[kind]
        rows, duplicates = split_duplicates(rows, key=key, label=layout.label(key))
        rejected.append(duplicates)
    elif kind in LEDGER_KEYS:
        key = LEDGER_KEYS[kind]
        rows, duplicates = split_conflicting_duplicates(rows, key=key, label=layout.label(key))
        rejected.append(duplicates)
    parts = [q for q in rejected if not q.empty]
    quarantine = pd.concat(parts, ignore_index=True) if parts else quarantine_frame()
    return Prepared(
        rows=rows.reset_index(drop=True),
        quarantine=quarantine.reset_index(drop=True),
        total=chunk.rows,
        notes=notes,
        labels=layout.labels,
    )


def _duplicate_records(later: pd.DataFrame, first_line: pd.Series, key: str, label: str,
                       what: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row_number": later["line"].to_numpy(),
            "field": label,
            "value": later[key].to_numpy(),
            "reason": [
                f"duplicate {label} in this file{what} (first on line {first_line[k]})"
                for k in later[key]
            ],
        },
        columns=["row_number", "field", "value", "reason"],
    )


def split_duplicates(
    rows: pd.DataFrame, *, key: str, label: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the first row of each key; later rows with the same key are quarantined."""
    repeated = rows.duplicated(key, keep="first")
    if not repeated.any():
        return rows, quarantine_frame()
    first_line = rows.drop_duplicates(key).set_index(key)["line"]
    return rows[~repeated], _duplicate_records(rows[repeated], first_line, key, label, "")


def split_conflicting_duplicates(
    rows: pd.DataFrame, *, key: str, label: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For insert-only ledgers: a later row with the key of an earlier one is quarantined
    when its content differs; an exact repeat stays (the insert ignores it: unchanged)."""
    repeated = rows.duplicated(key, keep="first")
    if not repeated.any():
        return rows, quarantine_frame()
    content = [c for c in rows.columns if c != "line"]
    first = rows.drop_duplicates(key).set_index(key)
    later = rows[repeated]
    same = pd.Series(True, index=later.index)
    for column in content:
        if column == key:
            continue
        theirs = later[key].map(first[column])
        mine = later[column]
        equal = (mine.astype(object) == theirs.astype(object)).fillna(False).astype(bool)
        same &= equal | (mine.isna().to_numpy() & theirs.isna().to_numpy())
    conflicting = later[~same]
    records = _duplicate_records(
        conflicting, first["line"], key, label, " with different content"
    )
    return rows.drop(index=conflicting.index), records


def unknown_stages(quarantine: pd.DataFrame) -> dict[str, int]:
    """Custom lifecycle (or deal) stages that were quarantined, with how many rows each."""
    reasons = quarantine["reason"]
    mask = reasons.str.startswith("unknown lifecycle stage", na=False) | reasons.str.startswith(
        UNKNOWN_DEAL_STAGE, na=False
    )
    counts = quarantine.loc[mask, "value"].value_counts()
    return {str(stage): int(count) for stage, count in counts.items()}
