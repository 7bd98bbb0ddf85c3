"""SQLAlchemy 2 tables. Timestamps are timezone-aware and stored in UTC."""

from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from models.breakdowns import Breakdown, expand_breakdown, is_compact


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored in UTC and always returned timezone-aware.

    SQLite has no time zone support, so values are stored as naive UTC there; the
    fixed-width text form keeps string comparison in SQL equal to time order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: leadflow stores only aware instants")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class BreakdownJSON(TypeDecorator[Any]):
    """A snapshot's breakdown: stores a decided `Breakdown` compactly and a plain mapping as
    it is, and always reads back the full breakdown, whichever form the row holds."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, Breakdown):
            return orjson.loads(value.text)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return expand_breakdown(value) if is_compact(value) else value


class Base(DeclarativeBase):
    """Declarative base for every leadflow table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Company(Base):
    """An account; its stage is the most advanced stage of its contacts."""

    __tablename__ = "companies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    industry: Mapped[str | None] = mapped_column(String(100))
    employee_count: Mapped[int | None] = mapped_column(Integer)
    region: Mapped[str | None] = mapped_column(String(100))
    lifecycle_stage: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Owner(Base):
    """A person who works leads: inside sales, field sales, customer success or marketing."""

    __tablename__ = "owners"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    team: Mapped[str] = mapped_column(String(20))
    manager_email: Mapped[str | None] = mapped_column(String(255))
    slack_user_id: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Contact(Base):
    """A person at a company; carries the lifecycle stage and the latest score."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    hubspot_id: Mapped[str | None] = mapped_column(String(40))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    job_title: Mapped[str | None] = mapped_column(String(255))
    industry: Mapped[str | None] = mapped_column(String(100))
    employee_count: Mapped[int | None] = mapped_column(Integer)
    region: Mapped[str | None] = mapped_column(String(100))
    lead_source: Mapped[str | None] = mapped_column(String(100))
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str | None] = mapped_column(String(64))
    lifecycle_stage: Mapped[str] = mapped_column(String(40), default="lead")
    lead_status: Mapped[str | None] = mapped_column(String(40))
    # The lifecycle stage and lead status as a HubSpot file gave them ("Trial", "In
    # Progress") and the leadflow value each was imported as (`_as`). While the contact's
    # stage or status still equals its `_as`, `export --hubspot` writes HubSpot's own value
    # back, so a custom stage or a status leadflow folds into one (IN_PROGRESS and
    # CONNECTED → connected) is not changed by a round trip.
    hubspot_lifecycle_stage: Mapped[str | None] = mapped_column(String(100))
    hubspot_lifecycle_stage_as: Mapped[str | None] = mapped_column(String(40))
    hubspot_lead_status: Mapped[str | None] = mapped_column(String(100))
    hubspot_lead_status_as: Mapped[str | None] = mapped_column(String(40))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id"), index=True)
    engagement_score: Mapped[int | None] = mapped_column(Integer)
    fit_score: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[int | None] = mapped_column(Integer)
    scored_at: Mapped[datetime | None]
    # Set when the contact is first marked a hot lead for field sales; cleared on recycle.
    hot_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # Bumped whenever an attribute that feeds scoring changes: the rescoring watermark.
    updated_at: Mapped[datetime] = mapped_column(index=True)


class Event(Base):
    """Append-only behaviour ledger; `source_event_id` makes re-imports add nothing."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source_event_id: Mapped[str] = mapped_column(String(120), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    type: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(255))
    occurred_at: Mapped[datetime]
    ingested_at: Mapped[datetime]
    __table_args__ = (
        Index("ix_events_contact_occurred", "contact_id", "occurred_at"),
        Index("ix_events_contact_type_detail_occurred", "contact_id", "type", "detail",
              "occurred_at"),
        Index("ix_events_occurred", "occurred_at"),
        Index("ix_events_ingested", "ingested_at"),
    )


class Activity(Base):
    """A sales touch (call, email, meeting) and its outcome."""

    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_activity_id: Mapped[str] = mapped_column(String(120), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id"))
    type: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
    ingested_at: Mapped[datetime]


class Deal(Base):
    """A deal in the pipeline, with buyer-action stage and won/lost outcome."""

    __tablename__ = "deals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_deal_id: Mapped[str] = mapped_column(String(120), unique=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    stage: Mapped[str] = mapped_column(String(60))
    amount: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    lost_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class DealStageHistory(Base):
    """One deal-stage change seen by an import: from, to, when, which run.

    `at` is the import's instant, or the deal's `closed_at` for a won/lost outcome; the
    first import of a deal records its initial stage (from_stage empty). Dwell per stage
    is the time between consecutive rows of a deal.
    """

    __tablename__ = "deal_stage_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(60))
    to_stage: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime]
    run_id: Mapped[str | None] = mapped_column(String(36))
    __table_args__ = (
        UniqueConstraint("deal_id", "to_stage", "at", name="uq_deal_stage_history"),
    )


