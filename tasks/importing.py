"""Read, validate and decide for `leadflow import`: pure functions over DataFrames.

*Read* turns a CSV file into text frames that remember the file line of every record.
*Validate* (`prepare_rows`) normalises the text, checks it with the pandera schema of
its kind (lazily: every failing cell is reported) and converts the good rows to typed
values; failing rows become quarantine records. *Decide* (`decide_*`) compares typed
rows with what the database holds and returns inserts and updates as frames.

Nothing here touches the database or the clock: the import's wall-clock instant comes
in as `now`, stored rows come in as frames.
"""

import codecs
import csv
import math
import re
import shlex
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from models.enums import (
    HUBSPOT_LEAD_STATUS,
    HUBSPOT_STAGE,
    STAGE_ORDER,
    EventType,
    LeadStatus,
    Stage,
)
from models.schemas import (
    FALSE_WORDS,
    IMPORT_SCHEMAS,
    ISO_AWARE,
    REQUIRED,
    TRUE_WORDS,
    check_fields,
    required_columns,
)

ImportKind = Literal["owners", "companies", "contacts", "events", "activities", "deals"]
IMPORT_KINDS: tuple[ImportKind, ...] = get_args(ImportKind)

QUARANTINE_COLUMNS = ["row_number", "field", "value", "reason"]
NO_CONTACT = "no contact with this email"
WHOLE_ROW = "*"

# Free-mail domains say nothing about the employer: no company is made from them.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.jp",
        "ymail.ne.jp",
        "hotmail.com",
        "hotmail.co.jp",
        "outlook.com",
        "outlook.jp",
        "live.jp",
        "live.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "docomo.ne.jp",
        "ezweb.ne.jp",
        "softbank.ne.jp",
        "i.softbank.jp",
        "au.com",
        "nifty.com",
    }
)


class ImportFileError(ValueError):
    """A file that cannot be imported at all; the message names the file (and column)."""


# ---------------------------------------------------------------------------------------
# Columns: file headers → internal names
# ---------------------------------------------------------------------------------------

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
}
_HUBSPOT_MARKERS = frozenset(label for label in HUBSPOT_CONTACT_LABELS if " " in label)


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


def layout_for(header: Iterable[str], *, kind: ImportKind, source: str) -> Layout:
    """Map a header onto `kind`'s columns; a missing required column is an ImportFileError."""
    labels_in_file = list(header)
    schema = IMPORT_SCHEMAS[kind]
    hubspot = kind == "contacts" and is_hubspot_export(labels_in_file)
    if hubspot:
        names = HUBSPOT_CONTACT_LABELS
        expected = {v: k for k, v in reversed(HUBSPOT_CONTACT_LABELS.items())}
    else:
        names = {**{c: c for c in schema.columns}, **NATIVE_ALIASES[kind]}
        expected = {c: c for c in schema.columns}
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
    return Layout(kind, source, hubspot, positions, labels, tuple(ignored))


# ---------------------------------------------------------------------------------------
# Read
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvChunk:
    """Consecutive records of a file as text, with the file line each record starts on."""

    frame: pd.DataFrame
    lines: pd.Series
    malformed: pd.DataFrame

    @property
    def rows(self) -> int:
        """Data records read, well-formed or not."""
        return len(self.frame) + len(self.malformed)


