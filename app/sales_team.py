"""A simulated inside-sales team for the demo: reps call, email and decide on their leads.

Deterministic from a seed: each handed-off lead gets a profile — worked promptly, worked
late, unreachable, or ignored — and planned touches relative to its hand-off. Calling
`work_leads(window_start, window_end)` logs the touches planned inside that window
through the same wiring as `leadflow log-activity` / `leadflow set-status`, so SLA
clocks, escalations and recycling play out in the demo as they would with real reps.
Field sales then open deals for part of the SQL contacts and work them to won or lost,
synced daily through `leadflow import deals`'s wiring (`app.sales_deal_sync`).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from app.sales_deal_sync import DealSync, deal_line, deal_summary, sync_deals
from app.sales_deals import draw
from flows.common import resolve_rules
from models.deal_rules import DealRules
from models.enums import LeadStatus, Stage
from models.rules import Rules
from models.tables import (
    Contact,
    LeadStatusHistory,
    Owner,
    OwnerAssignment,
    SlaClock,
    SlaEscalation,
    StageHistory,
)
from tasks.sla.calendar import BusinessCalendar
from tasks.status.decide import InvalidStatusMove
from tasks.status.run import StatusInputError, log_activity, set_status

_WORKED = (Stage.MQL.value, Stage.SQL.value)
_DONE = {LeadStatus.SALES_READY.value, LeadStatus.RECYCLE.value, LeadStatus.UNQUALIFIED.value}


@dataclass(frozen=True)
class Touch:
    """A planned sales action `business_hours` after the hand-off: an activity, optionally
    followed by a status decision."""

    business_hours: int
    outcome: str
    decision: str | None = None


@dataclass
class SalesDay:
    """What the simulated reps did in one window: inside sales' touches and decisions,
    field sales' deal changes."""

    activities: int = 0
    decisions: int = 0
    deals: DealSync = field(default_factory=DealSync)



def plan_touches(seed: int, contact_id: int) -> list[Touch]:
    """The touches a rep makes on this lead after its hand-off (empty: ignored).

    Reps work business hours (a business day has 9): most call within the first hours,
    some only a day or two later, some never reach the lead, a few never try.
    """
    profile = draw(seed, contact_id, "profile")
    first = 1 + int(draw(seed, contact_id, "delay") * 6)
    if profile < 0.12:
        return []
    if profile < 0.30:
        return [Touch(first, "no_answer"), Touch(first + 9, "voicemail"),
                Touch(first + 18, "no_answer")]
    if profile < 0.45:
        first += 10 + int(draw(seed, contact_id, "late") * 12)
    decision = draw(seed, contact_id, "decision")
    final = (
        "sales_ready" if decision < 0.45 else "retry" if decision < 0.6
        else "unqualified" if decision < 0.75 else "recycle" if decision < 0.9 else None
    )
    decide_early = draw(seed, contact_id, "decide_early") < 0.7
    return [
        Touch(first, "connected"),
        Touch(first + 27, "connected", decision=final if decide_early else None),
        Touch(first + 63, "connected", decision=None if decide_early else final),
    ]


def work_leads(
    engine: Engine, *, rules: Rules, start: datetime, end: datetime, seed: int, tz: str
) -> SalesDay:
    """Log the touches and decisions planned in (start, end] for every handed-off lead,
    then import the deal changes of the daily CRM syncs in (start, end]."""
    done = SalesDay()
    calendar = BusinessCalendar(rules.calendar, tz)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Contact.id, Contact.email, Owner.email, StageHistory.to_stage,
                   StageHistory.at)
            .join(StageHistory, StageHistory.contact_id == Contact.id)
            .join(Owner, Owner.id == Contact.owner_id)
            .where(Contact.lifecycle_stage.in_(_WORKED), StageHistory.to_stage.in_(_WORKED))
            .order_by(Contact.id, StageHistory.at)
        ).all()
    # The hand-off: the latest entry into mql, else (a demo request) the entry into sql.
    latest: dict[int, tuple[str, str, datetime]] = {}
    for contact_id, email, owner_email, to_stage, at in rows:
        if to_stage == Stage.MQL.value or contact_id not in latest:
            latest[contact_id] = (email, owner_email, at)
    handoffs = [(cid, *values) for cid, values in latest.items()]
    for contact_id, email, owner_email, handed_off in handoffs:
        for touch in plan_touches(seed, contact_id):
            at = calendar.add_business_hours(handed_off, touch.business_hours)
            if not start < at <= end:
                continue
            try:
                log_activity(engine, rules=rules, email=email, type="call",
                             outcome=touch.outcome, at=at, now=end, owner_email=owner_email)
                done.activities += 1
                if touch.decision is not None:
                    _decide(engine, rules, email, touch.decision, at)
                    done.decisions += 1
            except (InvalidStatusMove, StatusInputError):
                continue
    done.deals = sync_deals(engine, rules=rules, start=start, end=end, seed=seed,
                            calendar=calendar)
    return done


