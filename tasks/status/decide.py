"""Deciding lead-status changes (pure): explicit moves, moves from activities, and the
lifecycle move a status brings (sales_ready → sql, recycle → lead, unqualified → other).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import NamedTuple

from models.enums import ActivityOutcome, LeadStatus, Stage
from models.lifecycle import TransitionKind
from models.status_rules import LeadStatusRules
from tasks.transitions import Proposal, Transition, decide_transitions

SOURCES = ("activity", "cli", "import", "promotion", "recycling")


class InvalidStatusMove(ValueError):
    """A status change the rules do not allow; the message names both statuses."""


@dataclass(frozen=True)
class StatusChange:
    """A decided lead-status move; (contact_id, to_status, at) is its natural key."""

    contact_id: int
    from_status: str | None
    to_status: LeadStatus
    at: datetime
    source: str
    reason: str | None = None
    retry_at: datetime | None = None


class Touch(NamedTuple):
    """A sales activity as status moves see it: whose, its outcome, when."""

    contact_id: int
    outcome: str | None
    at: datetime


class CurrentStatus(NamedTuple):
    """A contact's lead status and when it was set (None: no recorded change)."""

    status: str | None
    since: datetime | None


def decide_status_change(
    *,
    contact_id: int,
    current: str | None,
    to_status: LeadStatus,
    at: datetime,
    source: str,
    rules: LeadStatusRules,
    reason: str | None = None,
    retry_at: datetime | None = None,
    since: datetime | None = None,
    tz: tzinfo = UTC,
) -> StatusChange:
    """An explicit move (set-status, an imported status): allowed, or `InvalidStatusMove`.

    `retry` needs a re-approach date after `at`; `recycle` needs a reason. A change
    dated before `since` (when the current status was set) would rewrite history and
    is refused too; that refusal names both instants in `tz`.
    """
    if current == to_status.value:
        raise InvalidStatusMove(
            f"cannot move lead status {current} → {current}: it is already {current}"
        )
    if not rules.allows(current, to_status):
        allowed = ", ".join(rules.moves[LeadStatus(current)]) if current else "any"
        raise InvalidStatusMove(
            f"cannot move lead status {current} → {to_status.value} "
            f"(from {current}: {allowed or 'no further moves'})"
        )
    if to_status is LeadStatus.RETRY and (retry_at is None or retry_at <= at):
        raise InvalidStatusMove("retry needs a re-approach date (--retry-at) after the change")
    if to_status is LeadStatus.RECYCLE and not (reason or "").strip():
        raise InvalidStatusMove("recycle needs a reason (--reason)")
    if since is not None and at < since:
        raise InvalidStatusMove(
            f"cannot move lead status {current} → {to_status.value} at "
            f"{at.astimezone(tz).isoformat(timespec='minutes')}: it became {current} later, "
            f"at {since.astimezone(tz).isoformat(timespec='minutes')}"
        )
    return StatusChange(
        contact_id=contact_id, from_status=current, to_status=to_status, at=at, source=source,
        reason=reason, retry_at=retry_at if to_status is LeadStatus.RETRY else None,
    )


def changes_from_activities(
    *,
    contact_id: int,
    current: str | None,
    activities: Iterable[tuple[str | None, datetime]],
    rules: LeadStatusRules,
    source: str = "activity",
) -> list[StatusChange]:
    """Status moves that a contact's activities (outcome, at; oldest first) bring.

    An outcome moves the status only where the move is allowed from the status the
    contact has by then; other activities change nothing (a late `no_answer` does not
    pull a connected lead back to attempting). A contact without a status is not in
    sales' hands and is left alone.
    """
    changes: list[StatusChange] = []
    status = current
    for outcome, at in activities:
        if status is None or outcome is None or outcome not in ActivityOutcome.__members__.values():
            continue
        target = rules.activity_outcomes.get(ActivityOutcome(outcome))
        if target is None or target.value == status or not rules.allows(status, target):
            continue
        if target is LeadStatus.RETRY or target is LeadStatus.RECYCLE:
            # These need a date or a reason only a person gives: set-status, not an outcome.
            continue
        changes.append(
            StatusChange(contact_id=contact_id, from_status=status, to_status=target, at=at,
                         source=source, reason=f"activity outcome {outcome}")
        )
        status = target.value
    return changes


def changes_from_new_activities(
    touches: Iterable[Touch],
    current: Mapping[int, CurrentStatus],
    *,
    rules: LeadStatusRules,
    source: str,
) -> list[StatusChange]:
    """Status moves that newly recorded activities bring, contact by contact.

    Per contact in `current`, only activities at or after its latest status change count
    (what happened before is already reflected in that status; times are often whole
    minutes, so a call logged in the minute the status changed still counts), oldest
    first; see `changes_from_activities`. Contacts missing from `current` are left alone.
    """
    by_contact: dict[int, list[Touch]] = {}
    for touch in touches:
        if touch.contact_id in current:
            by_contact.setdefault(touch.contact_id, []).append(touch)
    changes: list[StatusChange] = []
    for contact_id in sorted(by_contact):
        status, since = current[contact_id]
        later = sorted(
            (t for t in by_contact[contact_id] if since is None or t.at >= since),
            key=lambda t: t.at,
        )
        changes.extend(
            changes_from_activities(
                contact_id=contact_id, current=status,
                activities=[(t.outcome, t.at) for t in later], rules=rules, source=source,
            )
        )
    return changes


def imported_status_changes(
    before: Mapping[int, str | None],
    after: Mapping[int, str | None],
    *,
    at: datetime,
    reason: str,
) -> list[StatusChange]:
    """The status changes an import made (contact → status before and after it).

    The file is the record here: its statuses are not checked against the moves, and a
    blank or unknown status is no change.
    """
    known = set(LeadStatus.__members__.values())
    return [
        StatusChange(contact_id=contact_id, from_status=before.get(contact_id),
                     to_status=LeadStatus(status), at=at, source="import", reason=reason)
        for contact_id, status in sorted(after.items())
        if status in known and status != before.get(contact_id)
    ]


def lifecycle_moves(
    changes: Iterable[StatusChange],
    current_stages: Mapping[int, str | None],
    rules: LeadStatusRules,
) -> list[Transition]:
    """The stage moves the changes bring, as allowed lifecycle transitions.

    sales_ready → sql is a forward move, unqualified → other a disqualification, recycle
    → lead the audited backward move; a move the lifecycle forbids (a customer marked
    unqualified) is dropped.
    """
    transitions: list[Transition] = []
    for change in changes:
        stage = rules.lifecycle.get(change.to_status)
        if stage is None:
            continue
        kind = {
            Stage.OTHER: TransitionKind.DISQUALIFY,
            Stage.LEAD: TransitionKind.RECYCLE,
        }.get(stage, TransitionKind.FORWARD)
        proposal = Proposal(
            contact_id=change.contact_id, to_stage=stage, rule=f"lead_status:{change.to_status}",
            kind=kind, reason=change.reason,
        )
        transitions.extend(
            decide_transitions(
                {change.contact_id: current_stages.get(change.contact_id)}, [proposal],
                as_of=change.at,
            )
        )
    return transitions
