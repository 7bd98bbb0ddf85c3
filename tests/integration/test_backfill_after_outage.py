"""Catching up after an outage: `leadflow backfill` sends each email that fell due while
the schedule was down exactly once, through the real transports, dated when it really
went out; a second backfill and the next scheduled hour send nothing again.

The hours before the outage run the cycle under the simulated clock: a scheduled hour
that runs on time sends at its own hour, which a test running today can only reproduce
that way (the live clock would date those sends today and push every wait after them
past the outage).
"""

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from app.cli import _register_commands, app
from leadflow.db import ensure_database
from leadflow.settings import Settings
from models.rules import load_rules
from models.tables import Outbox
from tasks.clock import Clock
from tasks.cycle import CycleOutcome, run_cycle_hour
from tests.support.hours import hours_from, run_hours
from tests.support.replay_state import email_summary, parse_email
from tests.support.replay_world import (
    HOUR,
    OUTAGE_LAST_RUN,
    rules_open_all_week,
    seed_outage_world,
)
from tests.support.settings import settings_for
from tests.support.slack_api import FakeSlackApi
from tests.support.smtp import LoopbackSmtpServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

H = OUTAGE_LAST_RUN
OUTAGE = ["--from", (H + HOUR).isoformat(), "--to", (H + 12 * HOUR).isoformat()]

_register_commands()


def run_cli(*args: str) -> Result:
    """Run the `leadflow` command in this process."""
    return CliRunner().invoke(app, list(args))


def emails(server: LoopbackSmtpServer, start: int = 0) -> list[tuple[str, str, str, datetime]]:
    """(recipient, what, Message-ID, Date) of every message the server received from `start`."""
    return [email_summary(parse_email(raw))[:4] for raw in server.received[start:]]


def slack_keys(api: FakeSlackApi) -> list[str]:
    """The outbox idempotency key of every Slack post (in its message metadata)."""
    return [
        str(post["metadata"]["event_payload"]["idempotency_key"])  # type: ignore[index]
        for post in api.posted()
    ]


def repeated(items: list[Any]) -> list[Any]:
    """The items that occur more than once."""
    return [item for item, n in Counter(items).items() if n > 1]


def sent_outbox(url: str) -> dict[str, datetime]:
    """Each sent outbox row's idempotency key and when it was sent."""
    with ensure_database(url).connect() as conn:
        rows = conn.execute(
            select(Outbox.idempotency_key, Outbox.sent_at).where(Outbox.status == "sent")
        ).all()
    return {key: at for key, at in rows}


def test_a_backfill_after_an_outage_sends_each_due_email_once_dated_when_it_went_out(
    database_url: str,
    tmp_path: Path,
    slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer,
    use_settings: Callable[[Settings], Settings],
) -> None:
    people = seed_outage_world(database_url)
    rules_path = rules_open_all_week(tmp_path)
    settings = use_settings(settings_for(
        database_url, outbox_dir=tmp_path / "eml", rules_path=rules_path,
        slack_token=slack_api.TOKEN, slack_api_url=slack_api.url,
        **smtp_server.smtp_settings(),
    ))
    rules = load_rules(rules_path)

    def on_time(hour: datetime) -> CycleOutcome:
        return run_cycle_hour(settings=settings, rules=rules, as_of=hour, clock=Clock.SIMULATED)

    before = run_hours(on_time, hours_from(H - 2 * HOUR, H))
    assert [o.problems() for o in before if o.problems()] == []
    mailed_before, posted_before = len(smtp_server.received), len(slack_api.posted())
    assert ("early_downloader@example.co.jp", "document_download/dl_1") in {
        (to, what) for to, what, _, _ in emails(smtp_server)
    }
    assert posted_before > 0, "the early hand-offs were posted before the outage"
    sent_before = sent_outbox(database_url)

    started = datetime.now(UTC).replace(microsecond=0)
    caught_up = run_cli("backfill", *OUTAGE)
    finished = datetime.now(UTC)

    assert caught_up.exit_code == 0, caught_up.output
    assert "replayed 12 hours" in caught_up.output
    backfilled = emails(smtp_server, mailed_before)
    assert {
        ("stepper@example.co.jp", "document_download/dl_2"),  # one day after its first
        ("opener@example.co.jp", "new_lead/email_3a"),  # the open check came due
        ("downloader@example.co.jp", "document_download/dl_1"),  # downloaded mid-outage
        ("far@example.co.jp", "recycled/recycled_1"),  # recycled mid-outage
    } <= {(to, what) for to, what, _, _ in backfilled}
    assert {to for to, *_ in backfilled} & {"is@example.com", "is2@example.com"}, (
        "the lead that became an MQL during the outage was handed off by email"
    )
    posts = slack_keys(slack_api)
    new_posts = posts[posted_before:]
    assert any(key.startswith(f"slack:handoff:{people['late']}:") for key in new_posts)
    assert any(key.startswith(f"sla:{people['early']}:") for key in new_posts)
    every = emails(smtp_server)
    assert repeated([(to, what) for to, what, _, _ in every]) == []
    assert repeated([message_id for _, _, message_id, _ in every]) == []
    assert repeated(posts) == []
    # Sent now and dated now, never back-dated to the hour each was decided for.
    assert [(to, what, date) for to, what, _, date in backfilled
            if not started <= date <= finished] == []
    sent_now = {k: at for k, at in sent_outbox(database_url).items() if k not in sent_before}
    assert len(sent_now) == len(backfilled) + len(new_posts)
    assert {k: at for k, at in sent_now.items() if not started <= at <= finished} == {}

    again = run_cli("backfill", *OUTAGE)

    assert again.exit_code == 0, again.output
    assert "all 12 hours already done" in again.output
    assert emails(smtp_server) == every
    assert slack_keys(slack_api) == posts

    next_hour = run_cli("run", "cycle", "--as-of", (H + 13 * HOUR).isoformat())

    assert next_hour.exit_code == 0, next_hour.output
    # Everything that fell due was sent by the backfill: the next hour repeats none of it
    # (and in this world nothing new falls due at 22:00).
    assert emails(smtp_server) == every
    assert slack_keys(slack_api) == posts
