"""pandera schemas for the frames the recycling hour reads, and checking them (pure).

Rows that fail are quarantined (source `recycling:<frame>`, the contact, deal or owner id
as the row number) and the hour is decided without them. A contact whose own row or any
of its activity or status rows failed is held back for the hour: deciding it on part of
its facts could recycle a lead that was in fact reached.
"""

from dataclasses import replace

import pandas as pd
import pandera.pandas as pa

from models.enums import ActivityOutcome, LeadStatus, Stage
from tasks.recycling.frames import RecyclingFrames
from tasks.validation import (
    QuarantineRecord,
    check_bad_row_share,
    split_valid_rows,
    timezone_aware,
)

SOURCE_PREFIX = "recycling"
# Frames whose row number is a contact id: a failure there holds the contact back.
CONTACT_KEYED = ("contacts", "activities", "statuses")


def _instant(*, nullable: bool = False) -> pa.Column:
    return pa.Column(
        None,
        checks=[pa.Check(timezone_aware, element_wise=False, error="not a timezone-aware instant")],
        nullable=nullable,
        coerce=False,
    )


def _id(*, nullable: bool = False, unique: bool = False) -> pa.Column:
    return pa.Column("Int64", pa.Check.gt(0), nullable=nullable, unique=unique, coerce=True)


# Text columns carry no dtype: a column of only NULLs reads as `object`, and once its
# failing rows are dropped pandera would reject the empty rest for not being `str`.
def _one_of(values: list[str], *, nullable: bool = False) -> pa.Column:
    return pa.Column(
        None, pa.Check.isin(values, error=f"must be one of {', '.join(values)}"),
        nullable=nullable,
    )


def _text(*, nullable: bool = False) -> pa.Column:
    return pa.Column(None, pa.Check.str_length(min_value=1), nullable=nullable)


def _email() -> pa.Column:
    return pa.Column(None, pa.Check.str_contains("@", error="not an email address"))


STAGES = [s.value for s in Stage]
STATUSES = [s.value for s in LeadStatus]

RECYCLING_CONTACTS = pa.DataFrameSchema(
    {
        "contact_id": _id(unique=True),
        "email": _email(),
        "lifecycle_stage": _one_of(STAGES, nullable=True),
        "lead_status": _one_of(STATUSES, nullable=True),
        "owner_id": _id(nullable=True),
        "last_stage_at": _instant(nullable=True),
        "handoff_at": _instant(nullable=True),
        "renurtured_at": _instant(nullable=True),
    },
    name="recycling contacts",
    strict=False,
)

RECYCLING_ACTIVITIES = pa.DataFrameSchema(
    {
        "contact_id": _id(),
        "outcome": _one_of([o.value for o in ActivityOutcome]),
        "occurred_at": _instant(),
    },
    name="recycling activities",
    strict=False,
)

RECYCLING_STATUSES = pa.DataFrameSchema(
    {
        "contact_id": _id(),
        "to_status": _one_of(STATUSES),
        "at": _instant(),
        "retry_at": _instant(nullable=True),
    },
    name="recycling lead status history",
    strict=False,
)

RECYCLING_DEALS = pa.DataFrameSchema(
    {
        "deal_id": _id(unique=True),
        "contact_id": _id(),
        "stage": _text(),
        "closed_at": _instant(),
    },
    name="recycling lost deals",
    strict=False,
)

RECYCLING_OWNERS = pa.DataFrameSchema(
    {
        "owner_id": _id(unique=True),
        "email": _email(),
    },
    name="recycling owners",
    strict=False,
)

# frame name → (schema, column holding the id a person can look up)
SCHEMAS: dict[str, tuple[pa.DataFrameSchema, str]] = {
    "contacts": (RECYCLING_CONTACTS, "contact_id"),
    "activities": (RECYCLING_ACTIVITIES, "contact_id"),
    "statuses": (RECYCLING_STATUSES, "contact_id"),
    "deals": (RECYCLING_DEALS, "deal_id"),
    "owners": (RECYCLING_OWNERS, "owner_id"),
}


def source_of(frame: str) -> str:
    """The quarantine source of a recycling frame, e.g. `recycling:contacts`."""
    return f"{SOURCE_PREFIX}:{frame}"


def checked_frames(
    frames: RecyclingFrames, *, max_bad_row_share: float = 1.0
) -> tuple[RecyclingFrames, list[QuarantineRecord]]:
    """The frames without their failing rows (and held-back contacts), and why rows failed.

    Raises `TooManyBadRows` when more than `max_bad_row_share` of all rows read failed.
    """
    rejected: list[QuarantineRecord] = []
    good: dict[str, pd.DataFrame] = {}
    for name, (schema, key) in SCHEMAS.items():
        frame: pd.DataFrame = getattr(frames, name)
        # An id that is not a number at all is quarantined as row 0 ("no id").
        numbers = pd.to_numeric(frame[key], errors="coerce").fillna(0)
        checked = split_valid_rows(frame, schema, source=source_of(name), row_numbers=numbers)
        rejected.extend(checked.rejected)
        good[name] = checked.good
    total = sum(len(getattr(frames, name)) for name in SCHEMAS)
    bad = len({(r.source, r.row_number) for r in rejected})
    check_bad_row_share(what="recycling input rows", bad=bad, total=total,
                        limit=max_bad_row_share, first=rejected[0] if rejected else None)
    held = {r.row_number for r in rejected
            if r.source in {source_of(n) for n in CONTACT_KEYED}}
    if held:
        contacts = good["contacts"]
        good["contacts"] = contacts[~contacts["contact_id"].isin(held)]
    return replace(frames, **good), rejected
