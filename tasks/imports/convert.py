"""Validate-and-convert beat of `leadflow import`: checked text → typed columns.

The pandera schema of each kind (models.schemas) checks the normalised text. The checks
here add what the schema cannot know: limits of the database columns (32-bit integers,
finite floats, a sane range of years) and characters no database text column stores (NUL,
undecodable bytes). Whatever fails becomes one row per failing cell with its reason.
"""

from datetime import tzinfo

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from sqlalchemy import BigInteger

from models.schemas import (
    FALSE_WORDS,
    ISO_AWARE,
    REQUIRED,
    TRUE_WORDS,
    check_fields,
    fullmatches,
    mentions,
)
from models.tables import Company, Contact
from tasks.imports.columns import ImportKind, printable
from tasks.imports.normalise import TIME_COLUMNS
from tasks.imports.read import FileText

CELL_COLUMNS = ["index", "column", "value", "reason"]
INTEGERS = ("employee_count",)
FLOATS = ("weight", "amount")
BOOLEANS = ("active", "consent")
# Years outside this range are typos (0001, 9999) or placeholders; they also overflow
# time zone arithmetic and some drivers.
FIRST_YEAR, LAST_YEAR = 1900, 2200
NUL_REASON = "contains a NUL byte (\\x00), which the database cannot store"


def _integer_limit() -> int:
    columns = [Company.__table__.c.employee_count, Contact.__table__.c.employee_count]
    # The tightest column decides: INTEGER is 32-bit on PostgreSQL (SQLite's is 64-bit).
    return min(2**63 - 1 if isinstance(c.type, BigInteger) else 2**31 - 1 for c in columns)


INTEGER_LIMIT = _integer_limit()


def no_cells() -> pd.DataFrame:
    """An empty frame of failing cells (index, column, value, reason)."""
    return pd.DataFrame(columns=CELL_COLUMNS)


def failing_cells(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Validate lazily; one row per failing cell: index, column, value, reason."""
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return no_cells()
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


def _cells(frame: pd.DataFrame, column: str, mask: pd.Series, reason: str) -> pd.DataFrame:
    hit = frame.loc[mask.fillna(False).astype(bool), column]
    return pd.DataFrame(
        {"index": hit.index.to_numpy(), "column": column, "value": hit.to_numpy(), "reason": reason}
    )


def unstorable_cells(frame: pd.DataFrame, text: FileText) -> pd.DataFrame:
    """Cells holding a NUL byte or bytes the file's encoding cannot decode."""
    found = [no_cells()]
    name = "Shift_JIS (cp932)" if text.encoding == "cp932" else "UTF-8"
    for column in frame.columns:
        values = frame[column]
        if text.nul:
            nul = values.str.contains("\x00", regex=False)
            found.append(_cells(frame, column, nul, NUL_REASON))
        if text.undecodable:
            bad = values.str.contains("[\udc80-\udcff]", regex=True)
            found.append(
                _cells(frame, column, bad, f"not valid {name} text; save the file as UTF-8")
            )
    out = pd.concat(found, ignore_index=True)
    out["value"] = [None if v is None else printable(str(v)) for v in out["value"]]
    return out.drop_duplicates(["index", "column"])


def _numbers(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.str.replace(",", "", regex=False), errors="coerce")


def _years(values: pd.Series) -> pd.Series:
    """The number the first four characters make (NaN when they are no number)."""
    cells = values.to_numpy(dtype=object)
    # Four ASCII digits in front of every cell (most files): read as numbers at once.
    digits = np.array(cells, dtype="U4").view(np.uint32).reshape(len(cells), 4) - 48
    if len(cells) and bool((digits < 10).all()):
        return pd.Series(digits.astype(np.int64) @ np.array([1000, 100, 10, 1]), index=values.index)
    return pd.to_numeric(values.str.slice(0, 4), errors="coerce")


def out_of_range_cells(frame: pd.DataFrame, *, kind: ImportKind) -> pd.DataFrame:
    """Cells the schema accepts but the database cannot hold: huge integers, infinite
    numbers, years outside FIRST_YEAR–LAST_YEAR."""
    found = [no_cells()]
    for column in frame.columns:
        values = frame[column]
        if column in INTEGERS:
            reason = f"must be at most {INTEGER_LIMIT} (the database column's limit)"
            found.append(_cells(frame, column, _numbers(values) > INTEGER_LIMIT, reason))
        elif column in FLOATS:
            number = _numbers(values)
            infinite = values.notna() & number.notna() & ~np.isfinite(number.astype("float64"))
            found.append(_cells(frame, column, infinite, "must be a finite number"))
        elif column in TIME_COLUMNS[kind]:
            year = _years(values)
            outside = (year < FIRST_YEAR) | (year > LAST_YEAR)
            reason = f"out of range: the year must be between {FIRST_YEAR} and {LAST_YEAR}"
            found.append(_cells(frame, column, outside, reason))
    return pd.concat(found, ignore_index=True)


def parse_timestamps(values: pd.Series, *, naive_tz: tzinfo) -> pd.Series:
    """ISO 8601 text → UTC instants; a value without an offset is read in `naive_tz`.

    Fractions finer than a microsecond (7–9 digits) are truncated: instants are stored
    to the microsecond.
    """
    if mentions(values, "."):
        dotted = values.str.contains(".", regex=False).fillna(False).astype(bool)
        values = values.copy()
        values[dotted] = values[dotted].str.replace(r"(\.\d{6})\d+", r"\1", regex=True)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    present = values.notna()
    aware = present & fullmatches(values, ISO_AWARE)
    naive = present & ~aware
    if aware.any():
        parsed = pd.to_datetime(values[aware], format="ISO8601", utc=True, errors="coerce")
        out[aware] = parsed.astype("datetime64[us, UTC]")
    if naive.any():
        local = pd.to_datetime(values[naive], format="ISO8601", errors="coerce")
        # Repeated wall-clock hours take the first (daylight) reading, like datetime's fold=0.
        out[naive] = (
            local.dt.tz_localize(
                naive_tz, ambiguous=np.ones(len(local), dtype=bool), nonexistent="shift_forward"
            )
            .dt.tz_convert("UTC")
            .astype("datetime64[us, UTC]")
        )
    return out


def _booleans(values: pd.Series) -> pd.Series:
    words = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}
    return values.map(words).astype("boolean")


def convert_types(frame: pd.DataFrame, *, kind: ImportKind, naive_tz: tzinfo) -> pd.DataFrame:
    """Validated text → typed columns (Int64, float, boolean, UTC datetimes, text)."""
    out = frame.copy()
    for column in out.columns:
        if column in INTEGERS:
            out[column] = _numbers(out[column]).astype("Int64")
        elif column in FLOATS:
            out[column] = _numbers(out[column]).astype("float64")
        elif column in BOOLEANS:
            out[column] = _booleans(out[column])
        elif column in TIME_COLUMNS[kind]:
            out[column] = parse_timestamps(out[column], naive_tz=naive_tz)
    return out


def unconverted_cells(text: pd.DataFrame, typed: pd.DataFrame) -> pd.DataFrame:
    """Cells given in the file that conversion could not read (a last safety net: such a
    value would otherwise be stored as missing or break the insert)."""
    found = [no_cells()]
    for column in typed.columns:
        if column in text and typed[column].dtype != text[column].dtype:
            lost = text[column].notna() & typed[column].isna()
            found.append(_cells(text, column, lost, "could not be read as a value of this column"))
    return pd.concat(found, ignore_index=True)
