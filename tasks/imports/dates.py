"""Dates as spreadsheets write them → ISO 8601 text, before validation. Pure.

`YYYY/MM/DD [HH:MM[:SS]]` (Excel in Japan, also `2024/3/5 9:05`) is unambiguous and
always read. `05/03/2024` is not: it is read day-first or month-first only when the
import says so (`--date-format dmy|mdy`), never by guessing. A time may carry AM/PM.
What cannot be read stays as written and is reported with the forms that are accepted.
"""

import calendar
import re
from collections.abc import Iterable
from typing import Literal, get_args

import pandas as pd

from models.schemas import ISO_TIMESTAMP, fullmatches, mentions
from tasks.imports.convert import CELL_COLUMNS, no_cells

DateFormat = Literal["dmy", "mdy"]
DATE_FORMATS: tuple[DateFormat, ...] = get_args(DateFormat)

# ASCII digits only: `\d` would also take full-width ones (２０２４), which no parser reads.
_TIME = (
    r"(?:[ T]+(?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2}))?"
    r"(?:[ ]*(?P<ampm>[AaPp])\.?[Mm]\.?)?)?"
)
YEAR_FIRST = rf"(?P<y>[0-9]{{4}})/(?P<m>[0-9]{{1,2}})/(?P<d>[0-9]{{1,2}}){_TIME}"
_YEAR_LAST = rf"(?P<a>[0-9]{{1,2}})[/.-](?P<b>[0-9]{{1,2}})[/.-](?P<y>[0-9]{{4}}){_TIME}"

# Reasons start like the schema's ("not an ISO 8601 timestamp"), then name what else is read.
FORMS: dict[DateFormat | None, str] = {
    None: "e.g. 2026-04-01 09:30 or 2026-04-01T00:30:00Z) nor 2026/04/01 09:30; for "
    "05/03/2024 rerun with --date-format dmy (day first) or --date-format mdy (month first)",
    "dmy": "e.g. 2026-12-31 18:30) nor 2026/12/31 18:30 nor day-first as --date-format dmy "
    "reads it (31/12/2026 18:30 or 31/12/2026 6:30 PM)",
    "mdy": "e.g. 2026-12-31 18:30) nor 2026/12/31 18:30 nor month-first as --date-format mdy "
    "reads it (12/31/2026 6:30 PM or 12/31/2026 18:30)",
}


def parse_date_format(value: str | None) -> DateFormat | None:
    """`dmy` / `mdy` (any case) or None; anything else is a ValueError naming the choices."""
    if value is None:
        return None
    folded = value.strip().lower()
    for choice in DATE_FORMATS:
        if folded == choice:
            return choice
    raise ValueError(
        f"--date-format '{value}': use dmy (31/12/2026) or mdy (12/31/2026); "
        "2026/12/31 and ISO 8601 dates are always read"
    )


def _two(values: pd.Series) -> pd.Series:
    return values.str.zfill(2)


def _iso(parts: pd.DataFrame, *, year: str, month: str, day: str) -> pd.Series:
    date = parts[year] + "-" + _two(parts[month]) + "-" + _two(parts[day])
    hour = pd.to_numeric(parts["H"], errors="coerce")
    ampm = parts["ampm"].str.lower()
    twelve = ampm.notna()
    # 12 AM is midnight, 12 PM noon; an hour outside 1–12 with AM/PM is no time at all.
    converted = (hour % 12) + ampm.eq("p").astype(int) * 12
    bad = twelve & ~hour.between(1, 12)
    hour = hour.where(~twelve, converted).where(~bad, 99)
    hours = hour.astype("Int64").astype("str").str.zfill(2)
    time = " " + hours + ":" + parts["M"]
    time = time + (":" + parts["S"]).fillna("")
    with_time = parts["H"].notna()
    return date.where(~with_time, date + time)


def normalise_dates(values: pd.Series, date_format: DateFormat | None) -> pd.Series:
    """Year-first slash dates (and, with `date_format`, day- or month-first ones) → ISO
    8601 text without an offset; every other value is returned as it was."""
    out = values.copy()
    present = values.notna()
    if not present.any() or (date_format is None and not mentions(values, "/")):
        return out.astype("str")
    # Only a value with a slash can be year-first; ISO timestamps (most) skip the pattern.
    slashed = present & values.str.contains("/", regex=False).fillna(False).astype(bool)
    slash = values[slashed].str.extract(rf"^{YEAR_FIRST}$")
    hit = slash["y"].notna()
    if hit.any():
        out[slash.index[hit]] = _iso(slash[hit], year="y", month="m", day="d")
    if date_format is not None:
        year_last = values[present].str.extract(rf"^{_YEAR_LAST}$")
        hit = year_last["y"].notna()
        if hit.any():
            day, month = ("a", "b") if date_format == "dmy" else ("b", "a")
            out[year_last.index[hit]] = _iso(year_last[hit], year="y", month=month, day=day)
    return out.astype("str")


def unreadable_date_cells(
    text: pd.DataFrame, *, columns: Iterable[str], date_format: DateFormat | None
) -> pd.DataFrame:
    """Cells of the date `columns` (already normalised) that are no date this import reads:
    one failing cell each (index, column, value, reason), naming the accepted forms."""
    found = [no_cells()]
    for column in columns:
        if column not in text:
            continue
        values = text[column]
        present = values.notna()
        shaped = fullmatches(values, ISO_TIMESTAMP)
        parsed = pd.to_datetime(values.where(shaped), format="ISO8601", utc=True, errors="coerce")
        unreadable = values[present & ~shaped]
        found.append(_cells(unreadable, column, f"not an ISO 8601 timestamp ({FORMS[date_format]}"))
        # Read as a date but none on the calendar (2026-02-30, 2024/13/01): the format was
        # understood, so a hint about other formats would send the reader the wrong way.
        impossible = values[present & shaped & parsed.isna()]
        generic = f"not an ISO 8601 timestamp ({FORMS[date_format]}"
        reasons = impossible.map(_impossible_reason).fillna(generic)
        found.append(_cells(impossible, column, reasons))
    return pd.concat(found, ignore_index=True)


def _cells(hit: pd.Series, column: str, reason: "str | pd.Series") -> pd.DataFrame:
    reasons = reason.to_numpy() if isinstance(reason, pd.Series) else reason
    return pd.DataFrame(
        {
            "index": hit.index.to_numpy(),
            "column": column,
            "value": hit.to_numpy(),
            "reason": reasons,
        },
        columns=CELL_COLUMNS,
    )


def _impossible_reason(value: str) -> str | None:
    """Why an ISO-shaped `YYYY-MM-DD[ HH:MM[:SS]][offset]` is no instant, in words; None
    when neither the date nor the clock time explains it (a year or offset out of range)."""
    year, month, day = int(value[0:4]), int(value[5:7]), int(value[8:10])
    if not 1 <= month <= 12:
        return f"the date does not exist: there is no month {month} ({value[:10]})"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        name = calendar.month_name[month]
        return f"the date does not exist: {name} {year} has {days} days, not {day} ({value[:10]})"
    clock = re.match(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", value[11:])
    limits = (23, 59, 59)
    if clock and any(int(p or 0) > top for p, top in zip(clock.groups(), limits, strict=True)):
        return f"the time does not exist ({value[11:]}): hours run 00–23, minutes and seconds 00–59"
    return None
