"""Time-travel through the new-lead program, hour by hour, in one process.

Real SQLite and PostgreSQL, a real SMTP server on loopback, and the real tracking app:
every simulated hour runs read → decide → apply → dispatch exactly as the flow does.
"""

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from app.tracking import create_app
from leadflow.paths import DEFAULT_RULES_PATH
from models.rules import Rules, load_rules
from models.tables import EmailSuppression, Event, NurtureEnrollment
from tasks.clock import Clock
from tasks.nurture.hour import nurture_hour
from tests.support.hours import HOUR, hours_from, run_hours
from tests.support.seeding import Seeder
from tests.support.settings import settings_for
from tests.support.smtp import LoopbackSmtpServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

SECRET = "time-travel-secret"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class Simulation:
    """A clock, a database, an SMTP server and the tracking app, driven hour by hour."""

    def __init__(
        self,
        database_url: str,
        engine: Engine,
        smtp: LoopbackSmtpServer,
        tmp_path: Path,
        start: datetime,
    ) -> None:
        self.engine = engine
        self.seed = Seeder(engine, created_at=start)
        self.smtp = smtp
        self.now = start
        self.rules: Rules = load_rules(DEFAULT_RULES_PATH)
        self.settings = settings_for(
            database_url,
            public_base_url="https://track.example.test",
            signing_secret=SECRET,
            email_from="マーケティング部 <marketing@example.co.jp>",
            business_timezone="Asia/Tokyo",
            outbox_dir=tmp_path / "outbox",
            **smtp.smtp_settings(),
        )
        self.client = TestClient(create_app(engine, settings=self.settings, clock=lambda: self.now))

    def add_contact(self, email: str, *, created_at: datetime, **columns: Any) -> int:
        values: dict[str, Any] = {"consent": True, "lifecycle_stage": "lead", **columns}
        return self.seed.contact(email=email, created_at=created_at, **values)

    def run_hour(self, as_of: datetime) -> None:
        """One nurture hour with the hour as the present: sends are stamped at `as_of`."""
        nurture_hour(
            settings=self.settings, rules=self.rules, as_of=as_of, clock=Clock.SIMULATED
        )

    def run_hours(self, hours: Iterable[datetime]) -> None:
        """Run these hours (e.g. reruns) inside one flow run."""
        run_hours(self.run_hour, hours)

    def travel_until(
        self, end: datetime, on_hour: Callable[[datetime], None] | None = None
    ) -> None:
        """From now, every hour up to `end`: first what happens in it, then the nurture run."""

        def step(hour: datetime) -> None:
            self.now = hour
            if on_hour is not None:
                on_hour(hour)
            self.run_hour(hour)

        run_hours(step, hours_from(self.now, end))
        self.now = end + HOUR

    def sends(self) -> dict[str, list[tuple[str, datetime]]]:
        """Per recipient: (step, Date header) of every email the SMTP server received."""
        result: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
        for message in self.smtp.messages():
            step = str(message["X-Leadflow-Email-Id"]).rsplit(":", 1)[1]
            result[message["To"].addresses[0].addr_spec].append(
                (step, parsedate_to_datetime(str(message["Date"])))
            )
        return result

    def last_message_to(self, address: str) -> EmailMessage:
        mine = [m for m in self.smtp.messages() if m["To"].addresses[0].addr_spec == address]
        return mine[-1]


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def local_path(url: str) -> str:
    return urlsplit(url).path


def enrollment_of(engine: Engine, contact_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            select(NurtureEnrollment).where(NurtureEnrollment.contact_id == contact_id)
        ).one()


