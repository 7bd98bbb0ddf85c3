"""Apply beat of promotion: one transaction for transitions, hot marks, owners and outbox.

The hand-off messages are composed inside the transaction, a slice of contacts at a time
(`tasks.promotion.handoff_slices`), and enqueued slice by slice: a first hour at 1M
contacts renders ~560k of them, too many to hold at once.

Natural keys everywhere (stage history: contact + stage + at; assignments: contact + at,
written by `tasks.owners.record_owners`; outbox: idempotency key) and conditional updates
make a rerun of the same hour a no-op. A late assignment (or hand-over to the stage's
team) takes effect only if the contact is still in an assign stage with the owner it was
read with; its hand-off messages are dropped with it otherwise.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, update

from leadflow.db import in_chunks
from models.enums import Team
from models.messages import OutboxMessage
from models.rules import Rules
from models.tables import Contact
from tasks.internal_email import INTERNAL_EMAIL_CHANNEL
from tasks.outbox import enqueue
from tasks.owners import OwnerPick, record_owners
from tasks.promotion.assignment import Assignment
from tasks.promotion.decide import HotMark, PromotionDecisions
from tasks.promotion.handoff_email import HANDOFF_EMAIL_KIND
from tasks.quarantine import store_quarantine
from tasks.stage_history import KEY_CHUNK, apply_transitions
from tasks.transitions import Transition

# Messages announcing a hand-off: kept only when the move or late assignment took effect.
HANDOFF_KINDS = frozenset({"handoff", HANDOFF_EMAIL_KIND})


@dataclass(frozen=True)
class AppliedPromotions:
    """What the apply beat actually wrote."""

    transitions: list[Transition]
    hot: int
    assigned: int
    enqueued: int
    companies: int
    quarantined: int = 0
    late_assigned: int = 0
    emails_enqueued: int = 0
    handed_over: int = 0
    # Slack messages and emails composed, before those of moves that did not take effect
    # are dropped.
    composed: int = 0
    emails_composed: int = 0

    def by_stage(self) -> dict[str, int]:
        """Applied transitions per target stage."""
        counts: dict[str, int] = {}
        for transition in self.transitions:
            counts[transition.to_stage.value] = counts.get(transition.to_stage.value, 0) + 1
        return dict(sorted(counts.items()))


def apply_promotions(
    engine: Engine,
    decisions: PromotionDecisions,
    handoffs: Callable[[Connection], Iterable[Sequence[OutboxMessage]]],
    *,
    rules: Rules,
    run_id: str | None,
    now: datetime,
) -> AppliedPromotions:
    """Write all decisions and enqueue their messages in one transaction.

    `handoffs` gives the hand-off messages slice by slice, read with the transaction's
    connection; each slice is enqueued before the next is composed. Messages of a contact
    whose transition did not take effect (someone moved it meanwhile) are dropped with
    it, so Slack never announces a move that did not happen.
    """
    with engine.begin() as conn:
        applied = apply_transitions(
            conn,
            decisions.transitions,
            run_id=run_id,
            lead_status_on=rules.promotion.lead_status_on,
        )
        moved = {t.contact_id for t in applied.transitions}
        skipped = {t.contact_id for t in decisions.transitions} - moved

        hot = _mark_hot(conn, [m for m in decisions.hot if m.contact_id not in skipped])
        hot_ids = {m.contact_id for m in decisions.hot if m.contact_id not in skipped}

        owned = [
            a for a in decisions.assignments
            if a.owner_id is not None and not a.late and a.contact_id in moved
        ]
        late = _claim_late(conn, decisions.assignments, rules=rules)
        assigned = record_owners(
            conn,
            [OwnerPick(a.contact_id, Team(a.team), a.owner_id, a.reason) for a in [*owned, *late]],
            at=decisions.as_of,
            run_id=run_id,
        )

        handed_off = moved | {a.contact_id for a in late}
        composed = emails_composed = enqueued = emails_enqueued = 0
        for messages in handoffs(conn):
            emails_composed += sum(1 for m in messages if m.channel == INTERNAL_EMAIL_CHANNEL)
            composed += sum(1 for m in messages if m.channel != INTERNAL_EMAIL_CHANNEL)
            kept = [
                m
                for m in messages
                if m.contact_id is None
                or (m.kind in HANDOFF_KINDS and m.contact_id in handed_off)
                or (m.kind not in HANDOFF_KINDS and m.contact_id in hot_ids)
            ]
            enqueued += enqueue(
                conn, [m for m in kept if m.channel != INTERNAL_EMAIL_CHANNEL],
                run_id=run_id, now=now,
            )
            emails_enqueued += enqueue(
                conn, [m for m in kept if m.channel == INTERNAL_EMAIL_CHANNEL],
                run_id=run_id, now=now,
            )
        quarantined = store_quarantine(conn, decisions.quarantined, run_id=run_id, now=now)
    return AppliedPromotions(
        transitions=applied.transitions,
        hot=hot,
        assigned=assigned,
        enqueued=enqueued,
        companies=len(applied.companies),
        quarantined=quarantined,
        late_assigned=sum(1 for a in late if not a.handover),
        emails_enqueued=emails_enqueued,
        handed_over=sum(1 for a in late if a.handover),
        composed=composed,
        emails_composed=emails_composed,
    )


def _mark_hot(conn: Connection, marks: Sequence[HotMark]) -> int:
    """Set `hot_at` where it is still empty; returns how many contacts were marked.

    One UPDATE per instant and slice of ids: a first hour marks ~100k at 1M.
    """
    by_at: dict[datetime, list[int]] = {}
    for mark in marks:
        by_at.setdefault(mark.at, []).append(mark.contact_id)
    marked = 0
    for at, contact_ids in by_at.items():
        for part in in_chunks(sorted(set(contact_ids)), KEY_CHUNK):
            result = conn.execute(
                update(Contact)
                .where(Contact.id.in_(part), Contact.hot_at.is_(None))
                .values(hot_at=at)
            )
            marked += result.rowcount
    return marked


def _claim_late(
    conn: Connection, assignments: Sequence[Assignment], *, rules: Rules
) -> list[Assignment]:
    """Late assignments that still apply: the contact is in an assign stage and its owner
    is the one read (none, or the other team's owner a hand-over replaces).

    The conditional update keeps a contact someone assigned meanwhile with its owner.
    """
    stages = [stage.value for stage in rules.promotion.assign_stages]
    claimed: list[Assignment] = []
    for assignment in assignments:
        if not assignment.late or assignment.owner_id is None:
            continue
        result = conn.execute(
            update(Contact)
            .where(
                Contact.id == assignment.contact_id,
                Contact.owner_id.is_(None)
                if assignment.replaces is None
                else Contact.owner_id == assignment.replaces,
                Contact.lifecycle_stage.in_(stages),
            )
            .values(owner_id=assignment.owner_id)
        )
        if result.rowcount:
            claimed.append(assignment)
    return claimed
