"""The lifecycle stage and lead status as a HubSpot file sent them, kept beside ours. Pure.

leadflow folds HubSpot's vocabulary into its own (IN_PROGRESS and CONNECTED are both
`connected`, a custom stage "Trial" becomes whatever `--stage-map` says). For
`export --hubspot` to send back what HubSpot sent, a HubSpot-layout contacts file keeps,
per contact, the cell as written (`hubspot_lifecycle_stage`, `hubspot_lead_status`) and
the leadflow value it was read as (`…_as`; empty for a lead status leadflow does not
know). The export writes the kept value while the contact's stage or status still equals
its `_as` (see `tasks.export.hubspot_values`).

A blank cell keeps what is stored. A cell that names the same HubSpot value as the stored
one ("In Progress" and IN_PROGRESS, compared like the importer folds names) keeps the
stored spelling, so importing leadflow's own export again changes nothing.
"""

import re
from collections.abc import Mapping

import pandas as pd

from models.enums import LeadStatus, Stage
from models.tables import Contact

STAGE, STAGE_AS = "hubspot_lifecycle_stage", "hubspot_lifecycle_stage_as"
STATUS, STATUS_AS = "hubspot_lead_status", "hubspot_lead_status_as"
# (the cell as HubSpot wrote it, the leadflow value it was read as), and the file column.
PAIRS: tuple[tuple[str, str, str], ...] = (
    (STAGE, STAGE_AS, "lifecycle_stage"),
    (STATUS, STATUS_AS, "lead_status"),
)
SENT_COLUMNS: tuple[str, ...] = (STAGE, STAGE_AS, STATUS, STATUS_AS)
# The values an `_as` column can hold: leadflow's stages and statuses.
KNOWN = {
    "lifecycle_stage": [stage.value for stage in Stage],
    "lead_status": [status.value for status in LeadStatus],
}


def _limit(column: str) -> int:
    length = getattr(Contact.__table__.c[column].type, "length", None)
    assert isinstance(length, int), column
    return length


LIMITS = {column: _limit(column) for column, _, _ in PAIRS}


def _folded(values: pd.Series) -> pd.Series:
    """Case- and punctuation-free key, as stage and status names are matched on import."""
    return values.astype("str").str.casefold().str.replace(r"[\W_]+", "", regex=True)


def _shown(value: str, limit: int = 40) -> str:
    flat = re.sub(r"\s+", " ", value).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def sent_values(
    text: pd.DataFrame, *, cells: dict[str, pd.Series], labels: Mapping[str, str]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The four `hubspot_*` columns of a chunk of a HubSpot-layout contacts file.

    `cells` holds the `lifecycle_stage` and `lead_status` cells as written (trimmed,
    blank → missing), `text` the same columns mapped to leadflow's values; `labels` names
    columns as the file does. `_as` is the mapped value, missing when the cell names
    nothing leadflow knows (an unknown lead status; an unknown stage is quarantined
    anyway). A cell longer than its database column is not kept, and counted in the notes.
    """
    out = pd.DataFrame(index=text.index)
    notes: dict[str, int] = {}
    for column, as_column, source in PAIRS:
        written = cells[source].astype("str")
        mapped = text[source].astype("str")
        too_long = written.notna() & (written.str.len() > LIMITS[column])
        for value, count in written[too_long].value_counts().items():
            label = labels.get(source, source)
            key = (
                f"{label} '{_shown(str(value))}' is longer than {LIMITS[column]} characters: "
                "not kept for export --hubspot"
            )
            notes[key] = notes.get(key, 0) + int(count)
        kept = written.where(~too_long)
        out[column] = kept
        out[as_column] = mapped.where(kept.notna() & mapped.isin(KNOWN[source])).astype("str")
    return out, notes


def _differs(new: pd.Series, old: pd.Series) -> pd.Series:
    """Missing-aware inequality of two text columns."""
    both = new.notna() & old.notna()
    unequal = new.astype(object).ne(old.astype(object)) & both
    return unequal | (new.notna() != old.notna())


def merge_sent_values(
    matches: pd.DataFrame, stored: pd.DataFrame
) -> tuple[pd.DataFrame, pd.Series]:
    """For known contacts (`matches`: `email` and the four incoming columns): the values to
    store and whether any of them changed.

    `stored` holds `email` and the four stored columns. Per pair: a blank cell keeps the
    stored pair; a cell naming the stored value (same folded key) keeps the stored
    spelling; otherwise the cell is taken. A given cell always brings its `_as`, even an
    empty one (an unknown status no longer stands for what the stored one did).
    """
    before = stored.set_index("email")
    out = pd.DataFrame(index=matches.index)
    changed = pd.Series(False, index=matches.index)
    for column, as_column, _ in PAIRS:
        old = matches["email"].map(before[column]).astype("str")
        old_as = matches["email"].map(before[as_column]).astype("str")
        new = matches[column].astype("str")
        given = new.notna()
        same = given & old.notna() & _folded(new).eq(_folded(old)).fillna(False)
        value = new.where(given & ~same, old)
        value_as = matches[as_column].astype("str").where(given, old_as)
        out[column] = value.astype("str")
        out[as_column] = value_as.astype("str")
        changed |= _differs(out[column], old) | _differs(out[as_column], old_as)
    return out, changed.astype(bool)
