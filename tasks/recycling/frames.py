"""The frames recycling decides on, and reading their cells (pure).

The read beat fills `RecyclingFrames` (column lists below); `tasks.recycling.timeline`
and `tasks.recycling.reminders` read its cells with the helpers here.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

CONTACT_COLUMNS = [
    "contact_id", "email", "first_name", "last_name", "company_name", "lifecycle_stage",
    "lead_status", "owner_id", "last_stage_at", "handoff_at", "renurtured_at",
]
ACTIVITY_COLUMNS = ["contact_id", "outcome", "occurred_at"]
STATUS_COLUMNS = ["contact_id", "to_status", "at", "reason", "retry_at"]
DEAL_COLUMNS = ["deal_id", "contact_id", "stage", "closed_at", "lost_reason"]
OWNER_COLUMNS = ["owner_id", "name", "email", "slack_user_id"]


@dataclass(frozen=True)
class RecyclingFrames:
    """What the read beat loaded for one as_of (column lists above).

    contacts: candidates with their latest stage change, latest hand-off (entering
    mql/sql) and latest entry into lost_renurture; activities: their sales touches with
    an outcome; statuses: their lead-status history; deals: lost deals closed by as_of.
    """

    contacts: pd.DataFrame
    activities: pd.DataFrame
    statuses: pd.DataFrame
    deals: pd.DataFrame
    owners: pd.DataFrame


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as dicts."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def missing(value: Any) -> bool:
    """Whether a cell is empty (None, NaN, NaT)."""
    return value is None or bool(pd.isna(value))


def ts(value: Any) -> datetime | None:
    """A cell as an aware datetime, or None."""
    if missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value if isinstance(value, datetime) else None


def cell_text(value: Any) -> str | None:
    """A cell as stripped text, or None when empty."""
    if missing(value):
        return None
    text = str(value).strip()
    return text or None
