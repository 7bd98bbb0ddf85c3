"""Every shipped program's trigger, read from real SQLite and PostgreSQL and run for real."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select

from leadflow.adapters.email import EmlDirectoryTransport
from leadflow.email_render import TrackingLinks
from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from leadflow.tracking import create_app
from models.rules import load_rules
from models.tables import (
    Activity,
    Contact,
    EmailSend,
    Event,
    NurtureEnrollment,
    ScoreSnapshot,
    StageHistory,
)
from tasks.nurture import NurtureOutcome, run_nurture_hour

RULES = load_rules(DEFAULT_RULES_PATH)
AS_OF = datetime(2026, 12, 8, 2, tzinfo=UTC)  # Tuesday 11:00 in Tokyo
OLD = AS_OF - timedelta(days=300)
SETTINGS = Settings(signing_secret="programs-secret", public_base_url="https://t.example.test")


def add(engine: Engine, email: str, **values: Any) -> int:
    row = {
        "email": email,
        "consent": True,
        "lifecycle_stage": "lead",
        "created_at": OLD,
        "updated_at": OLD,
        **values,
    }
    with engine.begin() as conn:
        return int(conn.execute(insert(Contact).values(**row).returning(Contact.id)).scalar_one())


def hour(engine: Engine, tmp_path: Path, as_of: datetime = AS_OF) -> NurtureOutcome:
    return run_nurture_hour(
        engine,
        rules=RULES,
        settings=SETTINGS,
        transport=EmlDirectoryTransport(tmp_path / "outbox"),
        as_of=as_of,
    )


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
    engine: Engine, tmp_path: Path
) -> None:
    downloader = add(engine, "dl@example.co.jp")
    attendee = add(engine, "webinar@example.co.jp")
    lost = add(engine, "lost@example.co.jp", lifecycle_stage="lost_renurture")
    low = add(engine, "low@example.co.jp", score=12)
    bystander = add(engine, "old@example.co.jp", score=55)
    recovered = add(engine, "recovered@example.co.jp", score=20)
    with engine.begin() as conn:
        conn.execute(
            insert(Event),
            [
                {
                    "source_event_id": "dl-1",
                    "contact_id": downloader,
                    "type": "form_submit",
                    "detail": "document_download",
                    "occurred_at": AS_OF - timedelta(hours=5),
                    "ingested_at": AS_OF - timedelta(hours=5),
                },
                {
                    "source_event_id": "web-1",
                    "contact_id": attendee,
                    "type": "webinar_attended",
                    "detail": "webinar-2026-12",
                    "occurred_at": AS_OF - timedelta(days=1),
                    "ingested_at": AS_OF - timedelta(days=1),
                },
                {
                    "source_event_id": "old-dl",
                    "contact_id": bystander,
                    "type": "form_submit",
                    "detail": "document_download",
                    "occurred_at": AS_OF - timedelta(days=40),
                    "ingested_at": AS_OF - timedelta(days=40),
                },
            ],
        )
        conn.execute(
            insert(StageHistory).values(
                contact_id=lost,
                from_stage="opportunity",
                to_stage="lost_renurture",
                at=AS_OF - timedelta(days=2),
                rule="deal_lost",
                kind="lost_renurture",
            )
        )
        snapshot = {
            "engagement_score": 0,
            "fit_score": 0,
            "breakdown": {},
            "rules_hash": "x",
            "run_id": "r",
        }
        conn.execute(
            insert(ScoreSnapshot),
            [
                {**snapshot, "contact_id": low, "as_of": AS_OF - timedelta(days=90), "score": 15},
                {**snapshot, "contact_id": low, "as_of": AS_OF - timedelta(days=10), "score": 12},
                {
                    **snapshot,
                    "contact_id": recovered,
                    "as_of": AS_OF - timedelta(days=90),
                    "score": 20,
                },
                {
                    **snapshot,
                    "contact_id": recovered,
                    "as_of": AS_OF - timedelta(days=30),
                    "score": 48,
                },
                {
                    **snapshot,
                    "contact_id": recovered,
                    "as_of": AS_OF - timedelta(days=3),
                    "score": 20,
                },
            ],
        )
    outcome = hour(engine, tmp_path)
    assert outcome.dispatch is not None and outcome.dispatch.sent == 4
    assert templates_sent(engine) == {
        downloader: ["document_download/dl_1"],
        attendee: ["webinar/webinar_1"],
        lost: ["lost_deal/lost_1"],
        low: ["low_score/low_1"],
    }


def test_the_step_mail_goes_out_now_then_a_day_later_then_two_days_after_that(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    downloader = add(sqlite_engine, "dl@example.co.jp")
    with sqlite_engine.begin() as conn:
        conn.execute(
            insert(Event).values(
                source_event_id="dl-1",
                contact_id=downloader,
                type="form_submit",
                detail="document_download",
                occurred_at=AS_OF - timedelta(minutes=30),
                ingested_at=AS_OF,
            )
        )
    sends = []
    for offset in range(0, 24 * 4):
        as_of = AS_OF + timedelta(hours=offset)
        if hour(sqlite_engine, tmp_path, as_of).decisions.emails:
            sends.append(as_of)
    assert sends == [AS_OF, AS_OF + timedelta(days=1), AS_OF + timedelta(days=3)]


def test_a_real_click_sends_the_low_score_contact_the_demo_offer(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    low = add(sqlite_engine, "low@example.co.jp", score=10)
    snapshot = {
        "engagement_score": 0,
        "fit_score": 0,
        "breakdown": {},
        "rules_hash": "x",
        "run_id": "r",
        "contact_id": low,
        "score": 10,
    }
    with sqlite_engine.begin() as conn:
        conn.execute(insert(ScoreSnapshot).values(**snapshot, as_of=AS_OF - timedelta(days=61)))
    hour(sqlite_engine, tmp_path)
    with sqlite_engine.connect() as conn:
        key = conn.execute(select(EmailSend.email_id)).scalar_one()
    links = TrackingLinks(base_url="https://t.example.test", secret="programs-secret")
    clicked_at = AS_OF + timedelta(days=2)
    client = TestClient(create_app(sqlite_engine, settings=SETTINGS, clock=lambda: clicked_at))
    url = links.click(RULES.nurture.links["white_paper"], email_id=key, contact_id=low)
    assert (
        client.get(url.removeprefix("https://t.example.test"), follow_redirects=False).status_code
        == 302
    )
    for offset in range(1, 24 * 15):
        hour(sqlite_engine, tmp_path, AS_OF + timedelta(hours=offset))
    assert templates_sent(sqlite_engine) == {low: ["low_score/low_1", "low_score/low_2_demo"]}


def test_a_meeting_booked_ends_the_program(engine: Engine, tmp_path: Path) -> None:
    lead = add(engine, "lead@example.co.jp", created_at=AS_OF - timedelta(hours=1))
    hour(engine, tmp_path)
    with engine.begin() as conn:
        conn.execute(
            insert(Activity).values(
                source_activity_id="m1",
                contact_id=lead,
                type="meeting",
                outcome="meeting_booked",
                occurred_at=AS_OF + timedelta(days=1),
                ingested_at=AS_OF + timedelta(days=1),
            )
        )
    hour(engine, tmp_path, AS_OF + timedelta(days=1, hours=1))
    with engine.connect() as conn:
        status, reason = conn.execute(
            select(NurtureEnrollment.status, NurtureEnrollment.exit_reason)
        ).one()
    assert (status, reason) == ("exited", "meeting_booked")
