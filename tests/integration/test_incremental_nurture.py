"""An incremental nurture read decides exactly what a full read decides.

Before each hour's nurture is applied, the hour is decided twice on the same database:
from only the contacts whose decisions can have changed since the previous nurture run,
and from every contact. Enrollment moves, history, planned emails and suppressions must
be equal; then the hour is applied (reading incrementally, as production runs it), so
the next hour compares on what the incremental decisions left behind.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, update

from leadflow.db import ensure_database
from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from leadflow.timeutil import utc_now
from models.rules import load_rules
from models.tables import EmailSend, NurtureEnrollment, Outbox
from tasks.clock import Clock
from tasks.cycle import ALL_STEPS, CycleStep, run_cycle_hour
from tasks.nurture.apply import record_suppression
from tasks.nurture.decide import (
    NurtureDecisions,
    decide_nurture,
    email_id,
    validate_planned_emails,
)
from tasks.nurture.hour import FLOW_NAME, nurture_hour
from tasks.nurture.read import read_nurture_frames
from tasks.nurture.read_scope import FULL, nurture_scope
from tests.support.hours import hours_from, inside_one_flow
from tests.support.replay_world import (
    TWO_DAYS_END,
    TWO_DAYS_START,
    seed_nurture_progress,
    seed_two_days,
)
from tests.support.seeding import Seeder
from tests.support.settings import settings_for

pytestmark = pytest.mark.usefixtures("prefect_harness")

RULES = load_rules(DEFAULT_RULES_PATH)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
FIRST_HOUR = datetime(2026, 11, 16, 1, tzinfo=UTC)  # Monday 10:00 in Tokyo
DAY = timedelta(days=1)
BEFORE_NURTURE = {CycleStep.SCORING, CycleStep.PROMOTION, CycleStep.RECYCLING}


@dataclass
class Comparison:
    """What the hours compared: contacts read each way, and the decisions seen."""

    incremental_hours: int = 0
    full_contacts: int = 0
    incremental_contacts: int = 0
    moves: int = 0
    emails: int = 0
    entered: dict[int, tuple[datetime, str]] = field(default_factory=dict)
    exited: dict[int, tuple[datetime, str]] = field(default_factory=dict)
    sent: dict[int, datetime] = field(default_factory=dict)


def decide_hour(
    settings: Settings, as_of: datetime, *, full: bool
) -> tuple[int, bool, NurtureDecisions]:
    """Read (full or incremental) and decide one nurture hour without applying it."""
    with ensure_database(settings.database_url).connect() as conn:
        scope = FULL if full else nurture_scope(conn, flow=FLOW_NAME, rules=RULES, as_of=as_of)
        frames = read_nurture_frames(conn, rules=RULES, as_of=as_of, scope=scope)
    decisions = decide_nurture(
        frames,
        rules=RULES.nurture,
        thresholds=RULES.scoring.thresholds,
        as_of=as_of,
        business_timezone=settings.business_timezone,
    )
    checked = validate_planned_emails(
        decisions, locales=RULES.nurture.locales, max_bad_row_share=settings.max_bad_row_share
    )
    return len(frames.contacts), scope.full, checked


def compare_hour(settings: Settings, as_of: datetime, seen: Comparison) -> None:
    """Decide `as_of` both ways and assert the same decisions."""
    full_count, _, full = decide_hour(settings, as_of, full=True)
    count, was_full, incremental = decide_hour(settings, as_of, full=False)
    assert incremental == full, as_of
    if not was_full:
        seen.incremental_hours += 1
        seen.full_contacts += full_count
        seen.incremental_contacts += count
    seen.moves += len(full.enrollments)
    seen.emails += len(full.emails)
    for line in full.history:
        if line.action == "entered":
            program = line.enrollment_key.split(":")[0]
            seen.entered.setdefault(line.contact_id, (as_of, program))
        if line.action == "exited":
            seen.exited.setdefault(line.contact_id, (as_of, str(line.detail)))
        if line.action == "sent":
            seen.sent.setdefault(line.contact_id, as_of)


@inside_one_flow
def test_forty_eight_cycle_hours_decide_the_same_nurture_read_incrementally_or_in_full(
    database_url: str, settings: Settings
) -> None:
    seed_two_days(database_url)
    cycle_settings = settings_for(database_url, outbox_dir=settings.outbox_dir, slack_console=True)
    seen = Comparison()
    for hour in hours_from(TWO_DAYS_START, TWO_DAYS_END):
        run_cycle_hour(
            settings=cycle_settings,
            rules=RULES,
            as_of=hour,
            clock=Clock.SIMULATED,
            steps=BEFORE_NURTURE,
        )
        compare_hour(cycle_settings, hour, seen)
        outcome = run_cycle_hour(
            settings=cycle_settings,
            rules=RULES,
            as_of=hour,
            clock=Clock.SIMULATED,
            steps=set(ALL_STEPS) - BEFORE_NURTURE,
        )
        assert outcome.problems() == []

    # Every hour but the first read incrementally, fewer contacts than a full read, and
    # the comparison compared entries, sends, branches and exits.
    assert seen.incremental_hours == 47
    assert seen.incremental_contacts < seen.full_contacts
    assert len(seen.entered) >= 3 and seen.emails >= 5 and seen.exited


def seed_enrollment(
    engine: Engine, *, contact_id: int, program: str, entered_at: datetime, status: str
) -> None:
    """A finished enrollment of an earlier month."""
    with engine.begin() as conn:
        conn.execute(
            insert(NurtureEnrollment).values(
                enrollment_key=f"{program}:{contact_id}:{entered_at:%Y%m%dT%H%M%SZ}",
                contact_id=contact_id,
                program=program,
                step=None,
                status=status,
                entered_at=entered_at,
                next_step_at=None,
                last_sent_at=None,
                updated_at=entered_at,
            )
        )


def on_second_email(
    engine: Engine, contact_id: int, to: str, *, sent_at: datetime | None
) -> str:
    """A `new_lead` enrollment of ten days ago at `email_2`, which was queued an hour
    before the first hour: still waiting in the outbox (`sent_at` None), or sent at
    `sent_at`. Returns the email's id."""
    key = seed_nurture_progress(
        engine,
        contact_id=contact_id,
        program="new_lead",
        entered_at=FIRST_HOUR - 10 * DAY,
        sent={"email_1": FIRST_HOUR - 10 * DAY},
        step="email_2",
        next_step_at=FIRST_HOUR - HOUR,
        to=to,
    )
    mail = email_id(key, "email_2")
    with engine.begin() as conn:
        conn.execute(
            insert(EmailSend).values(
                email_id=mail,
                enrollment_key=key,
                contact_id=contact_id,
                program="new_lead",
                step="email_2",
                template="new_lead/email_2",
                locale="ja",
                queued_at=FIRST_HOUR - HOUR,
            )
        )
        conn.execute(
            insert(Outbox).values(
                idempotency_key=mail,
                channel="email",
                kind="nurture_email",
                contact_id=contact_id,
                status="pending" if sent_at is None else "sent",
                attempts=0 if sent_at is None else 1,
                not_before=FIRST_HOUR + 30 * DAY if sent_at is None else None,
                sent_at=sent_at,
                created_at=FIRST_HOUR - HOUR,
                payload={"email_id": mail},
            )
        )
    return mail