class ScoreSnapshot(Base):
    """A contact's score at one `as_of`, with the breakdown that explains it."""

    __tablename__ = "score_snapshots"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    as_of: Mapped[datetime]
    engagement_score: Mapped[int] = mapped_column(Integer)
    fit_score: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    # New rows hold the compact form, older ones the full form; both read back in full.
    breakdown: Mapped[dict[str, Any]] = mapped_column(BreakdownJSON)
    rules_hash: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(36))
    __table_args__ = (
        UniqueConstraint("contact_id", "as_of", name="uq_score_snapshots_contact_as_of"),
        Index("ix_score_snapshots_as_of", "as_of"),
    )


class StageHistory(Base):
    """One lifecycle transition: from, to, when, which rule, which run."""

    __tablename__ = "stage_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(40))
    to_stage: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]
    rule: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), default="forward")
    reason: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(36))
    __table_args__ = (
        UniqueConstraint("contact_id", "to_stage", "at", name="uq_stage_history_contact_to_at"),
    )


class Quarantine(Base):
    """A rejected input row: where it came from, which field, and why."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(500))
    row_number: Mapped[int] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(120))
    value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime]
    __table_args__ = (
        UniqueConstraint("source", "row_number", "field", "reason", name="uq_quarantine_row"),
    )


class Run(Base):
    """One flow run's ledger row: what it read, decided and applied."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    flow: Mapped[str] = mapped_column(String(60))
    as_of: Mapped[datetime]
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    rules_hash: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    __table_args__ = (Index("ix_runs_flow_as_of", "flow", "as_of"),)


class Outbox(Base):
    """Side effects (Slack, email) waiting for the dispatcher; the key makes sends unique.

    status: pending → sending (handed to the sender) → sent, or failed with `last_error`.
    """

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(60))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    not_before: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    run_id: Mapped[str | None] = mapped_column(String(36))
    # The dispatcher holding the row's claim: only it may start, mark or release a send.
    claimed_by: Mapped[str | None] = mapped_column(String(36))
    # Wall-clock start of the first and of the latest send attempt; a Slack check for an
    # in-doubt message reads the channel's history from the first one on.
    first_attempt_at: Mapped[datetime | None]
    attempt_started_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_outbox_status", "status", "channel"),)


class OwnerAssignment(Base):
    """An owner given to a contact: the history that makes round-robin deterministic."""

    __tablename__ = "owner_assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    team: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(120))
    run_id: Mapped[str | None] = mapped_column(String(36))
    __table_args__ = (
        UniqueConstraint("contact_id", "at", name="uq_owner_assignments_contact_at"),
        Index("ix_owner_assignments_team_at", "team", "at"),
    )


class NurtureEnrollment(Base):
    """A contact's run through one nurture program: the step it waits on and since when.

    `enrollment_key` (program, contact, entry hour) is the natural key that makes email
    idempotency keys deterministic before the row exists.
    """

    __tablename__ = "nurture_enrollments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_key: Mapped[str] = mapped_column(String(160), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    program: Mapped[str] = mapped_column(String(60))
    step: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default="active")
    entered_at: Mapped[datetime]
    next_step_at: Mapped[datetime | None]
    last_sent_at: Mapped[datetime | None]
    exit_reason: Mapped[str | None] = mapped_column(String(60))
    updated_at: Mapped[datetime]
    run_id: Mapped[str | None] = mapped_column(String(36))
    __table_args__ = (
        Index("ix_nurture_enrollments_status_due", "status", "next_step_at"),
        Index("ix_nurture_enrollments_contact_program", "contact_id", "program"),
    )


class NurtureHistory(Base):
    """What happened to an enrollment and when: entered, sent, held, branched, exited."""

    __tablename__ = "nurture_history"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    enrollment_key: Mapped[str] = mapped_column(String(160), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(20))
    step: Mapped[str | None] = mapped_column(String(60))
    detail: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(36))
    __table_args__ = (
        UniqueConstraint("enrollment_key", "action", "step", "at", name="uq_nurture_history"),
        # NULL steps are distinct under the constraint above; this index is not.
        Index(
            "uq_nurture_history_step_or_empty",
            "enrollment_key",
            "action",
            text("coalesce(step, '')"),
            "at",
            unique=True,
        ),
    )


