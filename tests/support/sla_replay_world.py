"""A sales week for replaying SLA and recycling hours: seeded once, then walked hour by
hour while some facts arrive late.

`seed_sla_week` hands leads to sales at awkward instants from Monday 16 to Tuesday 24
November 2026 in Tokyo (before opening, at and after close, on a Saturday, on the
Labour Thanksgiving holiday of Monday 23), with owners or none, touches before and after
their deadlines, status moves, unreachable calls that recycle a lead, a lost deal, a
retry date and leads whose score makes them MQLs inside the week. Much of it is dated
inside the replayed hours, as a replay of history loaded in advance would be.
`write_late_facts` writes, at given steps of the replay, facts dated before the hour
already decided (a touch logged late, an import of stage history, a late assignment):
only what was written since the previous run tells an incremental read about them.
`SLA_WEEK_HOURS`: hourly on Friday and Tuesday, every eight hours over the long weekend.
"""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from leadflow.timeutil import utc_now
from models.rules import Rules
from models.tables import Owner
from tasks.status.run import log_activity, set_status
from tests.support.hours import hours_from
from tests.support.replay_world import owners, tokyo
from tests.support.seeding import Seeder

HOUR = timedelta(hours=1)
CREATED = datetime(2026, 10, 1, tzinfo=UTC)


def _week_hours() -> Iterator[datetime]:
    yield from hours_from(tokyo(20, 8), tokyo(20, 20))
    yield from hours_from(tokyo(21, 4), tokyo(23, 20), step=8 * HOUR)
    yield from hours_from(tokyo(24, 8), tokyo(24, 19))


SLA_WEEK_HOURS = list(_week_hours())

# Hand-offs to sales: (day, hour, minute) in Tokyo, owner role (None: nobody), and what
# sales does about it, as (kind, hours after the hand-off, detail).
HANDOFFS: list[tuple[tuple[int, int, int], str | None, list[tuple[str, float, str]]]] = [
    ((16, 8, 30), "is", []),
    ((16, 17, 55), "is", [("call", 30, "connected")]),
    ((17, 10, 15), "is2", [("call", 2, "no_answer"), ("status", 2.5, "attempting")]),
    ((17, 19, 30), None, []),
    (
        (18, 9, 0),
        "is",
        [("call", 1, "connected"), ("status", 1.5, "connected"), ("call", 50, "connected")],
    ),
    ((18, 13, 40), "is2", [("status", 80, "sales_ready")]),
    (
        (19, 11, 20),
        "is",
        [("call", 20, "connected"), ("call", 70, "connected"), ("call", 100, "connected")],
    ),
    (
        (19, 18, 0),
        "is2",
        [("call", 3, "no_answer"), ("call", 18, "voicemail"), ("call", 26, "no_answer")],
    ),
    ((20, 7, 45), "is", [("call", 28, "no_answer")]),
    ((20, 16, 10), None, [("status", 4, "connected")]),
    ((20, 18, 30), "is2", [("call", 75, "connected"), ("status", 76, "retry")]),
    ((21, 11, 0), "is", []),
    ((22, 14, 0), "is2", [("call", 48, "connected")]),
    ((23, 10, 0), "is", []),
    ((24, 9, 30), "is2", [("call", 5, "connected")]),
    ((12, 15, 0), "is", [("call", 1, "connected"), ("call", 30, "connected")]),
]


