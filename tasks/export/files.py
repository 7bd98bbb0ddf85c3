"""Writing an export: CSV-injection-safe cells, ISO 8601 instants, CRLF lines."""

import pandas as pd

# A spreadsheet runs a cell starting with one of these as a formula (OWASP, CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SCORE_COLUMNS = ("engagement_score", "fit_score", "score")


def neutralise_formula(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, prefixed with a single quote
    (OWASP's rule); anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every text cell passed through `neutralise_formula`.

    Numbers stay numbers: a negative score is not a formula and keeps its minus sign; a
    column mixing whole amounts and blanks keeps 1200000 (not 1200000.0).
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            cells = [neutralise_formula(value) for value in values.tolist()]
            out[column] = pd.Series(cells, index=values.index, dtype=object)
    return out


def iso_instants(values: pd.Series) -> pd.Series:
    """Instants as ISO 8601 in UTC (`2026-11-20T03:00:00+00:00`), empty where missing."""
    return pd.to_datetime(values, utc=True).map(lambda v: "" if pd.isna(v) else v.isoformat())


def write_csv(frame: pd.DataFrame, path: str) -> None:
    """Write an export with ISO 8601 UTC timestamps and empty cells for missing values.

    Columns named `*_at` are instants; score columns are whole numbers. Text cells starting
    with = + - @, a tab or CR get a leading single quote, so a spreadsheet shows them
    instead of running them as formulas; lines end in CRLF.
    """
    out = frame.copy()
    for column in out.columns:
        if str(column).endswith("_at"):
            out[column] = iso_instants(out[column])
    for column in SCORE_COLUMNS:
        if column in out:
            out[column] = out[column].astype("Int64")
    # CRLF (RFC 4180) also makes the writer quote a cell holding a bare CR; with "\n" it
    # would not, and the CR would end the row in a spreadsheet.
    neutralise_formulas(out).to_csv(path, index=False, lineterminator="\r\n")
