"""What nurture's decide returns: enrollment states, emails, history, suppressions."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from tasks.validation import QuarantineRecord


@dataclass(frozen=True)
class EnrollmentState:
    """The desired row of one enrollment after this run (new or changed)."""

    enrollment_key: str
    contact_id: int
    program: str
    step: str | None
    status: str
    entered_at: datetime
    next_step_at: datetime | None
    last_sent_at: datetime | None
    exit_reason: str | None
    is_new: bool = False


@dataclass(frozen=True)
class PlannedEmail:
    """A marketing email to enqueue now; `email_id` is also the outbox idempotency key."""

    email_id: str
    enrollment_key: str
    contact_id: int
    program: str
    step: str
    template: str
    locale: str
    to: str
    first_name: str
    last_name: str
    company: str
    timezone: str

    def payload(self) -> dict[str, Any]:
        """The outbox payload the email sender renders from."""
        return {
            "email_id": self.email_id,
            "to": self.to,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "program": self.program,
            "step": self.step,
            "template": self.template,
            "locale": self.locale,
            "timezone": self.timezone,
        }


@dataclass(frozen=True)
class HistoryEntry:
    """One line of an enrollment's history."""

    enrollment_key: str
    contact_id: int
    at: datetime
    action: Literal["entered", "queued", "sent", "held", "branch", "exited", "completed"]
    step: str | None
    detail: str | None = None


@dataclass(frozen=True)
class Suppression:
    """A contact to stop mailing (hard bounce seen on a send)."""

    contact_id: int
    email: str
    reason: str
    source: str
    detail: str | None


@dataclass
class NurtureDecisions:
    """Everything apply would write for one as_of."""

    as_of: datetime
    enrollments: list[EnrollmentState] = field(default_factory=list)
    emails: list[PlannedEmail] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)
    quarantined: list[QuarantineRecord] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Summary counts for the run artifact."""
        actions: dict[str, int] = defaultdict(int)
        for entry in self.history:
            actions[entry.action] += 1
        return {
            "enrolled": sum(1 for e in self.enrollments if e.is_new),
            "emails": len(self.emails),
            "held": actions["held"],
            "branched": actions["branch"],
            "exited": actions["exited"],
            "completed": actions["completed"],
            "suppressed": len(self.suppressions),
            "quarantined": len({r.row_number for r in self.quarantined}),
        }
