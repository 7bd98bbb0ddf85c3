"""What flows hand to the outside world: outbox messages, stored rows and send errors.

Flows decide messages; the outbox stores and drains them; adapters (SMTP, Slack) send
them and raise the errors below. All three import these types from here, so adapters
never import tasks.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

PENDING = "pending"
# Handed to the sender and not yet marked: after a crash, the one row that may or may
# not have gone out. Its next attempt first asks the channel whether it arrived.
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
STATUSES = (PENDING, SENDING, SENT, FAILED)

# An email refused for good (SMTP 5xx for the recipient) starts its error with this, so
# nurture can exit the enrollment as bounced rather than send_failed.
HARD_BOUNCE_PREFIX = "hard bounce"


@dataclass(frozen=True)
class OutboxMessage:
    """One side effect to perform once: the key makes it unique across reruns."""

    idempotency_key: str
    channel: str
    kind: str
    contact_id: int | None
    payload: dict[str, Any]
    not_before: datetime | None = None


@dataclass(frozen=True)
class OutboxRow:
    """A stored outbox row as the dispatcher and its sender see it.

    `attempts` counts earlier tries; `first_attempt_at` / `attempt_started_at` are their
    wall-clock starts; `claimed_by` is the dispatcher holding the row.
    """

    id: int
    idempotency_key: str
    channel: str
    kind: str
    contact_id: int | None
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None
    not_before: datetime | None
    created_at: datetime
    sent_at: datetime | None
    run_id: str | None
    claimed_by: str | None = None
    first_attempt_at: datetime | None = None
    attempt_started_at: datetime | None = None

    @property
    def in_doubt(self) -> bool:
        """An earlier attempt may have delivered it (a crash or an error mid-send)."""
        return self.attempts > 0 or self.first_attempt_at is not None


class SendLater(Exception):
    """Not a failure: the message may go out only from `resume_at` (e.g. outside the send
    window); the dispatcher puts it back, uncounted as an attempt, due at that time."""

    def __init__(self, message: str, *, resume_at: datetime) -> None:
        super().__init__(message)
        self.resume_at = resume_at


class TransientSendError(Exception):
    """The send may work later (rate limit, 5xx, network); `retry_after` in seconds if known.

    `halt=True` says the whole channel is unusable for now (e.g. a revoked token): the
    dispatcher stops and leaves the rest of the batch untouched.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, halt: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.halt = halt


class PermanentSendError(Exception):
    """The send can never work as is (bad channel, invalid payload): the row is failed."""
