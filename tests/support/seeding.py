"""One seeder for every test: rows written straight into the tables, ids returned.

Every method takes keyword arguments only and returns the new row's id, so a test reads
as the world it sets up: `seed.contact(email="a@example.com", job_title="部長")`,
`seed.event(contact_id=a, type="page_view", detail="pricing", occurred_at=...)`.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, update

from models.tables import (
    Activity,
    Company,
    Contact,
    Deal,
    DealStageHistory,
    Event,
    FollowUpTask,
    LeadStatusHistory,
    Owner,
    OwnerAssignment,
    Run,
    ScoreSnapshot,
    SlaClock,
    StageHistory,
)

DEFAULT_CREATED_AT = datetime(2026, 1, 1, tzinfo=UTC)


class Seeder:
    """Writes companies, owners, contacts, events, activities, scores and runs for a test.

    `created_at` is when seeded companies, owners and contacts were created unless a call
    says otherwise.
    """

    def __init__(self, engine: Engine, *, created_at: datetime = DEFAULT_CREATED_AT) -> None:
        self.engine = engine
        self.created_at = created_at
        self._seq = 0

    def _insert(self, table: Any, **values: Any) -> int:
        """Insert one row into `table` in its own transaction and return its id."""
        with self.engine.begin() as conn:
            return int(
                conn.execute(insert(table).values(**values).returning(table.id)).scalar_one()
            )

    def _next(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}-{self._seq}"

    def company(
        self,
        *,
        domain: str,
        name: str | None = None,
        created_at: datetime | None = None,
        **columns: Any,
    ) -> int:
        """Insert a company and return its id."""
        when = created_at or self.created_at
        return self._insert(
            Company, domain=domain, name=name, created_at=when, updated_at=when, **columns
        )

    def owner(
        self,
        *,
        email: str,
        team: str = "is",
        name: str | None = None,
        weight: float = 1.0,
        active: bool = True,
        slack_user_id: str | None = None,
        created_at: datetime | None = None,
    ) -> int:
        """Insert a sales owner (named after the mailbox unless `name` is given); return its id."""
        when = created_at or self.created_at
        return self._insert(
            Owner,
            email=email,
            name=name or email.split("@")[0],
            team=team,
            weight=weight,
            active=active,
            slack_user_id=slack_user_id,
            created_at=when,
            updated_at=when,
        )

    def contact(
        self,
        *,
        email: str,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
        **columns: Any,
    ) -> int:
        """Insert a contact with any `Contact` columns (consent, stage, ...); return its id."""
        when = created_at or self.created_at
        return self._insert(
            Contact, email=email, created_at=when, updated_at=updated_at or when, **columns
        )

    def contacts(
        self, *, emails: Sequence[str], created_at: datetime | None = None, **columns: Any
    ) -> list[int]:
        """Insert many contacts sharing the same columns in one statement; return their ids."""
        when = created_at or self.created_at
        rows = [
            {"email": email, "created_at": when, "updated_at": when, **columns} for email in emails
        ]
        with self.engine.begin() as conn:
            conn.execute(insert(Contact), rows)
            ids = conn.execute(
                Contact.__table__.select()
                .with_only_columns(Contact.id)
                .where(Contact.email.in_(list(emails)))
                .order_by(Contact.id)
            ).scalars()
            return [int(i) for i in ids]

    def update_contact(self, contact_id: int, **columns: Any) -> None:
        """Change columns of a contact, as another system would."""
        with self.engine.begin() as conn:
            conn.execute(update(Contact).where(Contact.id == contact_id).values(**columns))

    def event(
        self,
        *,
        contact_id: int,
        type: str,
        detail: str | None = None,
        occurred_at: datetime,
        ingested_at: datetime | None = None,
        source_event_id: str | None = None,
    ) -> int:
        """Append one event to the ledger (ingested when it occurred unless told); return its id."""
        return self._insert(
            Event,
            source_event_id=source_event_id or self._next(f"ev-{contact_id}"),
            contact_id=contact_id,
            type=type,
            detail=detail,
            occurred_at=occurred_at,
            ingested_at=ingested_at or occurred_at,
        )

    def activity(
        self,
        *,
        contact_id: int,
        type: str,
        outcome: str | None = None,
        occurred_at: datetime,
        ingested_at: datetime | None = None,
    ) -> int:
        """Record a sales activity (call, meeting, ...) on a contact; return its id."""
        return self._insert(
            Activity,
            source_activity_id=self._next(f"act-{contact_id}"),
            contact_id=contact_id,
            type=type,
            outcome=outcome,
            occurred_at=occurred_at,
            ingested_at=ingested_at or occurred_at,
        )

    def snapshot(
        self,
        *,
        contact_id: int,
        score: int,
        as_of: datetime,
        fit_score: int = 0,
        breakdown: dict[str, Any] | None = None,
    ) -> int:
        """Write a score snapshot only (the contact's current score is left alone)."""
        return self._insert(
            ScoreSnapshot,
            contact_id=contact_id,
            as_of=as_of,
            engagement_score=score - fit_score,
            fit_score=fit_score,
            score=score,
            rules_hash="test",
            run_id="scoring",
            breakdown=breakdown if breakdown is not None else {},
        )

    def score(
        self,
        *,
        contact_id: int,
        score: int,
        at: datetime,
        signals: list[dict[str, Any]] | None = None,
    ) -> int:
        """Score a contact as a scoring run would: a snapshot with its signals + current score."""
        snapshot_id = self.snapshot(
            contact_id=contact_id,
            score=score,
            as_of=at,
            breakdown={
                "signals": signals
                or [{"name": "pricing_page", "group": "behaviour", "points": score, "units": 1}]
            },
        )
        self.update_contact(contact_id, score=score, scored_at=at)
        return snapshot_id

    def stage_change(
        self,
        *,
        contact_id: int,
        from_stage: str | None,
        to_stage: str,
        at: datetime,
        rule: str,
        kind: str = "forward",
        run_id: str | None = None,
    ) -> int:
        """Record a lifecycle stage change in the history (the contact row is not touched)."""
        return self._insert(
            StageHistory,
            contact_id=contact_id,
            from_stage=from_stage,
            to_stage=to_stage,
            at=at,
            rule=rule,
            kind=kind,
            run_id=run_id,
        )

    def deal(
        self,
        *,
        contact_id: int | None,
        stage: str,
        closed_at: datetime | None = None,
        lost_reason: str | None = None,
        name: str | None = None,
        company_id: int | None = None,
        created_at: datetime | None = None,
        amount: float | None = None,
    ) -> int:
        """Insert a deal at `stage` (e.g. closedlost, closed at `closed_at`); return its id."""
        when = created_at or self.created_at
        return self._insert(
            Deal,
            source_deal_id=self._next("deal"),
            contact_id=contact_id,
            company_id=company_id,
            name=name or "deal",
            stage=stage,
            closed_at=closed_at,
            lost_reason=lost_reason,
            amount=amount,
            created_at=when,
            updated_at=closed_at or when,
        )

    def lead_status_change(
        self,
        *,
        contact_id: int,
        from_status: str | None,
        to_status: str,
        at: datetime,
        source: str = "cli",
        reason: str | None = None,
        retry_at: datetime | None = None,
    ) -> int:
        """Record a lead-status change in the history and set the contact's status to it."""
        self.update_contact(contact_id, lead_status=to_status)
        return self._insert(
            LeadStatusHistory,
            contact_id=contact_id,
            from_status=from_status,
            to_status=to_status,
            at=at,
            reason=reason,
            source=source,
            retry_at=retry_at,
            created_at=at,
        )

    def assignment(
        self, *, contact_id: int, owner_id: int, at: datetime, team: str = "is",
        reason: str = "test",
    ) -> int:
        """Give the contact an owner as promotion would: an assignment row + its owner_id."""
        self.update_contact(contact_id, owner_id=owner_id)
        return self._insert(
            OwnerAssignment, contact_id=contact_id, owner_id=owner_id, team=team, at=at,
            reason=reason,
        )

    def owner_manager(self, owner_id: int, manager_email: str) -> None:
        """Set an owner's manager (the SLA's escalation address)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(Owner).where(Owner.id == owner_id).values(manager_email=manager_email)
            )

    def run_started_at(self, run_id: str, started_at: datetime) -> None:
        """Move when a recorded run started (e.g. to place a late import after it)."""
        with self.engine.begin() as conn:
            conn.execute(update(Run).where(Run.id == run_id).values(started_at=started_at))

    def deal_stage_change(
        self, *, deal_id: int, from_stage: str | None, to_stage: str, at: datetime
    ) -> int:
        """Record a deal-stage change in the deal's history (the deal row is not touched)."""
        return self._insert(
            DealStageHistory, deal_id=deal_id, from_stage=from_stage, to_stage=to_stage, at=at
        )

    def sla_clock(
        self,
        *,
        contact_id: int,
        policy: str,
        started_at: datetime,
        due_at: datetime,
        cycle: int = 1,
        satisfied_at: datetime | None = None,
        closed_at: datetime | None = None,
    ) -> int:
        """Write an SLA clock as the SLA flow would have left it; return its id."""
        return self._insert(
            SlaClock, contact_id=contact_id, cycle=cycle, policy=policy, started_at=started_at,
            due_at=due_at, satisfied_at=satisfied_at, closed_at=closed_at,
            updated_at=satisfied_at or closed_at or started_at,
        )

    def follow_up_task(
        self,
        *,
        contact_id: int,
        due_at: datetime,
        owner_id: int | None = None,
        done_at: datetime | None = None,
        day: int = 0,
        cycle: int = 1,
    ) -> int:
        """Write a follow-up task owed after a hand-off (done when `done_at` is set)."""
        return self._insert(
            FollowUpTask, contact_id=contact_id, cycle=cycle, day=day, due_at=due_at,
            done_at=done_at, owner_id=owner_id, created_at=due_at,
        )