def seed_sla_week(engine: Engine) -> dict[str, int]:
    """The week's world; returns contact ids by role (`h0`… for HANDOFFS, `promoted`,
    `lost`, `unowned_late`)."""
    seed = Seeder(engine, created_at=CREATED)
    owner = owners(seed)
    people: dict[str, int] = {}
    for number, ((day, hour, minute), role, work) in enumerate(HANDOFFS):
        at = tokyo(day, hour, minute)
        contact = seed.contact(
            email=f"h{number}@example.co.jp",
            last_name=f"h{number}",
            first_name="様",
            lifecycle_stage="mql",
            lead_source="webinar" if number % 2 else None,
        )
        people[f"h{number}"] = contact
        seed.stage_change(
            contact_id=contact, from_stage="lead", to_stage="mql", at=at, rule="mql_score"
        )
        seed.lead_status_change(
            contact_id=contact, from_status=None, to_status="new", at=at, source="promotion"
        )
        if role is not None:
            seed.assignment(contact_id=contact, owner_id=owner[role], at=at)
        status = "new"
        for kind, after, detail in work:
            when = at + after * HOUR
            if kind == "call":
                seed.activity(contact_id=contact, type="call", outcome=detail, occurred_at=when)
            else:
                seed.lead_status_change(
                    contact_id=contact,
                    from_status=status,
                    to_status=detail,
                    at=when,
                    retry_at=when + 20 * HOUR if detail == "retry" else None,
                )
                status = detail
    # Scores that make two leads MQLs inside the week: promotion hands them off then.
    for role, day, hour in (("promoted", 20, 10), ("promoted_tuesday", 24, 11)):
        people[role] = seed.contact(
            email=f"{role}@example.co.jp", lifecycle_stage="lead", job_title="部長"
        )
        seed.score(contact_id=people[role], score=64, at=tokyo(day, hour, 20))
    people["lost"] = seed.contact(
        email="lost@example.co.jp", lifecycle_stage="opportunity", owner_id=owner["fs"]
    )
    seed.stage_change(
        contact_id=people["lost"],
        from_stage="sql",
        to_stage="opportunity",
        at=tokyo(10, 10),
        rule="deal",
    )
    seed.deal(
        contact_id=people["lost"], stage="lost", closed_at=tokyo(20, 9, 30), lost_reason="予算"
    )
    return people


def write_late_facts(
    engine: Engine,
    rules: Rules,
    *,
    step: int,
    hour: datetime,
    previous: datetime | None,
    people: dict[str, int],
) -> None:
    """Before deciding `hour` (step `step` of SLA_WEEK_HOURS), write what arrives late."""
    seed = Seeder(engine, created_at=CREATED)
    now = utc_now()
    if step == 3 and previous is not None:
        # A first call made before the previous hour, logged only now.
        log_activity(
            engine,
            rules=rules,
            email="h0@example.co.jp",
            type="call",
            outcome="connected",
            at=previous - 2 * HOUR,
            now=now,
        )
    if step == 5:
        set_status(
            engine,
            rules=rules,
            email="h2@example.co.jp",
            status="connected",
            at=hour - HOUR / 2,
            now=now,
        )
    if step == 8 and previous is not None:
        # An import of HubSpot history: h3 moved to sql five hours ago (no run records it).
        seed.stage_change(
            contact_id=people["h3"],
            from_stage="mql",
            to_stage="sql",
            at=previous - 5 * HOUR,
            rule="import",
            kind="import",
            run_id=str(uuid.uuid4()),
        )
    if step == 10 and previous is not None:
        # Somebody finally owns the lead nobody owned; recorded three hours late.
        seed.assignment(
            contact_id=people["h9"],
            owner_id=_owner(engine, "is2@example.com"),
            at=previous - 3 * HOUR,
        )
    if step == 12:
        set_status(
            engine,
            rules=rules,
            email="h1@example.co.jp",
            status="recycle",
            at=hour - HOUR / 6,
            now=now,
            reason="not now",
        )
    if step == 15 and previous is not None:
        # h1 comes back to sales (an imported move): its second cycle.
        seed.stage_change(
            contact_id=people["h1"],
            from_stage="lead",
            to_stage="mql",
            at=previous - HOUR / 3,
            rule="import",
            kind="import",
            run_id=str(uuid.uuid4()),
        )
    if step == len(SLA_WEEK_HOURS) - 8 and previous is not None:
        for name in ("h11", "h13"):
            log_activity(
                engine,
                rules=rules,
                email=f"{name}@example.co.jp",
                type="email",
                outcome="replied",
                at=previous - HOUR / 2,
                now=now,
            )


def _owner(engine: Engine, email: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(Owner.id).where(Owner.email == email)).scalar_one())
