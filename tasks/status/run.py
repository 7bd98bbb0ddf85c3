"""The one wiring of `leadflow log-activity` and `leadflow set-status`.

Each command is one transaction: read the contact, decide, apply through
`apply_status_changes` (the one writer of lead statuses). Bad input — an unknown
value, an `at` in the future — raises `StatusInputError` or `InvalidStatusMove`
before anything is written.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import NamedTuple, TypeVar

from sqlalchemy import Connection, Engine, func, select

from leadflow.db import insert_ignoring_conflicts
from models.enums import ActivityOutcome, ActivityType, LeadStatus
from models.rules import Rules
from models.tables import Activity, Contact, Owner
from tasks.status.activities import move_statuses_from_activities
from tasks.status.apply import AppliedStatusChanges, apply_status_changes
from tasks.status.decide import StatusChange, Touch, decide_status_change
from tasks.status.read import read_current_statuses, read_retry_at

E = TypeVar("E", bound=StrEnum)
OWNERS_SHOWN = 20
# Room for a clock a little ahead of this machine's; anything later is a typo, and a
# status dated in the future would refuse every real change until then.
FUTURE_SLACK = timedelta(minutes=5)


class StatusInputError(ValueError):
    """Input a status command cannot use (unknown contact, owner, type, outcome or status)."""


class _Contact(NamedTuple):
    id: int
    email: str
    lead_status: str | None
    lifecycle_stage: str | None


@dataclass(frozen=True)
class ActivityLogged:
    """What `log_activity` did; `recorded` is False when the same activity was already there."""

    email: str
    type: ActivityType
    outcome: ActivityOutcome
    at: datetime
    recorded: bool
    lead_status: str | None
    status_since: datetime | None
    lifecycle_stage: str | None
    applied: AppliedStatusChanges


@dataclass(frozen=True)
class StatusSet:
    """What `set_status` did: the change, its lifecycle move and any new owner's email.

    `change` is None when the lead already had `status` (nothing was written);
    `retry_at` is then the re-approach date a lead at retry keeps.
    """

    email: str
    status: LeadStatus
    change: StatusChange | None
    lifecycle_stage: str | None
    applied: AppliedStatusChanges
    owner_email: str | None
    retry_at: datetime | None = None


def parse_choice(value: str, choices: type[E], *, option: str) -> E:
    """`value` as a member of `choices`, or a `StatusInputError` listing the choices."""
    folded = value.strip().lower()
    for member in choices:
        if member.value == folded:
            return member
    raise StatusInputError(
        f"{option} {value!r} is not one of: {', '.join(m.value for m in choices)}"
    )


def activity_key(*, email: str, type: ActivityType, outcome: ActivityOutcome, at: datetime) -> str:
    """The source activity id of a logged activity: the same command logs it once."""
    text = f"{email}|{type.value}|{outcome.value}|{at.astimezone(UTC).isoformat()}"
    return "cli-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def check_not_future(at: datetime, *, now: datetime, tz: tzinfo) -> None:
    """A `StatusInputError` (naming `at` in `tz`) when `at` is more than a few minutes
    after `now`."""
    if at > now + FUTURE_SLACK:
        raise StatusInputError(
            f"--at {at.astimezone(tz).isoformat(timespec='minutes')} is in the future"
        )


def log_activity(
    engine: Engine,
    *,
    rules: Rules,
    email: str,
    type: str,
    outcome: str,
    at: datetime,
    now: datetime,
    owner_email: str | None = None,
    note: str | None = None,
    tz: tzinfo = UTC,
) -> ActivityLogged:
    """Record one sales activity and move the contact's lead status as its outcome says.

    The activity's id comes from email, type, outcome and `at`, so logging the same
    activity again adds nothing and moves nothing. An `at` in the future is refused
    (messages name instants in `tz`).
    """
    kind = parse_choice(type, ActivityType, option="--type")
    result = parse_choice(outcome, ActivityOutcome, option="--outcome")
    check_not_future(at, now=now, tz=tz)
    with engine.begin() as conn:
        contact = _read_contact(conn, email)
        owner_id = None if owner_email is None else _read_owner_id(conn, owner_email)
        since = read_current_statuses(conn, [contact.id])[contact.id].since
        added = insert_ignoring_conflicts(
            conn,
            Activity.__table__,  # type: ignore[arg-type]
            [{
                "source_activity_id": activity_key(
                    email=contact.email, type=kind, outcome=result, at=at
                ),
                "contact_id": contact.id, "owner_id": owner_id, "type": kind.value,
                "outcome": result.value, "occurred_at": at, "note": note, "ingested_at": now,
            }],
            keys=["source_activity_id"],
        )
        applied = AppliedStatusChanges()
        if added:
            applied = move_statuses_from_activities(
                conn, [Touch(contact.id, result.value, at)],
                rules=rules, source="activity", run_id=None, now=now,
            )
    return ActivityLogged(
        email=contact.email, type=kind, outcome=result, at=at, recorded=bool(added),
        lead_status=contact.lead_status, status_since=since,
        lifecycle_stage=contact.lifecycle_stage, applied=applied,
    )


def set_status(
    engine: Engine,
    *,
    rules: Rules,
    email: str,
    status: str,
    at: datetime,
    now: datetime,
    reason: str | None = None,
    retry_at: datetime | None = None,
    tz: tzinfo = UTC,
) -> StatusSet:
    """Move a contact's lead status explicitly, with the lifecycle move the status brings.

    Asking for the status the lead already has writes nothing and is no error (`change`
    is None). Raises `InvalidStatusMove` (nothing written) when the rules do not allow
    the move, `retry` lacks a re-approach date or `recycle` a reason, and
    `StatusInputError` for an `at` in the future; messages name instants in `tz`.
    """
    target = parse_choice(status, LeadStatus, option="STATUS")
    check_not_future(at, now=now, tz=tz)
    with engine.begin() as conn:
        contact = _read_contact(conn, email)
        current = read_current_statuses(conn, [contact.id])[contact.id]
        if current.status == target.value:
            return StatusSet(
                email=contact.email, status=target, change=None,
                lifecycle_stage=contact.lifecycle_stage, applied=AppliedStatusChanges(),
                owner_email=None,
                retry_at=read_retry_at(conn, contact.id) if target is LeadStatus.RETRY else None,
            )
        change = decide_status_change(
            contact_id=contact.id, current=current.status, to_status=target, at=at,
            source="cli", rules=rules.lead_status, reason=(reason or "").strip() or None,
            retry_at=retry_at, since=current.since, tz=tz,
        )
        applied = apply_status_changes(conn, [change], rules=rules, run_id=None, now=now)
        if not applied.changes:
            # Rolls the transaction back: another writer moved the status meanwhile.
            raise StatusInputError(
                f"the lead status of {contact.email} changed while this ran; nothing written"
            )
        owner_ids = [p.owner_id for p in applied.owners if p.owner_id is not None]
        owner_email = (
            conn.execute(select(Owner.email).where(Owner.id == owner_ids[0])).scalar_one()
            if owner_ids
            else None
        )
    return StatusSet(
        email=contact.email, status=target, change=change,
        lifecycle_stage=contact.lifecycle_stage, applied=applied, owner_email=owner_email,
    )


def _read_contact(conn: Connection, email: str) -> _Contact:
    row = conn.execute(
        select(Contact.id, Contact.email, Contact.lead_status, Contact.lifecycle_stage).where(
            Contact.email == email.strip().lower()
        )
    ).first()
    if row is None:
        raise StatusInputError(f"no contact with email {email!r}")
    return _Contact(int(row.id), row.email, row.lead_status, row.lifecycle_stage)


def _read_owner_id(conn: Connection, email: str) -> int:
    owner_id = conn.execute(
        select(Owner.id).where(func.lower(Owner.email) == email.strip().lower())
    ).scalar_one_or_none()
    if owner_id is None:
        known = conn.execute(
            select(Owner.email).order_by(Owner.email).limit(OWNERS_SHOWN + 1)
        ).scalars().all()
        choices = ", ".join(known[:OWNERS_SHOWN]) + (", …" if len(known) > OWNERS_SHOWN else "")
        choices = choices or "none — import owners first"
        raise StatusInputError(f"--owner {email!r} is not a known owner (owners: {choices})")
    return int(owner_id)
