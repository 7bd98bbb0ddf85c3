"""Apply beat of promotion: one transaction for transitions, hot marks, owners and outbox.

Natural keys everywhere (stage history: contact + stage + at; assignments: contact + at;
outbox: idempotency key) and conditional updates make a rerun of the same hour a no-op.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, update

from leadflow.db import insert_ignoring_conflicts
from models.messages import OutboxMessage
from models.rules import Rules
from models.tables import Contact, OwnerAssignment
from tasks.outbox import enqueue
from tasks.promotion.decide import PromotionDecisions
from tasks.quarantine import store_quarantine
from tasks.stage_history import apply_transitions
from tasks.transitions import Transition


@dataclass(frozen=True)
class AppliedPromotions:
    """What the apply beat actually wrote."""

    transitions: list[Transition]
    hot: int
    assigned: int
    enqueued: int
    companies: int
    quarantined: int = 0

    def by_stage(self) -> dict[str, int]:
        """Applied transitions per target stage."""
        counts: dict[str, int] = {}
        for transition in self.transitions:
            counts[transition.to_stage.value] = counts.get(transition.to_stage.value, 0) + 1
        return dict(sorted(counts.items()))


def apply_promotions(
    engine: Engine,
    decisions: PromotionDecisions,
    messages: Sequence[OutboxMessage],
    *,
    rules: Rules,
    run_id: str | None,
    now: datetime,
) -> AppliedPromotions:
    """Write all decisions and enqueue their messages in one transaction.

    Messages of a contact whose transition did not take effect (someone moved it
    meanwhile) are dropped with it, so Slack never announces a move that did not happen.
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

        hot = 0
        for mark in decisions.hot:
            if mark.contact_id in skipped:
                continue
            result = conn.execute(
                update(Contact)
                .where(Contact.id == mark.contact_id, Contact.hot_at.is_(None))
                .values(hot_at=mark.at)
            )
            hot += result.rowcount
        hot_ids = {m.contact_id for m in decisions.hot if m.contact_id not in skipped}

        owned = [
            a for a in decisions.assignments if a.owner_id is not None and a.contact_id in moved
        ]
        assigned = insert_ignoring_conflicts(
            conn,
            OwnerAssignment.__table__,  # type: ignore[arg-type]
            [
                {
                    "contact_id": a.contact_id,
                    "owner_id": a.owner_id,
                    "team": a.team,
                    "at": a.at,
                    "reason": a.reason,
                    "run_id": run_id,
                }
                for a in owned
            ],
            keys=["contact_id", "at"],
        )
        for assignment in owned:
            conn.execute(
                update(Contact)
                .where(Contact.id == assignment.contact_id)
                .values(owner_id=assignment.owner_id)
            )

        kept = [
            m
            for m in messages
            if m.contact_id is None
            or (m.kind == "handoff" and m.contact_id in moved)
            or (m.kind != "handoff" and m.contact_id in hot_ids)
        ]
        enqueued = enqueue(conn, kept, run_id=run_id, now=now)
        quarantined = store_quarantine(conn, decisions.quarantined, run_id=run_id, now=now)
    return AppliedPromotions(
        transitions=applied.transitions,
        hot=hot,
        assigned=assigned,
        enqueued=enqueued,
        companies=len(applied.companies),
        quarantined=quarantined,
    )
