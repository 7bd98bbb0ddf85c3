"""The recycling decide beat as it was before it worked on frames — kept as the test oracle.

Verbatim copies of tasks/recycling/decide.py (decide_recycling and its four rules) and
the row helpers of tasks/recycling/frames.py (by_contact, latest_at, records, missing, ts,
cell_text) as they were before issue 13 moved recycling's rules onto frames: the
property tests (tests/unit/test_recycling_decide_equivalence.py) compare the frame
version with this per-row one on random inputs, so any drift in the recycles, moves,
stamps, reasons or reminders shows up. Only the imports were merged; do not "fix" or
restyle this code — it is the reference.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

import pandas as pd

from models.enums import ActivityOutcome, LeadStatus, Stage
from models.lifecycle import TransitionKind
from models.rules import Rules
from tasks.recycling.decide import (
    KEPT_ON_LOST_DEAL,
    LOST_DEAL_REASON,
    LOST_DEAL_RULE,
    SALES_STAGES,
    SOURCE,
    UNQUALIFIED_REASON,
    UNREACHABLE_STATUSES,
)
from tasks.recycling.decisions import RECYCLE_REASON, RecyclingDecisions, RetryReminder
from tasks.recycling.frames import RecyclingFrames
from tasks.recycling.schemas import checked_frames, source_of
from tasks.status.decide import (
    InvalidStatusMove,
    StatusChange,
    decide_status_change,
    lifecycle_moves,
)
from tasks.transitions import Proposal, Transition, decide_transitions

# --- tasks/recycling/frames.py -----------------------------------------------------------


def by_contact(
    frame: pd.DataFrame, time_column: str, as_of: datetime
) -> dict[int, list[dict[str, Any]]]:
    """Rows of `frame` per contact with `time_column` at or before as_of, oldest first."""
    rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in records(frame):
        at = ts(record[time_column])
        if at is not None and at <= as_of:
            rows[int(record["contact_id"])].append(record)
    for values in rows.values():
        values.sort(key=lambda r: ts(r[time_column]))  # type: ignore[arg-type, return-value]
    return rows


def latest_at(rows: list[dict[str, Any]]) -> datetime | None:
    """The latest `at` among rows (None: no rows)."""
    return max((t for t in (ts(r["at"]) for r in rows) if t is not None), default=None)


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


# --- tasks/recycling/decide.py ----------------------------------------------------------


def decide_recycling(
    frames: RecyclingFrames,
    *,
    rules: Rules,
    as_of: datetime,
    tz: tzinfo,
    max_bad_row_share: float = 1.0,
) -> RecyclingDecisions:
    """Recycles, disqualifications, re-nurtures and retry reminders at `as_of` (pure).

    `tz` is the business time zone: a retry date is due on its local calendar day. At
    most one move per contact; the rules are tried in the order above. Rows failing
    `tasks.recycling.schemas` are quarantined and the rest decided; more than
    `max_bad_row_share` of them raises `TooManyBadRows`.
    """
    frames, rejected = checked_frames(frames, max_bad_row_share=max_bad_row_share)
    bad_owners = {r.row_number for r in rejected if r.source == source_of("owners")}
    contacts = {int(r["contact_id"]): r for r in records(frames.contacts)}
    history = by_contact(frames.statuses, "at", as_of)
    activities = by_contact(frames.activities, "occurred_at", as_of)
    recycles = _unreachable(contacts, activities, history, rules=rules, as_of=as_of)
    taken = {c.contact_id for c in recycles}
    transitions = _status_moves(contacts, history, rules=rules, as_of=as_of, taken=taken)
    taken |= {t.contact_id for t in transitions}
    transitions += _lost_deals(
        contacts, history, frames.deals, as_of=as_of, taken=taken,
        lost_stages=rules.deals.lost_names(),
    )
    reminders, unowned = _retry_reminders(
        contacts, history, as_of=as_of, tz=tz, bad_owners=bad_owners
    )
    return RecyclingDecisions(
        as_of=as_of, recycles=recycles, transitions=transitions, reminders=reminders,
        unowned_retries=unowned, quarantined=rejected,
    )


def stamp(
    fact_at: datetime | None, *, after: Iterable[datetime | None], as_of: datetime
) -> datetime:
    """When a move happens: at its fact if that is at or before `as_of` and not before
    any of `after` (the contact's latest changes), else at `as_of`."""
    floor = max((t for t in after if t is not None), default=None)
    if fact_at is None or fact_at > as_of or (floor is not None and fact_at < floor):
        return as_of
    return fact_at


def _unreachable(
    contacts: dict[int, dict[str, Any]],
    activities: dict[int, list[dict[str, Any]]],
    history: dict[int, list[dict[str, Any]]],
    *,
    rules: Rules,
    as_of: datetime,
) -> list[StatusChange]:
    recycling = rules.recycling
    unreachable = {o.value for o in recycling.unreachable_outcomes}
    connecting = {
        o.value for o in ActivityOutcome
        if o.value not in unreachable
        and rules.lead_status.activity_outcomes.get(o) is not LeadStatus.ATTEMPTING
    }
    changes: list[StatusChange] = []
    for contact_id, contact in sorted(contacts.items()):
        if contact["lifecycle_stage"] not in SALES_STAGES:
            continue
        if contact["lead_status"] not in UNREACHABLE_STATUSES:
            continue
        handoff = ts(contact["handoff_at"])
        streak, reached = 0, None
        for touch in activities.get(contact_id, []):
            at = ts(touch["occurred_at"])
            if at is None or (handoff is not None and at < handoff):
                continue
            if touch["outcome"] in unreachable:
                streak += 1
                if streak == recycling.unreachable_after_attempts:
                    reached = at
            elif touch["outcome"] in connecting:
                streak, reached = 0, None
        if reached is None:
            continue
        status_since = latest_at(history.get(contact_id, []))
        at = stamp(reached, after=[handoff, ts(contact["last_stage_at"]), status_since],
                   as_of=as_of)
        try:
            changes.append(
                decide_status_change(
                    contact_id=contact_id, current=contact["lead_status"],
                    to_status=LeadStatus.RECYCLE, at=at, source=SOURCE,
                    rules=rules.lead_status, reason=recycling.unreachable_reason,
                )
            )
        except InvalidStatusMove:
            # The rules forbid recycling from this status: leave the lead with sales.
            continue
    return changes


def _status_moves(
    contacts: dict[int, dict[str, Any]],
    history: dict[int, list[dict[str, Any]]],
    *,
    rules: Rules,
    as_of: datetime,
    taken: set[int],
) -> list[Transition]:
    wanted = {
        LeadStatus.RECYCLE.value: RECYCLE_REASON,
        LeadStatus.UNQUALIFIED.value: UNQUALIFIED_REASON,
    }
    transitions: list[Transition] = []
    for contact_id, contact in sorted(contacts.items()):
        status = contact["lead_status"]
        if contact_id in taken or status not in wanted:
            continue
        if status == LeadStatus.RECYCLE.value and contact["lifecycle_stage"] not in SALES_STAGES:
            continue
        rows = history.get(contact_id, [])
        set_by = next((r for r in reversed(rows) if r["to_status"] == status), None)
        reason = cell_text(set_by["reason"]) if set_by else None
        at = stamp(
            ts(set_by["at"]) if set_by else None,
            after=[ts(contact["last_stage_at"]), latest_at(rows)], as_of=as_of,
        )
        change = StatusChange(
            contact_id=contact_id, from_status=status, to_status=LeadStatus(status), at=at,
            source=SOURCE, reason=reason or wanted[status],
        )
        transitions += lifecycle_moves(
            [change], {contact_id: contact["lifecycle_stage"]}, rules.lead_status
        )
    return transitions


def _lost_deals(
    contacts: dict[int, dict[str, Any]],
    history: dict[int, list[dict[str, Any]]],
    deals: pd.DataFrame,
    *,
    as_of: datetime,
    taken: set[int],
    lost_stages: tuple[str, ...],
) -> list[Transition]:
    transitions: list[Transition] = []
    lost: list[tuple[datetime, int, dict[str, Any]]] = []
    for deal in records(deals):
        closed = ts(deal["closed_at"])
        if (
            str(deal["stage"]).strip().lower() in lost_stages
            and closed is not None
            and closed <= as_of
            and not missing(deal["contact_id"])
        ):
            lost.append((closed, int(deal["deal_id"]), deal))
    # The latest lost deal of a contact speaks for it.
    lost.sort(key=lambda item: item[:2], reverse=True)
    for closed, _deal_id, deal in lost:
        contact_id = int(deal["contact_id"])
        contact = contacts.get(contact_id)
        if contact_id in taken or contact is None:
            continue
        if contact["lifecycle_stage"] in KEPT_ON_LOST_DEAL:
            continue
        renurtured = ts(contact["renurtured_at"])
        last_move = ts(contact["last_stage_at"])
        if renurtured is not None and renurtured >= closed:
            continue
        if last_move is not None and last_move > closed:
            # It moved on since the deal closed (back to lead, a new hand-off): leave it.
            continue
        at = stamp(
            closed, after=[last_move, latest_at(history.get(contact_id, []))], as_of=as_of
        )
        proposal = Proposal(
            contact_id=contact_id, to_stage=Stage.LOST_RENURTURE, rule=LOST_DEAL_RULE,
            kind=TransitionKind.RENURTURE,
            reason=cell_text(deal["lost_reason"]) or LOST_DEAL_REASON,
        )
        moved = decide_transitions({contact_id: contact["lifecycle_stage"]}, [proposal], as_of=at)
        transitions += moved
        taken.add(contact_id)
    return transitions


def _retry_reminders(
    contacts: dict[int, dict[str, Any]],
    history: dict[int, list[dict[str, Any]]],
    *,
    as_of: datetime,
    tz: tzinfo,
    bad_owners: set[int],
) -> tuple[list[RetryReminder], int]:
    today = as_of.astimezone(tz).date()
    reminders: list[RetryReminder] = []
    unowned = 0
    for contact_id, contact in sorted(contacts.items()):
        if contact["lead_status"] != LeadStatus.RETRY.value:
            continue
        rows = history.get(contact_id, [])
        set_by = next(
            (r for r in reversed(rows) if r["to_status"] == LeadStatus.RETRY.value), None
        )
        retry_at = ts(set_by["retry_at"]) if set_by else None
        if retry_at is None or retry_at > as_of or retry_at.astimezone(tz).date() != today:
            continue
        if missing(contact["owner_id"]) or int(contact["owner_id"]) in bad_owners:
            unowned += 1
            continue
        reminders.append(
            RetryReminder(
                contact_id=contact_id, owner_id=int(contact["owner_id"]), retry_at=retry_at,
                note=cell_text(set_by["reason"]) if set_by else None,
            )
        )
    return reminders, unowned