def _decide(engine: Engine, rules: Rules, email: str, decision: str, at: datetime) -> None:
    with engine.connect() as conn:
        status = conn.execute(select(Contact.lead_status).where(Contact.email == email)).scalar()
    if status in _DONE:
        return
    set_status(
        engine, rules=rules, email=email, status=decision, at=at + timedelta(minutes=5),
        now=at + timedelta(minutes=5),
        reason="not a sales case yet" if decision == "recycle" else None,
        retry_at=at + timedelta(days=7) if decision == "retry" else None,
    )


def sales_summary(engine: Engine, deals: DealRules | None = None) -> dict[str, object]:
    """Lead statuses, SLA clocks, escalations, reassignments, recycles and deals after the
    demo (`deals`: the pipeline; default: the configured rules')."""
    with engine.connect() as conn:
        statuses = dict(
            conn.execute(
                select(Contact.lead_status, func.count())
                .where(Contact.lead_status.is_not(None))
                .group_by(Contact.lead_status)
            ).tuples().all()
        )
        clocks = {
            policy: (int(total), int(breached or 0))
            for policy, total, breached in conn.execute(
                select(SlaClock.policy, func.count(), func.count(SlaClock.breached_at))
                .group_by(SlaClock.policy)
            ).all()
        }
        escalations = int(
            conn.execute(select(func.count()).select_from(SlaEscalation)).scalar_one()
        )
        reassigned = int(
            conn.execute(
                select(func.count()).where(OwnerAssignment.reason.like("sla%"))
            ).scalar_one()
        )
        recycled = dict(
            conn.execute(
                select(LeadStatusHistory.reason, func.count())
                .where(LeadStatusHistory.to_status == LeadStatus.RECYCLE.value)
                .group_by(LeadStatusHistory.reason)
            ).tuples().all()
        )
        breached = conn.execute(
            select(Contact.email)
            .join(SlaClock, SlaClock.contact_id == Contact.id)
            .where(SlaClock.level > 0)
            # The lead that went furthest up a ladder (a reassignment, a manager told).
            .order_by(SlaClock.level.desc(), SlaClock.started_at.desc())
            .limit(1)
        ).scalar_one_or_none()
    return {
        "statuses": {str(k): int(v) for k, v in statuses.items()},
        "clocks": clocks,
        "escalations": escalations,
        "reassigned": reassigned,
        "recycled": {str(k or "recycle"): int(v) for k, v in recycled.items()},
        "escalated_contact": breached,
        "deals": deal_summary(engine, deals or resolve_rules(None).deals),
    }


def sales_lines(summary: dict[str, object]) -> list[str]:
    """The demo's lines about sales follow-up: statuses, SLA clocks, escalations, recycles."""
    statuses: dict[str, int] = summary["statuses"]  # type: ignore[assignment]
    clocks: dict[str, tuple[int, int]] = summary["clocks"]  # type: ignore[assignment]
    recycled: dict[str, int] = summary["recycled"]  # type: ignore[assignment]
    lines = [
        "  lead statuses: "
        + (", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) or "none"),
        "  SLA clocks (breached / all): "
        + (", ".join(f"{p} {b}/{t}" for p, (t, b) in sorted(clocks.items())) or "none"),
        f"  SLA escalations: {summary['escalations']} levels fired, "
        f"{summary['reassigned']} leads reassigned for a missed first touch",
    ]
    if recycled:
        lines.append(
            "  recycled to marketing: "
            + ", ".join(f"{reason} {count}" for reason, count in sorted(recycled.items()))
        )
    if "deals" in summary:
        lines.append(deal_line(summary["deals"]))  # type: ignore[arg-type]
    return lines