@inside_one_flow
def test_pauses_ending_cut_offs_passing_late_rows_and_exits_are_found_incrementally(
    engine: Engine, settings: Settings
) -> None:
    start = FIRST_HOUR
    w = Seeder(engine, created_at=start - 90 * DAY)
    people: dict[str, int] = {}

    def person(role: str, **columns: object) -> int:
        columns.setdefault("consent", True)
        columns.setdefault("lifecycle_stage", "lead")
        people[role] = w.contact(email=f"{role}@example.co.jp", **columns)  # type: ignore[arg-type]
        return people[role]

    for n in range(6):  # low scores, but not for 60 days yet: read in full, never enrolled
        w.score(contact_id=person(f"quiet{n}"), score=10 + n, at=start - 5 * DAY)
    # The 30-day pause after its last download mail ends at the fourth hour.
    paused = person("paused")
    w.score(contact_id=paused, score=50, at=start - 5 * DAY)
    seed_enrollment(
        engine,
        contact_id=paused,
        program="document_download",
        entered_at=start + 3 * HOUR - 30 * DAY,
        status="completed",
    )
    w.event(
        contact_id=paused, type="form_submit", detail="document_download", occurred_at=start - DAY
    )
    # Low since its only snapshot, which the 60-day cut-off passes at the fifth hour.
    w.score(contact_id=person("low"), score=20, at=start + 4 * HOUR - 60 * DAY)
    # Created "in the future": a new lead from the fourth hour on.
    person("future", created_at=start + 2 * HOUR + 30 * timedelta(minutes=1))
    # Enrolled and waiting: an unsubscribe, a reply and a promotion make them exit; one
    # comes due at the sixth hour.
    for role in ("unsubscribes", "replies", "promoted", "due"):
        contact = person(role, created_at=start - 10 * DAY)
        seed_nurture_progress(
            engine,
            contact_id=contact,
            program="new_lead",
            entered_at=start - 10 * DAY,
            sent={"email_1": start - 10 * DAY},
            step="email_2",
            next_step_at=start + 5 * HOUR + 15 * timedelta(minutes=1)
            if role == "due"
            else start + 10 * DAY,
            to=f"{role}@example.co.jp",
        )
    # Its second email queued an hour before the first and not delivered yet (the outbox
    # waits): due every hour, a walk that changes nothing, until it goes out at the sixth.
    waiting = person("waiting", created_at=start - 10 * DAY)
    waiting_mail = on_second_email(engine, waiting, "waiting@example.co.jp", sent_at=None)
    # Its second email went out at the fifth hour, but the hours before it are run after
    # that (a backfill): until then each sees it unsent and its walk changes nothing.
    delivered_later = person("delivered_later", created_at=start - 10 * DAY)
    on_second_email(
        engine,
        delivered_later,
        "delivered_later@example.co.jp",
        sent_at=start + 4 * HOUR + 20 * MINUTE,
    )
    # Without consent for now.
    granted = person("granted", created_at=start - DAY, consent=False)

    seen = Comparison()
    in_scope: list[bool] = []
    for step, hour in enumerate(hours_from(start, start + 7 * HOUR)):
        if step == 2:
            with engine.begin() as conn:
                record_suppression(
                    conn,
                    contact_id=people["unsubscribes"],
                    email="unsubscribes@example.co.jp",
                    reason="unsubscribed",
                    source="link",
                    detail=None,
                    at=hour - HOUR / 2,
                )
        if step == 3:
            w.activity(
                contact_id=people["replies"],
                type="email",
                outcome="replied",
                occurred_at=hour - HOUR / 2,
                ingested_at=utc_now(),
            )
        if step == 4:
            w.update_contact(people["promoted"], lifecycle_stage="mql")
            w.stage_change(
                contact_id=people["promoted"],
                from_stage="lead",
                to_stage="mql",
                at=hour - HOUR / 2,
                rule="mql_score",
            )
        if step == 5:
            with engine.begin() as conn:
                conn.execute(
                    update(Outbox)
                    .where(Outbox.idempotency_key == waiting_mail)
                    .values(status="sent", sent_at=hour - HOUR / 2)
                )
            # Imported: created two days ago, written now.
            person("imported", created_at=start - 2 * DAY, updated_at=utc_now())
        if step == 6:
            w.update_contact(granted, consent=True, updated_at=utc_now())
            # A webinar of yesterday, imported only now.
            late = person("late_event", created_at=start - 60 * DAY)
            w.event(
                contact_id=late,
                type="webinar_attended",
                detail="wb-9",
                occurred_at=start - DAY,
                ingested_at=utc_now(),
            )
        with engine.connect() as conn:
            scope = nurture_scope(conn, flow=FLOW_NAME, rules=RULES, as_of=hour)
        in_scope.append(delivered_later in (scope.contacts or []))
        compare_hour(settings, hour, seen)
        nurture_hour(settings=settings, rules=RULES, as_of=hour, clock=Clock.SIMULATED)

    assert in_scope == [False] * 5 + [True, False, False]
    assert seen.sent.get(delivered_later) == start + 5 * HOUR
    assert seen.incremental_hours == 7
    assert seen.incremental_contacts < seen.full_contacts
    entered = {
        role: seen.entered.get(people[role])
        for role in ("paused", "low", "future", "imported", "granted", "late_event")
    }
    assert entered == {
        "paused": (start + 3 * HOUR, "document_download"),
        "low": (start + 4 * HOUR, "low_score"),
        "future": (start + 3 * HOUR, "new_lead"),
        "imported": (start + 5 * HOUR, "new_lead"),
        "granted": (start + 6 * HOUR, "new_lead"),
        "late_event": (start + 6 * HOUR, "webinar"),
    }
    exited = {
        role: seen.exited.get(people[role]) for role in ("unsubscribes", "replies", "promoted")
    }
    assert exited == {
        "unsubscribes": (start + 2 * HOUR, "unsubscribed"),
        "replies": (start + 3 * HOUR, "replied"),
        "promoted": (start + 4 * HOUR, "stage_mql"),
    }
    assert seen.sent.get(waiting) == start + 5 * HOUR
    assert not any(people[f"quiet{n}"] in seen.entered for n in range(6))
