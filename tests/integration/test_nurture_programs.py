"""Every shipped program's trigger, read from real SQLite and PostgreSQL and run for real."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from app.tracking import create_app
from leadflow.email_render import TrackingLinks
from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from models.rules import load_rules
from models.tables import EmailSend, NurtureEnrollment
from tasks.clock import Clock
from tasks.nurture.hour import nurture_hour
from tasks.nurture.report import NurtureOutcome
from tests.support.hours import hours_from, inside_one_flow, run_hours
from tests.support.seeding import Seeder
from tests.support.settings import settings_for

pytestmark = pytest.mark.usefixtures("prefect_harness")

RULES = load_rules(DEFAULT_RULES_PATH)
AS_OF = datetime(2026, 12, 8, 2, tzinfo=UTC)  # Tuesday 11:00 in Tokyo
OLD = AS_OF - timedelta(days=300)
HOUR = timedelta(hours=1)


def program_settings(database_url: str, tmp_path: Path) -> Settings:
    return settings_for(
        database_url,
        signing_secret="programs-secret",
        public_base_url="https://t.example.test",
        outbox_dir=tmp_path / "outbox",
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return program_settings(database_url, tmp_path)


@pytest.fixture
def sqlite_settings(sqlite_database_url: str, tmp_path: Path) -> Settings:
    return program_settings(sqlite_database_url, tmp_path)


def add(seed: Seeder, email: str, *, created_at: datetime = OLD, **columns: object) -> int:
    """A consenting lead, created long ago unless told otherwise."""
    values: dict[str, object] = {"consent": True, "lifecycle_stage": "lead", **columns}
    return seed.contact(email=email, created_at=created_at, **values)


def hour(settings: Settings, as_of: datetime = AS_OF) -> NurtureOutcome:
    """One nurture hour as the scheduler runs it, with sends stamped at the hour itself."""
    return nurture_hour(settings=settings, rules=RULES, as_of=as_of, clock=Clock.SIMULATED)


def templates_sent(engine: Engine) -> dict[int, list[str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(EmailSend.contact_id, EmailSend.template).order_by(EmailSend.id)
        ).all()
    result: dict[int, list[str]] = {}
    for contact_id, template in rows:
        result.setdefault(contact_id, []).append(template)
    return result


def test_each_trigger_enrols_its_program_and_nobody_else_is_mailed(
    engine: Engine, seed: Seeder, settings: Settings
) -> None:
    downloader = add(seed, "dl@example.co.jp")
    attendee = add(seed, "webinar@example.co.jp")
    lost = add(seed, "lost@example.co.jp", lifecycle_stage="lost_renurture")
    low = add(seed, "low@example.co.jp", score=12)
    bystander = add(seed, "old@example.co.jp", score=55)
    recovered = add(seed, "recovered@example.co.jp", score=20)
    seed.event(
        contact_id=downloader, type="form_submit", detail="document_download",
        occurred_at=AS_OF - timedelta(hours=5),
    )
    seed.event(
        contact_id=attendee, type="webinar_attended", detail="webinar-2026-12",
        occurred_at=AS_OF - timedelta(days=1),
    )
    seed.event(
        contact_id=bystander, type="form_submit", detail="document_download",
        occurred_at=AS_OF - timedelta(days=40),
    )
    seed.stage_change(
        contact_id=lost, from_stage="opportunity", to_stage="lost_renurture",
        at=AS_OF - timedelta(days=2), rule="deal_lost", kind="lost_renurture",
    )
    seed.snapshot(contact_id=low, score=15, as_of=AS_OF - timedelta(days=90))
    seed.snapshot(contact_id=low, score=12, as_of=AS_OF - timedelta(days=10))
    seed.snapshot(contact_id=recovered, score=20, as_of=AS_OF - timedelta(days=90))
    seed.snapshot(contact_id=recovered, score=48, as_of=AS_OF - timedelta(days=30))
    seed.snapshot(contact_id=recovered, score=20, as_of=AS_OF - timedelta(days=3))

    outcome = hour(settings)

    assert outcome.dispatch is not None and outcome.dispatch.sent == 4
    assert templates_sent(engine) == {
        downloader: ["document_download/dl_1"],
        attendee: ["webinar/webinar_1"],
        lost: ["lost_deal/lost_1"],
        low: ["low_score/low_1"],
    }


def test_the_step_mail_goes_out_now_then_a_day_later_then_two_days_after_that(
    sqlite_seed: Seeder, sqlite_settings: Settings
) -> None:
    downloader = add(sqlite_seed, "dl@example.co.jp")
    sqlite_seed.event(
        contact_id=downloader, type="form_submit", detail="document_download",
        occurred_at=AS_OF - timedelta(minutes=30), ingested_at=AS_OF,
    )

    outcomes = run_hours(
        lambda as_of: hour(sqlite_settings, as_of),
        hours_from(AS_OF, AS_OF + timedelta(hours=24 * 4 - 1)),
    )

    sends = [outcome.as_of for outcome in outcomes if outcome.decisions.emails]
    assert sends == [AS_OF, AS_OF + timedelta(days=1), AS_OF + timedelta(days=3)]


@inside_one_flow
def test_a_real_click_sends_the_low_score_contact_the_demo_offer(
    sqlite_engine: Engine, sqlite_seed: Seeder, sqlite_settings: Settings
) -> None:
    low = add(sqlite_seed, "low@example.co.jp", score=10)
    sqlite_seed.snapshot(contact_id=low, score=10, as_of=AS_OF - timedelta(days=61))
    hour(sqlite_settings)
    with sqlite_engine.connect() as conn:
        key = conn.execute(select(EmailSend.email_id)).scalar_one()
    links = TrackingLinks(base_url="https://t.example.test", secret="programs-secret")
    clicked_at = AS_OF + timedelta(days=2)
    client = TestClient(
        create_app(sqlite_engine, settings=sqlite_settings, clock=lambda: clicked_at)
    )
    url = links.click(RULES.nurture.links["white_paper"], email_id=key, contact_id=low)
    assert (
        client.get(url.removeprefix("https://t.example.test"), follow_redirects=False).status_code
        == 302
    )
    for as_of in hours_from(AS_OF + HOUR, AS_OF + timedelta(hours=24 * 15 - 1)):
        hour(sqlite_settings, as_of)
    assert templates_sent(sqlite_engine) == {low: ["low_score/low_1", "low_score/low_2_demo"]}


@inside_one_flow
def test_a_meeting_booked_ends_the_program(
    engine: Engine, seed: Seeder, settings: Settings
) -> None:
    lead = add(seed, "lead@example.co.jp", created_at=AS_OF - timedelta(hours=1))
    hour(settings)
    seed.activity(
        contact_id=lead, type="meeting", outcome="meeting_booked",
        occurred_at=AS_OF + timedelta(days=1),
    )
    hour(settings, AS_OF + timedelta(days=1, hours=1))
    with engine.connect() as conn:
        status, reason = conn.execute(
            select(NurtureEnrollment.status, NurtureEnrollment.exit_reason)
        ).one()
    assert (status, reason) == ("exited", "meeting_booked")