def test_the_new_lead_program_hour_by_hour_sends_on_exact_dates_branches_and_exits(
    database_url: str, engine: Engine, smtp_server: LoopbackSmtpServer, tmp_path: Path
) -> None:
    sim = Simulation(database_url, engine, smtp_server, tmp_path, start=utc(2026, 12, 1, 1))
    company_id = sim.seed.company(domain="opener.example.co.jp", name="株式会社オープナー")
    created = utc(2026, 12, 1, 1, 20)  # Tuesday 10:20 in Tokyo
    opener = sim.add_contact(
        "opener@example.co.jp",
        created_at=created,
        first_name="花子",
        last_name="佐藤",
        company_id=company_id,
    )
    silent = sim.add_contact("silent@example.co.jp", created_at=created)
    promoted = sim.add_contact("promoted@example.co.jp", created_at=created)
    late = sim.add_contact("late@example.co.jp", created_at=utc(2026, 12, 1, 14, 10))  # 23:10 JST
    no_consent = sim.add_contact("quiet@example.co.jp", created_at=created, consent=False)

    def events(hour: datetime) -> None:
        if hour == utc(2026, 12, 3, 5):
            # The promoted lead becomes an MQL: it leaves marketing nurture.
            sim.seed.update_contact(promoted, lifecycle_stage="mql")
        if hour == utc(2026, 12, 3, 6):
            # The late lead clicks one-click unsubscribe in its first email (RFC 8058 POST).
            header = str(sim.last_message_to("late@example.co.jp")["List-Unsubscribe"])
            https_url = re.findall(r"<(https://[^>]+)>", header)[0]
            response = sim.client.post(
                local_path(https_url), data={"List-Unsubscribe": "One-Click"}
            )
            assert response.status_code == 200
        if hour == utc(2026, 12, 8, 3):
            # The opener's mail client loads the open pixel of email 2.
            html = html_of(sim.last_message_to("opener@example.co.jp"))
            pixel = re.findall(r'<img src="([^"]+)"', html)[0]
            response = sim.client.get(local_path(pixel))
            assert response.status_code == 200
            assert response.headers["content-type"] == "image/gif"

    sim.travel_until(utc(2026, 12, 14, 2), on_hour=events)

    sends = sim.sends()
    assert sends["opener@example.co.jp"] == [
        ("email_1", utc(2026, 12, 1, 2)),  # the first run after the form, Tue 11:00 JST
        ("email_2", utc(2026, 12, 7, 0)),  # +5 days is Sunday: held to Monday 09:00 JST
        ("email_3a", utc(2026, 12, 14, 0)),  # +7 days from the actual send; opened → 3a
    ]
    assert sends["silent@example.co.jp"] == [
        ("email_1", utc(2026, 12, 1, 2)),
        ("email_2", utc(2026, 12, 7, 0)),
        ("email_3b", utc(2026, 12, 14, 0)),  # not opened → resend with a new subject
    ]
    silent_subjects = [
        str(m["Subject"])
        for m in smtp_server.messages()
        if m["To"].addresses[0].addr_spec == "silent@example.co.jp"
    ]
    assert silent_subjects[2] != silent_subjects[1]  # the resend has a new subject
    assert sends["promoted@example.co.jp"] == [("email_1", utc(2026, 12, 1, 2))]
    # Created at 23:10 JST: email 1 waits for 09:00 JST; the unsubscribe stops email 2.
    assert sends["late@example.co.jp"] == [("email_1", utc(2026, 12, 2, 0))]
    assert "quiet@example.co.jp" not in sends

    assert enrollment_of(engine, opener).status == "completed"
    assert enrollment_of(engine, silent).status == "completed"
    exited = enrollment_of(engine, promoted)
    assert (exited.status, exited.exit_reason) == ("exited", "stage_mql")
    unsubscribed = enrollment_of(engine, late)
    assert (unsubscribed.status, unsubscribed.exit_reason) == ("exited", "unsubscribed")
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(NurtureEnrollment).where(NurtureEnrollment.contact_id == no_consent)
            ).first()
            is None
        )
        opens = conn.execute(
            select(Event.detail, Event.occurred_at).where(Event.type == "email_open")
        ).all()
        suppressed = conn.execute(
            select(EmailSuppression.contact_id, EmailSuppression.reason)
        ).all()
    assert opens == [(f"nurture:new_lead:{opener}:20261201T020000Z:email_2", utc(2026, 12, 8, 3))]
    assert suppressed == [(late, "unsubscribed")]

    # Rerunning hours that sent something changes nothing and sends nothing twice.
    received = len(smtp_server.received)
    sim.run_hours(
        [
            utc(2026, 12, 1, 2),
            utc(2026, 12, 2, 0),
            utc(2026, 12, 7, 0),
            utc(2026, 12, 14, 0),
            utc(2026, 12, 14, 2),
        ]
    )
    assert len(smtp_server.received) == received


def test_an_email_due_on_a_public_holiday_waits_for_the_next_business_morning(
    sqlite_database_url: str,
    sqlite_engine: Engine,
    smtp_server: LoopbackSmtpServer,
    tmp_path: Path,
) -> None:
    # Monday 2026-11-23 is Labour Thanksgiving Day in Japan.
    sim = Simulation(
        sqlite_database_url, sqlite_engine, smtp_server, tmp_path, start=utc(2026, 11, 23, 1)
    )
    sim.add_contact("holiday@example.co.jp", created_at=utc(2026, 11, 23, 0, 30))  # 09:30 JST
    sim.travel_until(utc(2026, 11, 24, 3))
    assert sim.sends()["holiday@example.co.jp"] == [("email_1", utc(2026, 11, 24, 0))]


@pytest.mark.parametrize(
    "zone, first_send",
    [
        ("Europe/London", utc(2026, 12, 2, 9)),  # 23:00 in London waits for 09:00 London
        ("America/New_York", utc(2026, 12, 2, 14)),  # 18:00 in New York waits for 09:00 there
    ],
)
def test_the_send_window_is_the_contacts_own_time_zone(
    sqlite_database_url: str,
    sqlite_engine: Engine,
    smtp_server: LoopbackSmtpServer,
    tmp_path: Path,
    zone: str,
    first_send: datetime,
) -> None:
    sim = Simulation(
        sqlite_database_url, sqlite_engine, smtp_server, tmp_path, start=utc(2026, 12, 1, 23)
    )
    sim.add_contact(
        "abroad@example.com",
        created_at=utc(2026, 12, 1, 22, 30),
        timezone=zone,
        first_name="Alex",
        last_name="Smith",
    )
    sim.travel_until(utc(2026, 12, 2, 15))
    assert sim.sends()["abroad@example.com"] == [("email_1", first_send)]
    message = smtp_server.messages()[0]
    assert message["Subject"].isascii()  # foreign time zone → the English templates
    assert str(message["To"]) == "Alex Smith <abroad@example.com>"