def _encoding(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        # Excel in Japan saves CSV as Shift_JIS (cp932) unless told otherwise.
        return "cp932"


def _check_file(path: Path, source: str) -> None:
    if not path.exists():
        raise ImportFileError(f"{source}: no such file")
    if not path.is_file():
        raise ImportFileError(f"{source}: not a file")


def read_header(path: str | Path, *, source: str | None = None) -> list[str]:
    """The header row of a CSV file (UTF-8, UTF-8 with BOM, or Shift_JIS)."""
    file = Path(path)
    shown = source or str(path)
    _check_file(file, shown)
    with file.open(encoding=_encoding(file), newline="") as handle:
        for record in csv.reader(handle):
            if any(cell.strip() for cell in record):
                return record
    raise ImportFileError(f"{shown}: empty file, no header")


def iter_csv_chunks(
    path: str | Path, *, layout: Layout, chunk_rows: int | None = None
) -> Iterator[CsvChunk]:
    """Yield the file's records as text frames of `layout`'s columns, `chunk_rows` at a time.

    Blank lines are skipped; a record with a different number of fields than the header
    becomes a quarantine record (field `*`). Line numbers count the header as line 1 and
    stay right when quoted cells span lines.
    """
    file = Path(path)
    _check_file(file, layout.source)
    columns = list(layout.positions)
    positions = [layout.positions[c] for c in columns]
    limit = chunk_rows or math.inf
    csv.field_size_limit(1 << 24)
    with file.open(encoding=_encoding(file), newline="") as handle:
        reader = csv.reader(handle)
        width: int | None = None
        records: list[list[str]] = []
        lines: list[int] = []
        malformed: list[tuple[int, str, str]] = []
        previous_end = 0
        try:
            for record in reader:
                start, previous_end = previous_end + 1, reader.line_num
                if not any(record) or not any(cell.strip() for cell in record):
                    continue
                if width is None:
                    width = len(record)
                    continue
                if len(record) != width:
                    malformed.append(
                        (
                            start,
                            ",".join(record)[:500],
                            f"has {len(record)} fields, the header has {width}",
                        )
                    )
                else:
                    records.append(record)
                    lines.append(start)
                if len(lines) + len(malformed) >= limit:
                    yield _chunk(columns, positions, records, lines, malformed)
                    records, lines, malformed = [], [], []
        except UnicodeDecodeError as error:
            raise ImportFileError(
                f"{layout.source}: line {previous_end + 1} is not valid {handle.encoding} "
                f"text ({error.reason}); save the file as UTF-8"
            ) from error
        except csv.Error as error:
            raise ImportFileError(f"{layout.source}: line {reader.line_num}: {error}") from error
        if lines or malformed or chunk_rows is None:
            yield _chunk(columns, positions, records, lines, malformed)


def _chunk(
    columns: list[str],
    positions: list[int],
    records: list[list[str]],
    lines: list[int],
    malformed: list[tuple[int, str, str]],
) -> CsvChunk:
    # Transposing in C (zip) is far cheaper than appending cell by cell for millions of rows.
    by_position = list(zip(*records, strict=True)) if records else []
    frame = pd.DataFrame(
        {
            c: pd.Series(by_position[p] if records else [], dtype="str")
            for c, p in zip(columns, positions, strict=True)
        },
        index=pd.RangeIndex(len(lines)),
    )
    bad = pd.DataFrame(
        {
            "row_number": [m[0] for m in malformed],
            "field": WHOLE_ROW,
            "value": [m[1] for m in malformed],
            "reason": [m[2] for m in malformed],
        },
        columns=QUARANTINE_COLUMNS,
    )
    return CsvChunk(frame=frame, lines=pd.Series(lines, dtype="int64"), malformed=bad)


# ---------------------------------------------------------------------------------------
# Normalise
# ---------------------------------------------------------------------------------------


def _fold(series: pd.Series) -> pd.Series:
    """Case- and punctuation-free key: "Marketing Qualified Lead" → marketingqualifiedlead."""
    return series.str.casefold().str.replace(r"[\W_]+", "", regex=True)


def _fold_one(value: str) -> str:
    return re.sub(r"[\W_]+", "", value.casefold())


_STAGE_ALIASES: dict[str, Stage] = {
    **{_fold_one(s.value): s for s in Stage},
    **{_fold_one(name): stage for name, stage in HUBSPOT_STAGE.items()},
}
_LEAD_STATUS_ALIASES: dict[str, LeadStatus] = {
    **{_fold_one(s.value): s for s in LeadStatus},
    **{_fold_one(name): status for name, status in HUBSPOT_LEAD_STATUS.items()},
}


def parse_stage_map(entries: Iterable[str]) -> dict[str, Stage]:
    """Parse `CUSTOM=stage` entries (target: a leadflow stage or a HubSpot stage name).

    Keys are matched case- and punctuation-insensitively, like known stage names.
    """
    mapping: dict[str, Stage] = {}
    for entry in entries:
        custom, sep, target = entry.rpartition("=")
        if not sep or not custom.strip() or not target.strip():
            raise ValueError(f"--stage-map '{entry}': write it as CUSTOM=stage, e.g. 'Trial=mql'")
        stage = _STAGE_ALIASES.get(_fold_one(target))
        if stage is None:
            raise ValueError(
                f"--stage-map '{entry}': '{target.strip()}' is not a stage "
                f"(one of {', '.join(Stage)})"
            )
        mapping[_fold_one(custom)] = stage
    return mapping


def map_stage_names(values: pd.Series, stage_map: Mapping[str, Stage]) -> pd.Series:
    """Known stage names (leadflow, HubSpot internal or label, mapped customs) → stage values.

    Unknown names are left as written, so validation can quarantine them by name.
    """
    aliases = {**_STAGE_ALIASES, **stage_map}
    mapped = _fold(values).map({k: v.value for k, v in aliases.items()})
    return mapped.where(mapped.notna(), values).astype("str")


def map_lead_statuses(values: pd.Series) -> tuple[pd.Series, dict[str, int]]:
    """HubSpot hs_lead_status names/labels and leadflow statuses → status values.

    Unknown statuses become blank (the contact is kept) and are counted for the report.
    """
    mapped = _fold(values).map({k: v.value for k, v in _LEAD_STATUS_ALIASES.items()})
    unknown = values[values.notna() & mapped.isna()]
    notes = {
        f"unknown lead status '{status}' left empty": int(count)
        for status, count in unknown.value_counts().items()
    }
    return mapped.astype("str"), notes


def normalise_domains(values: pd.Series) -> pd.Series:
    """`https://www.Example.co.jp/about` → `example.co.jp`."""
    return (
        values.str.lower()
        .str.replace(r"^[a-z][a-z0-9+.-]*://", "", regex=True)
        .str.replace(r"^www\.", "", regex=True)
        .str.replace(r"[/?#].*$", "", regex=True)
        .str.rstrip(".")
    )


_LOWER: dict[ImportKind, tuple[str, ...]] = {
    "owners": ("email", "manager_email", "active"),
    "companies": (),
    "contacts": ("email", "consent"),
    "events": ("email",),
    "activities": ("email", "owner_email"),
    "deals": ("contact_email",),
}
_VOCABULARY: dict[ImportKind, tuple[str, ...]] = {
    "owners": ("team",),
    "companies": (),
    "contacts": (),
    "events": ("type",),
    "activities": ("type", "outcome"),
    "deals": (),
}
_DOMAINS: dict[ImportKind, tuple[str, ...]] = {
    "owners": (),
    "companies": ("domain",),
    "contacts": ("company_domain",),
    "events": (),
    "activities": (),
    "deals": ("company_domain",),
}
_TIMES: dict[ImportKind, tuple[str, ...]] = {
    "owners": (),
    "companies": (),
    "contacts": ("created_at",),
    "events": ("occurred_at",),
    "activities": ("occurred_at",),
    "deals": ("created_at", "closed_at"),
}


def normalise_text(frame: pd.DataFrame, *, kind: ImportKind) -> pd.DataFrame:
    """Strip cells, blanks → missing, add absent optional columns, fold case of vocabularies."""
    schema = IMPORT_SCHEMAS[kind]
    out = pd.DataFrame(index=frame.index)
    for column in schema.columns:
        if column in frame:
            values = frame[column].str.strip()
            out[column] = values.where(values != "").astype("str")
        else:
            out[column] = pd.Series(np.nan, index=frame.index, dtype="str")
    for column in _LOWER[kind]:
        out[column] = out[column].str.lower()
    for column in _VOCABULARY[kind]:
        out[column] = out[column].str.lower().str.replace(r"[\s-]+", "_", regex=True)
    for column in _DOMAINS[kind]:
        out[column] = normalise_domains(out[column])
    for column in _TIMES[kind]:
        out[column] = out[column].str.replace(r"z$", "Z", regex=True)
    if kind == "events":
        # Page categories and form kinds are a vocabulary; other details are ids, kept as is.
        fixed = out["type"].isin([EventType.PAGE_VIEW.value, EventType.FORM_SUBMIT.value])
        folded = out["detail"].str.lower().str.replace(r"[\s-]+", "_", regex=True)
        out["detail"] = folded.where(fixed, out["detail"]).astype("str")
    return out


# ---------------------------------------------------------------------------------------
# Validate and convert
# ---------------------------------------------------------------------------------------


def quarantine_frame(records: Iterable[Mapping[str, Any]] = ()) -> pd.DataFrame:
    """A frame of quarantine records (row_number, field, value, reason)."""
    return pd.DataFrame(list(records), columns=QUARANTINE_COLUMNS)


def failing_cells(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Validate lazily; one row per failing cell: index, column, value, reason."""
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return pd.DataFrame(columns=["index", "column", "value", "reason"])
    cases = cases[cases["index"].notna()]
    blamed = check_fields(schema)
    wide = cases["schema_context"].eq("DataFrameSchema")
    # A frame-wide check reports every cell of a failing row; keep the one it blames.
    keep = ~wide | (cases["column"] == cases["check"].map(blamed))
    cases = cases[keep]
    reasons = cases["check"].astype(str).replace({"not_nullable": REQUIRED})
    values = cases["failure_case"].astype(object).where(cases["failure_case"].notna(), None)
    out = pd.DataFrame(
        {
            "index": cases["index"].astype("int64").to_numpy(),
            "column": cases["column"].astype(str).to_numpy(),
            "value": values.to_numpy(),
            "reason": reasons.to_numpy(),
        }
    )
    templated = out["reason"].str.contains("{value}", regex=False)
    if templated.any():
        out.loc[templated, "reason"] = [
            reason.replace("{value}", str(value))
            for reason, value in zip(
                out.loc[templated, "reason"], out.loc[templated, "value"], strict=True
            )
        ]
    return out.drop_duplicates(["index", "column", "reason"]).sort_values(["index", "column"])


def parse_timestamps(values: pd.Series, *, naive_tz: tzinfo) -> pd.Series:
    """ISO 8601 text → UTC instants; a value without an offset is read in `naive_tz`."""
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    present = values.notna()
    aware = present & values.str.fullmatch(ISO_AWARE).fillna(False).astype(bool)
    naive = present & ~aware
    if aware.any():
        out[aware] = pd.to_datetime(values[aware], format="ISO8601", utc=True, errors="coerce")
    if naive.any():
        local = pd.to_datetime(values[naive], format="ISO8601", errors="coerce")
        # Repeated wall-clock hours take the first (daylight) reading, like datetime's fold=0.
        out[naive] = local.dt.tz_localize(
            naive_tz, ambiguous=np.ones(len(local), dtype=bool), nonexistent="shift_forward"
        ).dt.tz_convert("UTC")
    return out


def _numbers(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.str.replace(",", "", regex=False), errors="coerce")


def _booleans(values: pd.Series) -> pd.Series:
    words = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}
    return values.map(words).astype("boolean")


_INTEGERS = ("employee_count",)
_FLOATS = ("weight", "amount")
_BOOLEANS = ("active", "consent")


def convert_types(frame: pd.DataFrame, *, kind: ImportKind, naive_tz: tzinfo) -> pd.DataFrame:
    """Validated text → typed columns (Int64, float, boolean, UTC datetimes, text)."""
    out = frame.copy()
    for column in out.columns:
        if column in _INTEGERS:
            out[column] = _numbers(out[column]).astype("Int64")
        elif column in _FLOATS:
            out[column] = _numbers(out[column]).astype("float64")
        elif column in _BOOLEANS:
            out[column] = _booleans(out[column])
        elif column in _TIMES[kind]:
            out[column] = parse_timestamps(out[column], naive_tz=naive_tz)
    return out


# Natural keys of the kinds that are upserted; a key twice in one file is ambiguous.
UPSERT_KEYS: dict[ImportKind, str] = {
    "owners": "email",
    "companies": "domain",
    "contacts": "email",
    "deals": "deal_id",
}


@dataclass(frozen=True)
class Prepared:
    """One chunk after validation: typed good rows (with `line`), and what was rejected."""

    rows: pd.DataFrame
    quarantine: pd.DataFrame
    total: int
    notes: dict[str, int] = field(default_factory=dict)


def prepare_rows(
    chunk: CsvChunk, *, layout: Layout, naive_tz: tzinfo, stage_map: Mapping[str, Stage]
) -> Prepared:
    """Normalise, validate (lazily) and convert one chunk; failures become quarantine rows."""
    kind = layout.kind
    text = normalise_text(chunk.frame, kind=kind)
    notes: dict[str, int] = {}
    if kind == "contacts":
        text["lifecycle_stage"] = map_stage_names(text["lifecycle_stage"], stage_map)
        text["lead_status"], notes = map_lead_statuses(text["lead_status"])
    cells = failing_cells(text, IMPORT_SCHEMAS[kind])
    rejected = quarantine_frame()
    if not cells.empty:
        rejected = pd.DataFrame(
            {
                "row_number": chunk.lines.loc[cells["index"]].to_numpy(),
                "field": cells["column"].map(layout.label).to_numpy(),
                "value": cells["value"].to_numpy(),
                "reason": cells["reason"].to_numpy(),
            }
        )
    good = text.drop(index=pd.Index(cells["index"].unique()))
    rows = convert_types(good, kind=kind, naive_tz=naive_tz)
    rows["line"] = chunk.lines.loc[rows.index].to_numpy()
    key = UPSERT_KEYS.get(kind)
    if key is not None:
        rows, duplicates = _split_duplicates(rows, key=key, label=layout.label(key))
        rejected = pd.concat([rejected, duplicates], ignore_index=True)
    quarantine = (
        pd.concat([chunk.malformed, rejected], ignore_index=True)
        if len(chunk.malformed)
        else rejected
    )
    return Prepared(
        rows=rows.reset_index(drop=True),
        quarantine=quarantine.reset_index(drop=True),
        total=chunk.rows,
        notes=notes,
    )


def _split_duplicates(
    rows: pd.DataFrame, *, key: str, label: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    repeated = rows.duplicated(key, keep="first")
    if not repeated.any():
        return rows, quarantine_frame()
    first_line = rows.drop_duplicates(key).set_index(key)["line"]
    later = rows[repeated]
    duplicates = pd.DataFrame(
        {
            "row_number": later["line"].to_numpy(),
            "field": label,
            "value": later[key].to_numpy(),
            "reason": [
                f"duplicate {label} in this file (first on line {first_line[k]})"
                for k in later[key]
            ],
        }
    )
    return rows[~repeated], duplicates


def unknown_stages(quarantine: pd.DataFrame) -> dict[str, int]:
    """Custom lifecycle stages that were quarantined, with how many rows each."""
    mask = quarantine["reason"].str.startswith("unknown lifecycle stage", na=False)
    counts = quarantine.loc[mask, "value"].value_counts()
    return {str(stage): int(count) for stage, count in counts.items()}


# ---------------------------------------------------------------------------------------
# Decide
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TablePlan:
    """What to write to one table: new rows, changed rows (with `id`), and the rest."""

    inserts: pd.DataFrame
    updates: pd.DataFrame
    unchanged: int
    quarantine: pd.DataFrame = field(default_factory=quarantine_frame)
    notes: dict[str, int] = field(default_factory=dict)


def _same(new: Any, old: Any) -> bool:
    if isinstance(new, float) and isinstance(old, float | int):
        return math.isclose(new, old, rel_tol=1e-9, abs_tol=1e-9)
    return bool(new == old)


def plan_upsert(
    incoming: pd.DataFrame, stored: pd.DataFrame, *, key: str, columns: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split rows into inserts and matches; for matches, merge values and mark changes.

    A blank incoming cell keeps the stored value (exports often omit what they do not
    know). Returns (inserts, merged matches with `id`, per-column change flags of the
    matches).
    """
    known = incoming[key].isin(stored[key])
    inserts = incoming[~known]
    matches = incoming[known].merge(
        stored[["id", key, *columns]], on=key, how="left", suffixes=("", "__stored")
    )
    changed = pd.DataFrame(index=matches.index)
    for column in columns:
        new, old = matches[column], matches[f"{column}__stored"]
        differs = pd.Series(
            [
                (not pd.isna(n)) and (pd.isna(o) or not _same(n, o))
                for n, o in zip(new.astype(object), old.astype(object), strict=True)
            ],
            index=matches.index,
            dtype=bool,
        )
        changed[column] = differs
        matches[column] = new.astype(object).where(new.notna(), old.astype(object))
    matches = matches.drop(columns=[f"{c}__stored" for c in columns])
    return inserts, matches, changed


def _upsert_plan(
    incoming: pd.DataFrame,
    stored: pd.DataFrame,
    *,
    key: str,
    columns: list[str],
    defaults: Mapping[str, Any],
    now: datetime,
) -> tuple[TablePlan, pd.DataFrame]:
    inserts, matches, changed = plan_upsert(incoming, stored, key=key, columns=columns)
    inserts = inserts[[key, *columns]].astype(object).copy()
    for column, default in defaults.items():
        inserts[column] = inserts[column].where(inserts[column].notna(), default)
    if "created_at" not in columns:
        inserts["created_at"] = now
    inserts["updated_at"] = now
    touched = changed.any(axis=1)
    updates = matches[touched][["id", key, *columns]].copy()
    updates["updated_at"] = now
    plan = TablePlan(inserts=inserts, updates=updates, unchanged=int((~touched).sum()))
    return plan, changed[touched]


OWNER_COLUMNS = ["name", "team", "manager_email", "slack_user_id", "active", "weight"]


def decide_owners(incoming: pd.DataFrame, stored: pd.DataFrame, *, now: datetime) -> TablePlan:
    """Owners by email: insert new ones (name defaults to the email's local part, team to
    marketing, active, weight 1); update the attributes that changed."""
    rows = incoming.copy()
    rows["name"] = rows["name"].where(rows["name"].notna(), rows["email"].str.split("@").str[0])
    plan, _ = _upsert_plan(
        rows,
        stored,
        key="email",
        columns=OWNER_COLUMNS,
        defaults={"team": "marketing", "active": True, "weight": 1.0},
        now=now,
    )
    return plan


COMPANY_COLUMNS = ["name", "industry", "employee_count", "region"]
# Scoring reads these from the company when the contact lacks them.
COMPANY_SCORING_COLUMNS = ["industry", "employee_count", "region"]


def decide_companies(
    incoming: pd.DataFrame, stored: pd.DataFrame, *, now: datetime
) -> tuple[TablePlan, list[int]]:
    """Companies by domain; also returns the ids whose scoring attributes changed, whose
    contacts therefore need rescoring."""
    plan, changed = _upsert_plan(
        incoming, stored, key="domain", columns=COMPANY_COLUMNS, defaults={}, now=now
    )
    rescore = changed[COMPANY_SCORING_COLUMNS].any(axis=1)
    ids = [int(i) for i in plan.updates.loc[rescore[rescore].index, "id"]]
    return plan, ids


def contact_company_domains(rows: pd.DataFrame) -> pd.Series:
    """The company domain of each contact: `company_domain`, else the email's domain unless
    it is a free-mail domain (missing then)."""
    from_email = rows["email"].str.split("@").str[-1]
    from_email = from_email.where(~from_email.isin(FREE_MAIL_DOMAINS))
    return rows["company_domain"].where(rows["company_domain"].notna(), from_email).astype("str")


def decide_missing_companies(
    wanted: pd.DataFrame, stored_domains: Iterable[str], *, now: datetime
) -> pd.DataFrame:
    """Companies to create for domains nobody has yet; `wanted` has `domain` and `name`."""
    rows = wanted[wanted["domain"].notna() & ~wanted["domain"].isin(list(stored_domains))]
    # The first row that names the company wins; rows without a name only if none does.
    named_first = rows["name"].isna().sort_values(kind="stable").index
    rows = rows.loc[named_first].drop_duplicates("domain")
    out = rows[["domain", "name"]].astype(object)
    out = out.where(out.notna(), None)
    out["created_at"] = now
    out["updated_at"] = now
    return out.reset_index(drop=True)


def resolve_owners(values: pd.Series, owners: pd.DataFrame) -> tuple[pd.Series, dict[str, int]]:
    """Owner cells (an email or a display name) → owner ids; unknown ones are counted.

    Names match ignoring case and spaces ("山田 太郎" = "山田太郎"); a name two owners
    share is ambiguous and resolves to nobody.
    """
    by_email = dict(zip(owners["email"].str.lower(), owners["id"], strict=True))
    names = owners["name"].astype("str").str.casefold().str.replace(r"\s+", "", regex=True)
    unique_names = ~names.duplicated(keep=False)
    by_name = dict(zip(names[unique_names], owners["id"][unique_names], strict=True))
    is_email = values.str.contains("@", regex=False).fillna(False).astype(bool)
    ids = pd.Series(pd.NA, index=values.index, dtype="Int64")
    ids[is_email] = values[is_email].str.lower().map(by_email)
    folded = values[~is_email].str.casefold().str.replace(r"\s+", "", regex=True)
    ids[~is_email] = folded.map(by_name)
    missing = values[values.notna() & ids.isna()]
    notes = {
        f"owner '{owner}' not found: kept without an owner": int(count)
        for owner, count in missing.value_counts().items()
    }
    return ids.astype("Int64"), notes


CONTACT_COLUMNS = [
    "hubspot_id",
    "first_name",
    "last_name",
    "company_id",
    "job_title",
    "industry",
    "employee_count",
    "region",
    "lead_source",
    "consent",
    "timezone",
    "lead_status",
    "owner_id",
]
# A change to any of these bumps contacts.updated_at, the rescoring watermark.
CONTACT_SCORING_COLUMNS = ["job_title", "industry", "employee_count", "region", "company_id"]


@dataclass(frozen=True)
class ContactPlan(TablePlan):
    """A contacts plan plus the stage moves an import makes on existing contacts."""

    stage_moves: pd.DataFrame = field(default_factory=pd.DataFrame)


def decide_contacts(
    incoming: pd.DataFrame,
    stored: pd.DataFrame,
    *,
    companies: pd.DataFrame,
    owners: pd.DataFrame,
    now: datetime,
) -> ContactPlan:
    """Contacts by email: insert new ones; update changed attributes of known ones.

    `updated_at` is set on insert and bumped only when a scoring attribute changes. The
    lifecycle stage of a known contact only moves forward (STAGE_ORDER), and each move is
    returned in `stage_moves` (id, from_stage, to_stage) for the stage history.
    """
    rows = incoming.copy()
    domain_ids = dict(zip(companies["domain"], companies["id"], strict=True))
    rows["company_id"] = contact_company_domains(rows).map(domain_ids).astype("Int64")
    rows["owner_id"], notes = resolve_owners(rows["owner"], owners)
    inserts, matches, changed = plan_upsert(rows, stored, key="email", columns=CONTACT_COLUMNS)

    new = inserts[["email", *CONTACT_COLUMNS, "lifecycle_stage", "created_at"]].astype(object)
    new = new.where(new.notna(), None)
    new["lifecycle_stage"] = new["lifecycle_stage"].where(
        new["lifecycle_stage"].notna(), Stage.LEAD.value
    )
    new["consent"] = new["consent"].where(new["consent"].notna(), False)
    new["created_at"] = new["created_at"].where(new["created_at"].notna(), now)
    new["updated_at"] = now

    stored_stage = stored.set_index("email")[["lifecycle_stage", "updated_at"]].astype(object)
    current = matches["email"].map(stored_stage["lifecycle_stage"])
    wanted = matches["lifecycle_stage"]
    rank = {s.value: r for s, r in STAGE_ORDER.items()}
    forward = wanted.notna() & (wanted.map(rank) > current.map(rank).fillna(-math.inf))
    matches["lifecycle_stage"] = wanted.where(forward, current)
    rescore = changed[CONTACT_SCORING_COLUMNS].any(axis=1)
    matches["updated_at"] = matches["email"].map(stored_stage["updated_at"])
    matches.loc[rescore, "updated_at"] = now
    touched = changed.any(axis=1) | forward
    updates = matches[touched][["id", "email", *CONTACT_COLUMNS, "lifecycle_stage", "updated_at"]]
    moves = pd.DataFrame(
        {
            "contact_id": matches.loc[forward, "id"].to_numpy(),
            "from_stage": current[forward].to_numpy(),
            "to_stage": wanted[forward].to_numpy(),
        }
    )
    return ContactPlan(
        inserts=new.reset_index(drop=True),
        updates=updates.reset_index(drop=True),
        unchanged=int((~touched).sum()),
        notes=notes,
        stage_moves=moves,
    )


def _unknown_contacts(rows: pd.DataFrame, ids: pd.Series, *, field: str) -> pd.DataFrame:
    missing = rows[ids.isna()]
    return pd.DataFrame(
        {
            "row_number": missing["line"].to_numpy(),
            "field": field,
            "value": missing["email"].to_numpy(),
            "reason": NO_CONTACT,
        },
        columns=QUARANTINE_COLUMNS,
    )


def decide_events(
    incoming: pd.DataFrame, contact_ids: Mapping[str, int], *, now: datetime
) -> TablePlan:
    """Events to insert (insert-ignore by source event id); unknown emails → quarantine."""
    ids = incoming["email"].map(contact_ids).astype("Int64")
    known = incoming[ids.notna()]
    inserts = pd.DataFrame(
        {
            "source_event_id": known["event_id"],
            "contact_id": ids[ids.notna()],
            "type": known["type"],
            "detail": known["detail"],
            "occurred_at": known["occurred_at"],
        }
    )
    inserts["ingested_at"] = now
    return TablePlan(
        inserts=inserts.reset_index(drop=True),
        updates=pd.DataFrame(),
        unchanged=0,
        quarantine=_unknown_contacts(incoming, ids, field="email"),
    )


def decide_activities(
    incoming: pd.DataFrame,
    contact_ids: Mapping[str, int],
    *,
    owners: pd.DataFrame,
    now: datetime,
) -> TablePlan:
    """Activities to insert (insert-ignore by activity id); unknown contact emails →
    quarantine, unknown owner emails → kept without an owner and counted."""
    ids = incoming["email"].map(contact_ids).astype("Int64")
    owner_ids, notes = resolve_owners(incoming["owner_email"], owners)
    known = ids.notna()
    inserts = pd.DataFrame(
        {
            "source_activity_id": incoming.loc[known, "activity_id"],
            "contact_id": ids[known],
            "owner_id": owner_ids[known],
            "type": incoming.loc[known, "type"],
            "outcome": incoming.loc[known, "outcome"],
            "occurred_at": incoming.loc[known, "occurred_at"],
            "note": incoming.loc[known, "note"],
        }
    )
    inserts["ingested_at"] = now
    return TablePlan(
        inserts=inserts.reset_index(drop=True),
        updates=pd.DataFrame(),
        unchanged=0,
        quarantine=_unknown_contacts(incoming, ids, field="email"),
        notes=notes,
    )


DEAL_COLUMNS = [
    "company_id",
    "contact_id",
    "name",
    "stage",
    "amount",
    "created_at",
    "closed_at",
    "lost_reason",
]


def decide_deals(
    incoming: pd.DataFrame,
    stored: pd.DataFrame,
    *,
    companies: pd.DataFrame,
    contacts: pd.DataFrame,
    now: datetime,
    contact_label: str = "contact_email",
) -> TablePlan:
    """Deals by deal id; the company comes from company_domain, else from the contact.

    `contacts` has email, id and company_id of the contacts the file names; a deal that
    names an unknown contact is quarantined.
    """
    rows = incoming.copy()
    by_email = contacts.set_index("email")
    rows["contact_id"] = rows["contact_email"].map(by_email["id"]).astype("Int64")
    unknown = rows["contact_email"].notna() & rows["contact_id"].isna()
    quarantine = pd.DataFrame(
        {
            "row_number": rows.loc[unknown, "line"].to_numpy(),
            "field": contact_label,
            "value": rows.loc[unknown, "contact_email"].to_numpy(),
            "reason": NO_CONTACT,
        },
        columns=QUARANTINE_COLUMNS,
    )
    rows = rows[~unknown]
    domain_ids = dict(zip(companies["domain"], companies["id"], strict=True))
    from_domain = rows["company_domain"].map(domain_ids)
    from_contact = rows["contact_email"].map(by_email["company_id"])
    rows["company_id"] = from_domain.where(from_domain.notna(), from_contact).astype("Int64")
    plan, _ = _upsert_plan(
        rows, stored, key="deal_id", columns=DEAL_COLUMNS, defaults={"created_at": now}, now=now
    )
    inserts = plan.inserts.rename(columns={"deal_id": "source_deal_id"})
    updates = plan.updates.rename(columns={"deal_id": "source_deal_id"})
    return TablePlan(
        inserts=inserts, updates=updates, unchanged=plan.unchanged, quarantine=quarantine
    )


# ---------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    """What one import read, landed and quarantined."""

    kind: ImportKind
    source: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined_rows: int = 0
    quarantine_records: int = 0
    companies_created: int = 0
    stage_moves: int = 0
    rescored_contacts: int = 0
    max_bad_row_share: float = 1.0
    dry_run: bool = False
    hubspot: bool = False
    notes: Counter[str] = field(default_factory=Counter)
    unknown_stages: Counter[str] = field(default_factory=Counter)
    reasons: list[str] = field(default_factory=list)

    @property
    def bad_row_share(self) -> float:
        """Quarantined rows ÷ rows read (0 for an empty file)."""
        return self.quarantined_rows / self.rows if self.rows else 0.0

    @property
    def too_many_bad_rows(self) -> bool:
        """True when the bad-row share passes the configured limit."""
        return self.bad_row_share > self.max_bad_row_share

    def as_dict(self) -> dict[str, Any]:
        """Counts for a run summary or an artifact (JSON-ready)."""
        return {
            "kind": self.kind,
            "source": self.source,
            "hubspot": self.hubspot,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "quarantined_rows": self.quarantined_rows,
            "bad_row_share": round(self.bad_row_share, 4),
            "too_many_bad_rows": self.too_many_bad_rows,
            "companies_created": self.companies_created,
            "stage_moves": self.stage_moves,
            "rescored_contacts": self.rescored_contacts,
            "unknown_stages": dict(self.unknown_stages),
            "notes": dict(self.notes),
        }

    def lines(self) -> list[str]:
        """The report a person reads after an import."""
        label = f"{self.kind} (HubSpot export)" if self.hubspot else self.kind
        head = "dry run, nothing written — " if self.dry_run else ""
        out = [
            f"{head}{self.source}: {_rows(self.rows)} of {label}",
            f"  landed: {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged",
        ]
        if self.companies_created:
            out.append(f"  companies created: {self.companies_created}")
        if self.stage_moves:
            out.append(f"  lifecycle stages moved forward: {self.stage_moves}")
        if self.rescored_contacts:
            out.append(f"  contacts marked for rescoring: {self.rescored_contacts}")
        out.append(
            f"  quarantined: {_rows(self.quarantined_rows)} ({self.bad_row_share:.1%}, "
            f"limit {self.max_bad_row_share:.0%})"
        )
        for stage, count in sorted(self.unknown_stages.items()):
            out.append(
                f"  unknown lifecycle stage '{stage}': {_rows(count)} quarantined — "
                f"rerun with --stage-map '{stage}=<stage>'"
            )
        for note, count in sorted(self.notes.items()):
            out.append(f"  note: {note} ({_rows(count)})")
        out.extend(f"  {reason}" for reason in self.reasons)
        if self.quarantine_records > len(self.reasons):
            out.append(
                f"  … {self.quarantine_records - len(self.reasons)} more: "
                f"leadflow quarantine list --source {shlex.quote(self.source)}"
            )
        if self.too_many_bad_rows:
            out.append(
                f"  FAILED: {self.bad_row_share:.1%} of rows are bad, more than the "
                f"{self.max_bad_row_share:.0%} allowed (good rows were still imported)"
            )
        return out


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def reason_lines(quarantine: pd.DataFrame, *, source: str, limit: int) -> list[str]:
    """`FILE:ROW field=… reason` lines for the first `limit` quarantine records."""
    first = quarantine.sort_values(["row_number", "field"]).head(limit)
    return [
        f"{source}:{row} field={fld} {reason}"
        for row, fld, reason in zip(
            first["row_number"], first["field"], first["reason"], strict=True
        )
    ]
