"""The owner's hand-off email: one per hand-off, over real SMTP, beside the Slack message."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from models.rules import load_rules, parse_rules
from models.tables import Outbox
from tasks.imports import import_file
from tasks.promotion.hour import promote_hour
from tasks.promotion.report import PromotionOutcome, promotion_markdown
from tests.support.hours import inside_one_flow
from tests.support.seeding import Seeder
from tests.support.settings import settings_for
from tests.support.slack_api import FakeSlackApi
from tests.support.smtp import LoopbackSmtpServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

RULES = load_rules(DEFAULT_RULES_PATH)
T0 = datetime(2026, 11, 20, 3, tzinfo=UTC)  # Friday 12:00 JST
HOUR = timedelta(hours=1)


@pytest.fixture
def live_settings(
    database_url: str, smtp_server: LoopbackSmtpServer, slack_api: FakeSlackApi
) -> Settings:
    """Settings that send Slack to the loopback Slack API and email over loopback SMTP."""
    return settings_for(
        database_url,
        slack_token=slack_api.TOKEN,
        slack_api_url=slack_api.url,
        email_from="leadflow <leadflow@example.jp>",
        **smtp_server.smtp_settings(),
    )


@pytest.fixture
def w(engine: Engine) -> Seeder:
    """The seeder for a world created 100 hours before T0."""
    return Seeder(engine, created_at=T0 - 100 * HOUR)


def taro(w: Seeder, *, score: int = 55) -> int:
    """山田 太郎 of Acme, a webinar lead scored `score` an hour before T0, with some touches."""
    company = w.company(domain="acme.example", name="Acme 株式会社")
    contact = w.contact(
        email="taro@acme.example",
        lifecycle_stage="lead",
        company_id=company,
        first_name="太郎",
        last_name="山田",
        lead_source="webinar",
    )
    w.score(contact_id=contact, score=score, at=T0 - HOUR)
    w.event(contact_id=contact, type="page_view", detail="pricing", occurred_at=T0 - 5 * HOUR)
    return contact


def promote(settings: Settings, *, as_of: datetime = T0, **kw: Any) -> PromotionOutcome:
    """One promotion hour, as the mql-promotion flow runs it."""
    return promote_hour(settings=settings, rules=kw.pop("rules", RULES), as_of=as_of, **kw)


def emails_in_outbox(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(select(Outbox).where(Outbox.channel == "internal_email")).all()
        )


@inside_one_flow
def test_an_mql_promotion_sends_one_slack_handoff_and_one_email_to_the_owner(
    engine: Engine,
    w: Seeder,
    live_settings: Settings,
    slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer,
) -> None:
    w.owner(email="sato@example.jp", name="佐藤 花子", slack_user_id="U1", created_at=T0)
    taro(w)

    outcome = promote(live_settings)

    [posted] = slack_api.posted()
    assert posted["channel"] == "#sales-handoff"
    [mail] = smtp_server.messages()
    assert mail["To"].addresses[0].addr_spec == "sato@example.jp"
    assert "山田 太郎" in str(mail["Subject"]) and "Acme 株式会社" in str(mail["Subject"])
    assert str(mail["Subject"]).startswith("【MQL引き渡し】")
    body = mail.get_content()
    for expected in (
        "佐藤 花子 さん",
        "山田 太郎",
        "taro@acme.example",
        "スコア: 55",
        "リードソース: webinar",
        "ページ閲覧 — pricing",
        "24時間以内、期限 2026-11-21 12:00 JST",
        "leadflow log-activity taro@acme.example --type call",
    ):
        assert expected in body
    summary = outcome.summary()
    assert (summary["emails_decided"], summary["emails_enqueued"], summary["emails_sent"]) == (
        1,
        1,
        1,
    )
    assert "## Internal emails" in promotion_markdown(outcome)


@inside_one_flow
def test_rerunning_the_hour_and_later_hours_sends_no_second_email(
    engine: Engine,
    w: Seeder,
    live_settings: Settings,
    slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer,
) -> None:
    w.owner(email="sato@example.jp", slack_user_id="U1", created_at=T0)
    taro(w)

    promote(live_settings)
    again = promote(live_settings)
    later = promote(live_settings, as_of=T0 + HOUR)

    assert again.superseded_by == T0.isoformat()
    assert later.summary()["emails_enqueued"] == 0
    assert len(slack_api.posted()) == 1
    assert len(smtp_server.messages()) == 1
    assert [row.status for row in emails_in_outbox(engine)] == ["sent"]


def test_a_dry_run_enqueues_and_sends_no_email(
    engine: Engine,
    w: Seeder,
    live_settings: Settings,
    slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer,
) -> None:
    w.owner(email="sato@example.jp", created_at=T0)
    taro(w)

    outcome = promote(live_settings, dry_run=True)

    assert outcome.emails == 1
    assert emails_in_outbox(engine) == []
    assert smtp_server.messages() == [] and slack_api.posted() == []


def test_the_email_follows_the_rules_language(
    engine: Engine, w: Seeder, live_settings: Settings, smtp_server: LoopbackSmtpServer
) -> None:
    data = RULES.model_dump(mode="json", by_alias=True)
    data["promotion"]["slack"]["language"] = "en"
    english = parse_rules(data, source=Path("en.yaml"))
    w.owner(email="sato@example.jp", name="Sato", created_at=T0)
    taro(w)

    promote(live_settings, rules=english)

    [mail] = smtp_server.messages()
    assert str(mail["Subject"]) == "[MQL hand-off] 山田 太郎 (Acme 株式会社), score 55"
    body = mail.get_content()
    assert "Hello Sato," in body
    assert "First touch (call or email) within 24 hours of the hand-off" in body


def test_a_lead_without_an_owner_gets_a_slack_handoff_but_no_email(
    engine: Engine,
    w: Seeder,
    live_settings: Settings,
    slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer,
) -> None:
    taro(w)

    outcome = promote(live_settings)

    assert outcome.decisions.counts()["unassigned"] == 1
    assert len(slack_api.posted()) == 1
    assert smtp_server.messages() == [] and emails_in_outbox(engine) == []


def import_unowned_mql_without_a_date(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    """Import an MQL with neither `became_mql_at` nor an owner: it has no stage history."""
    path = tmp_path / "contacts.csv"
    path.write_text("email,lifecycle_stage,first_name\nkeiko@beta.example,mql,恵子\n",
                    encoding="utf-8")
    import_file(engine, kind="contacts", path=path, source=path.name, naive_tz=settings.tz,
                now=T0 - HOUR)


@inside_one_flow
def test_a_lead_without_a_known_stage_date_assigned_late_is_due_from_the_hand_off(
    engine: Engine, w: Seeder, live_settings: Settings, smtp_server: LoopbackSmtpServer,
    tmp_path: Path,
) -> None:
    # Before: its hand-off start was NaT and every run failed in the first-touch deadline.
    data = RULES.model_dump(mode="json", by_alias=True)
    data["promotion"]["late_assignment_within_days"] = None
    unlimited = parse_rules(data, source=Path("unlimited.yaml"))
    w.owner(email="sato@example.jp", name="佐藤 花子", created_at=T0)
    import_unowned_mql_without_a_date(engine, live_settings, tmp_path)
    # Another candidate with stage history makes the column a datetime one: NaT, not None.
    other = w.contact(email="other@gamma.example", lifecycle_stage="lead")
    w.stage_change(contact_id=other, from_stage=None, to_stage="lead", at=T0 - 50 * HOUR,
                   rule="import")

    outcome = promote(live_settings, rules=unlimited)

    assert outcome.summary()["late_assigned"] == 1
    [mail] = smtp_server.messages()
    assert mail["To"].addresses[0].addr_spec == "sato@example.jp"
    assert "24時間以内、期限 2026-11-21 12:00 JST" in mail.get_content()


@inside_one_flow
def test_a_lead_without_a_known_stage_date_does_not_stop_later_runs_and_is_not_paged(
    engine: Engine, w: Seeder, live_settings: Settings, smtp_server: LoopbackSmtpServer,
    tmp_path: Path,
) -> None:
    w.owner(email="sato@example.jp", created_at=T0)
    import_unowned_mql_without_a_date(engine, live_settings, tmp_path)

    outcomes = [promote(live_settings, as_of=T0 + n * HOUR) for n in range(3)]

    assert [o.summary()["late_assigned"] for o in outcomes] == [0, 0, 0]
    assert smtp_server.messages() == []