class EmailSend(Base):
    """One marketing email decided for a contact; its delivery state is its outbox row.

    `email_id` is the outbox idempotency key and the `detail` of its open/click events.
    """

    __tablename__ = "email_sends"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email_id: Mapped[str] = mapped_column(String(255), unique=True)
    enrollment_key: Mapped[str] = mapped_column(String(160), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    program: Mapped[str] = mapped_column(String(60))
    step: Mapped[str] = mapped_column(String(60))
    template: Mapped[str] = mapped_column(String(120))
    locale: Mapped[str] = mapped_column(String(8))
    queued_at: Mapped[datetime]
    run_id: Mapped[str | None] = mapped_column(String(36))
    __table_args__ = (Index("ix_email_sends_contact_queued", "contact_id", "queued_at"),)


class EmailSuppression(Base):
    """A contact that must not get marketing email: unsubscribed or hard-bounced."""

    __tablename__ = "email_suppressions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    email: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    __table_args__ = (
        UniqueConstraint("contact_id", "reason", name="uq_email_suppressions_contact_reason"),
    )


class ErasureSalt(Base):
    """The one salt of erasure hashes, created at the first erasure and never changed.

    It lives in the database, not in settings: a changed setting would silently stop
    every earlier suppression from matching.
    """

    __tablename__ = "erasure_salt"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Erasure(Base):
    """One erased person: a salted hash of the address and what was removed, no personal data.

    The hash is also the suppression: an import of the same address takes no consent.
    """

    __tablename__ = "erasures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    email_hash: Mapped[str] = mapped_column(String(64), index=True)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    run_id: Mapped[str | None] = mapped_column(String(36))


class LeadStatusHistory(Base):
    """One lead-status change: from, to, when, why, and what caused it.

    `source` is activity, cli, import, promotion or recycling; `retry_at` is the
    re-approach date of a move to `retry`. The KPI report reads this table.
    """

    __tablename__ = "lead_status_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(40))
    to_status: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    retry_at: Mapped[datetime | None]
    run_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime]
    __table_args__ = (
        UniqueConstraint("contact_id", "to_status", "at", name="uq_lead_status_history"),
    )


class SlaClock(Base):
    """One SLA policy's clock for a contact's MQL cycle (the n-th hand-off of the contact).

    `level` is the highest ladder level fired so far (0: none). `closed_at`: the cycle
    ended before the stop condition was met (then `satisfied_at` stays empty).
    """

    __tablename__ = "sla_clocks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    cycle: Mapped[int] = mapped_column(Integer)
    policy: Mapped[str] = mapped_column(String(60))
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    satisfied_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    level: Mapped[int] = mapped_column(Integer, default=0)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id"))
    updated_at: Mapped[datetime]
    run_id: Mapped[str | None] = mapped_column(String(36))
    __table_args__ = (
        UniqueConstraint("contact_id", "cycle", "policy", name="uq_sla_clocks_contact_cycle"),
        Index("ix_sla_clocks_open", "satisfied_at", "due_at"),
    )


class SlaEscalation(Base):
    """One ladder level fired for a clock; (contact, cycle, policy, level) fires once."""

    __tablename__ = "sla_escalations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("sla_clocks.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    cycle: Mapped[int] = mapped_column(Integer)
    policy: Mapped[str] = mapped_column(String(60))
    level: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id"))
    detail: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(36))
    __table_args__ = (
        UniqueConstraint("contact_id", "cycle", "policy", "level", name="uq_sla_escalations"),
    )


class FollowUpTask(Base):
    """A follow-up touch sales owes after a hand-off (day 0, 3, 7 in business days)."""

    __tablename__ = "follow_up_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    cycle: Mapped[int] = mapped_column(Integer)
    day: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id"))
    created_at: Mapped[datetime]
    run_id: Mapped[str | None] = mapped_column(String(36))
    __table_args__ = (
        UniqueConstraint("contact_id", "cycle", "day", name="uq_follow_up_tasks"),
    )


class ConsentHistory(Base):
    """One change of a contact's marketing consent: from, to, when, what caused it, and the
    evidence — for an import the file, line and the option or column that decided it
    (`contacts.csv:12 --consent-from 'Marketing contact status=Marketing contact'`).

    `consent_from` is empty for a contact created with consent. An import writes its rows
    in the transaction that changes `contacts.consent`; erasure deletes them.
    """

    __tablename__ = "consent_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    consent_from: Mapped[bool | None] = mapped_column(Boolean)
    consent_to: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(20))
    evidence: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(36))
    __table_args__ = (
        UniqueConstraint("contact_id", "source", "changed_at", name="uq_consent_history"),
    )
