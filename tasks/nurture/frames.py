"""The frames nurture's decide reads, their columns, statuses and natural keys."""

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

ACTIVE = "active"
COMPLETED = "completed"
EXITED = "exited"
SENT = "sent"
FAILED = "failed"

CONTACT_COLUMNS = [
    "contact_id",
    "email",
    "first_name",
    "last_name",
    "company_name",
    "consent",
    "timezone",
    "lifecycle_stage",
    "score",
    "created_at",
    "updated_at",
]
ENROLLMENT_COLUMNS = [
    "enrollment_key",
    "contact_id",
    "program",
    "step",
    "status",
    "entered_at",
    "next_step_at",
    "last_sent_at",
    "exit_reason",
]
SEND_COLUMNS = [
    "email_id",
    "enrollment_key",
    "contact_id",
    "step",
    "queued_at",
    "status",
    "sent_at",
    "last_error",
]
EVENT_COLUMNS = ["contact_id", "type", "detail", "occurred_at"]
ACTIVITY_COLUMNS = ["contact_id", "outcome", "occurred_at"]
STAGE_ENTRY_COLUMNS = ["contact_id", "to_stage", "at", "kind"]
SUPPRESSION_COLUMNS = ["contact_id", "reason", "created_at"]
SNAPSHOT_COLUMNS = ["contact_id", "as_of", "score"]


@dataclass(frozen=True)
class NurtureFrames:
    """What the read beat loaded for one as_of (column lists above)."""

    contacts: pd.DataFrame
    enrollments: pd.DataFrame
    sends: pd.DataFrame
    events: pd.DataFrame
    activities: pd.DataFrame
    stage_entries: pd.DataFrame
    suppressions: pd.DataFrame
    snapshots: pd.DataFrame


def enrollment_key(program: str, contact_id: int, entered_at: datetime) -> str:
    """The natural key of an enrollment: program, contact and entry instant."""
    return f"{program}:{contact_id}:{entered_at:%Y%m%dT%H%M%SZ}"


def email_id(enrollment: str, step: str) -> str:
    """The idempotency key of the email a send step produces (one per enrollment and step)."""
    return f"nurture:{enrollment}:{step}"
