"""HubSpot's time zone columns → IANA time zone names. Pure.

HubSpot writes a contact's zone as an IANA name ("Asia/Tokyo"), as an option label
("America/New York", sometimes after "(GMT-05:00) "), or as its internal value with
`_slash_` ("america_slash_new_york", "us_slash_eastern"). `Time Zone` (set on the
contact) wins over `IP Timezone` (guessed from the visitor's address). A value that
names no IANA zone is left empty and counted: the contact still lands.
"""

import re
from functools import cache
from zoneinfo import available_timezones

import pandas as pd

# Internal column names of HubSpot's two zone columns, the more authoritative first.
HUBSPOT_ZONE_COLUMNS = ("hubspot_time_zone", "hubspot_ip_timezone")


@cache
def _zones_by_key() -> dict[str, str]:
    return {zone.casefold(): zone for zone in available_timezones()}


def iana_zones(values: pd.Series) -> pd.Series:
    """Each value as an IANA zone name, or missing when it names none."""
    key = (
        values.str.strip()
        .str.replace(r"^\((?:GMT|UTC)\s*[+\-−]?[\d:]*\)\s*", "", regex=True)
        .str.replace("_slash_", "/", regex=False)
        .str.replace(r"\s*/\s*", "/", regex=True)
        .str.replace(r"\s+", "_", regex=True)
        .str.casefold()
    )
    return key.map(_zones_by_key()).astype("str")


def _shown(value: str, limit: int = 60) -> str:
    """A cell fit for a one-line note: spacing collapsed, control characters escaped, cut."""
    flat = re.sub(r"\s+", " ", value).strip()
    flat = "".join(c if c.isprintable() else f"\\x{ord(c):02X}" for c in flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def hubspot_time_zones(
    frame: pd.DataFrame, *, labels: dict[str, str]
) -> tuple[pd.Series, dict[str, int]]:
    """The contact's zone from whichever of HubSpot's zone columns the frame has.

    Returns the zones (missing where no column gives a known one) and notes counting the
    values that name no IANA zone, by column label (`labels`) and value.
    """
    zone = pd.Series(pd.NA, index=frame.index, dtype="str")
    notes: dict[str, int] = {}
    for column in HUBSPOT_ZONE_COLUMNS:
        if column not in frame:
            continue
        values = frame[column].str.strip()
        values = values.where(values != "")
        found = iana_zones(values)
        unknown = values[values.notna() & found.isna()]
        label = labels.get(column, column)
        for value, count in unknown.value_counts().items():
            shown = _shown(str(value))
            key = f"{label} '{shown}' is not an IANA time zone: not taken as the timezone"
            notes[key] = notes.get(key, 0) + int(count)
        zone = zone.where(zone.notna(), found)
    return zone.astype("str"), notes
