"""Columns of an import: file headers → internal names, and the quarantine record's shape."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import pandas as pd

from models.enums import Stage
from models.schemas import IMPORT_SCHEMAS, STAGE_DATE_COLUMNS, required_columns

ImportKind = Literal["owners", "companies", "contacts", "events", "activities", "deals"]
IMPORT_KINDS: tuple[ImportKind, ...] = get_args(ImportKind)

QUARANTINE_COLUMNS = ["row_number", "field", "value", "reason"]
NO_CONTACT = "no contact with this email"
WHOLE_ROW = "*"


class ImportFileError(ValueError):
    """A file that cannot be imported at all; the message names the file (and line or column)."""


def quarantine_frame(records: Iterable[Mapping[str, Any]] = ()) -> pd.DataFrame:
    """A frame of quarantine records (row_number, field, value, reason)."""
    return pd.DataFrame(list(records), columns=QUARANTINE_COLUMNS)


# Native files use the internal names (any case); a few friendlier aliases are accepted.
NATIVE_ALIASES: dict[ImportKind, dict[str, str]] = {
    "owners": {},
    "companies": {"company_domain": "domain"},
    "contacts": {"owner_email": "owner", "record_id": "hubspot_id"},
    "events": {"source_event_id": "event_id"},
    "activities": {"source_activity_id": "activity_id"},
    "deals": {"source_deal_id": "deal_id"},
}

# A HubSpot "all contacts" export, by display label (compared case-insensitively).
# Columns not listed (Phone Number, Last Activity Date, …) are ignored.
HUBSPOT_CONTACT_LABELS: dict[str, str] = {
    "record id": "hubspot_id",
    "contact id": "hubspot_id",
    "email": "email",
    "first name": "first_name",
    "last name": "last_name",
    "company name": "company_name",
    "company domain name": "company_domain",
    "job title": "job_title",
    "industry": "industry",
    "number of employees": "employee_count",
    "state/region": "region",
    "original source": "lead_source",
    "lifecycle stage": "lifecycle_stage",
    "lead status": "lead_status",
    "contact owner": "owner",
    "create date": "created_at",
    # Read into `timezone` (Time Zone first): see tasks.imports.timezones.
    "time zone": "hubspot_time_zone",
    "ip timezone": "hubspot_ip_timezone",
}
_HUBSPOT_MARKERS = frozenset(label for label in HUBSPOT_CONTACT_LABELS if " " in label)

# HubSpot's "Became a … Date" properties (hs_lifecyclestage_<stage>_date). HubSpot has no
# lost_renurture stage: that one is only `became_lost_renurture_at`.
HUBSPOT_STAGE_DATE_LABELS: dict[str, str] = {
    "became a subscriber date": STAGE_DATE_COLUMNS[Stage.SUBSCRIBER],
    "became a lead date": STAGE_DATE_COLUMNS[Stage.LEAD],
    "became a marketing qualified lead date": STAGE_DATE_COLUMNS[Stage.MQL],
    "became a sales qualified lead date": STAGE_DATE_COLUMNS[Stage.SQL],
    "became an opportunity date": STAGE_DATE_COLUMNS[Stage.OPPORTUNITY],
    "became a customer date": STAGE_DATE_COLUMNS[Stage.CUSTOMER],
    "became an evangelist date": STAGE_DATE_COLUMNS[Stage.EVANGELIST],
    "became a other lifecycle date": STAGE_DATE_COLUMNS[Stage.OTHER],
}
# Stage dates are read under either spelling, whichever layout the rest of the file has.
STAGE_DATE_NAMES: dict[str, str] = {
    **{column: column for column in STAGE_DATE_COLUMNS.values()},
    **HUBSPOT_STAGE_DATE_LABELS,
}


@dataclass(frozen=True)
class Layout:
    """How one file's header maps onto an import kind's internal columns."""

    kind: ImportKind
    source: str
    hubspot: bool
    positions: dict[str, int]
    labels: dict[str, str]
    ignored: tuple[str, ...] = ()

    def label(self, column: str) -> str:
        """The header a person sees in the file for an internal column."""
        return self.labels.get(column, column)


def _header_key(label: str) -> str:
    return label.strip().lstrip("\ufeff").casefold()


def is_hubspot_export(header: Iterable[str]) -> bool:
    """True when the header carries HubSpot display labels (e.g. "Record ID", "First Name")."""
    return any(_header_key(label) in _HUBSPOT_MARKERS for label in header)


def layout_for(
    header: Iterable[str],
    *,
    kind: ImportKind,
    source: str,
    extra: Mapping[str, str] | None = None,
    asked_by: Mapping[str, str] | None = None,
) -> Layout:
    """Map a header onto `kind`'s columns; a missing required column is an ImportFileError.

    `extra` names more columns to read (internal name → header, matched ignoring case),
    e.g. the columns consent options name; a missing one is an ImportFileError that says
    what asked for it (`asked_by`: internal name → e.g. the option as typed).
    """
    labels_in_file = list(header)
    schema = IMPORT_SCHEMAS[kind]
    hubspot = kind == "contacts" and is_hubspot_export(labels_in_file)
    if hubspot:
        names = HUBSPOT_CONTACT_LABELS
        expected = {v: k for k, v in reversed(HUBSPOT_CONTACT_LABELS.items())}
    else:
        names = {**{c: c for c in schema.columns}, **NATIVE_ALIASES[kind]}
        expected = {c: c for c in schema.columns}
    if kind == "contacts":
        names = {**names, **STAGE_DATE_NAMES}
    positions: dict[str, int] = {}
    labels: dict[str, str] = {}
    ignored: list[str] = []
    for position, label in enumerate(labels_in_file):
        column = names.get(_header_key(label))
        if column is None or column in positions:
            ignored.append(label)
            continue
        positions[column] = position
        labels[column] = label.strip().lstrip("\ufeff")
    for column in required_columns(schema):
        if column not in positions:
            wanted = expected[column]
            if hubspot:
                wanted = wanted.title().replace(" Id", " ID")
            shown = ", ".join(label.strip() for label in labels_in_file) or "(nothing)"
            raise ImportFileError(
                f"{source}: missing required column '{wanted}' for a {kind} import "
                f"(the header has: {shown})"
            )
    keys = [_header_key(label) for label in labels_in_file]
    for column, wanted in (extra or {}).items():
        key = _header_key(wanted)
        if key not in keys:
            shown = ", ".join(label.strip() for label in labels_in_file) or "(nothing)"
            raise ImportFileError(
                f"{source}: no column '{wanted}', which "
                f"{(asked_by or {}).get(column, 'an option')} names "
                f"(the header has: {shown})"
            )
        position = keys.index(key)
        positions[column] = position
        labels[column] = labels_in_file[position].strip().lstrip("\ufeff")
        if labels_in_file[position] in ignored:
            ignored.remove(labels_in_file[position])
    return Layout(kind, source, hubspot, positions, labels, tuple(ignored))


_UNSTORABLE = re.compile("[\x00\udc80-\udcff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return "\\x00" if char == "\x00" else f"\\x{ord(char) - 0xDC00:02X}"


def printable(text: str) -> str:
    """`text` with NUL and undecodable bytes (surrogate escapes) written as `\\xNN`.

    Such characters cannot be stored in a PostgreSQL text column or printed to a terminal.
    """
    return _UNSTORABLE.sub(_escape, text)
