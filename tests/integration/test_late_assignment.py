"""Late assignment: a lead promoted while its team had no active owner gets one later, and a
lead a lead status moves into field sales' stage (sales_ready → sql) is handed to them."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from models.rules import load_rules
from models.tables import Contact, Outbox, Owner, OwnerAssignment
from tasks.imports import import_file
from tasks.promotion.hour import promote_hour
from tasks.promotion.report import PromotionOutcome, promotion_markdown
from tasks.status.run import set_status
from tests.support.hours import inside_one_flow
from tests.support.seeding import Seeder
from tests.support.settings import settings_for
from tests.support.slack_api import FakeSlackApi
from tests.support.smtp import LoopbackSmtpServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

RULES = load_rules(DEFAULT_RULES_PATH)
T0 = datetime(2026, 11, 20, 3, tzinfo=UTC)
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
        **smtp_server.smtp_settings(),
    )


@pytest.fixture
def w(engine: Engine) -> Seeder:
    """The seeder for a world created 100 hours before T0."""
    return Seeder(engine, created_at=T0 - 100 * HOUR)


def promote(settings: Settings, as_of: datetime) -> PromotionOutcome:
    """One promotion hour, as the mql-promotion flow runs it."""
    return promote_hour(settings=settings, rules=RULES, as_of=as_of)


def activate(engine: Engine, owner_id: int) -> None:
    """The owner comes back (or joins): active from now on."""
    with engine.begin() as conn:
        conn.execute(update(Owner).where(Owner.id == owner_id).values(active=True))


def owner_of(engine: Engine, contact_id: int) -> int | None:
    with engine.connect() as conn:
        return conn.execute(
            select(Contact.owner_id).where(Contact.id == contact_id)
        ).scalar_one_or_none()


def assignments(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(OwnerAssignment).order_by(OwnerAssignment.id)).all())


@inside_one_flow
def test_a_lead_promoted_without_an_active_owner_gets_one_with_a_handoff_and_an_email_once(
    engine: Engine,
    w: Seeder,
    live_settings: Settings,
    slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer,
) -> None:
    away = w.owner(email="suzuki@example.jp", name="鈴木", slack_user_id="U9", active=False)
    lead = w.contact(email="hana@beta.example", lifecycle_stage="lead", first_name="花")
    w.score(contact_id=lead, score=60, at=T0 - HOUR)

    first = promote(live_settings, T0)
    waiting = promote(live_settings, T0 + HOUR)

    assert first.decisions.counts()["unassigned"] == 1
    assert owner_of(engine, lead) is None
    assert waiting.decisions.counts()["awaiting_owner"] == 1
    assert len(slack_api.posted()) == 1 and smtp_server.messages() == []

    activate(engine, away)
    late = promote(live_settings, T0 + 2 * HOUR)
    after = [promote(live_settings, T0 + n * HOUR) for n in (2, 3, 4)]

    assert owner_of(engine, lead) == away
    [row] = assignments(engine)
    assert (row.contact_id, row.owner_id, row.team, row.at, row.reason) == (
        lead,
        away,
        "is",
        T0 + 2 * HOUR,
        "late assignment",
    )
    summary = late.summary()
    assert (summary["late_assigned"], summary["messages_sent"], summary["emails_sent"]) == (
        1,
        1,
        1,
    )
    assert "| 1 (1) |" in promotion_markdown(late)
    handoffs = slack_api.posted()
    assert len(handoffs) == 2
    assert "<@U9>" in str(handoffs[1]["blocks"])
    [mail] = smtp_server.messages()
    assert mail["To"].addresses[0].addr_spec == "suzuki@example.jp"
    assert "hana@beta.example" in mail.get_content()
    assert "担当者不在のため保留になっていたMQLリード" in mail.get_content()
    # Later hours (and a rerun of the late hour) assign and send nothing more.
    assert [o.summary()["late_assigned"] for o in after] == [0, 0, 0]
    assert len(slack_api.posted()) == 2 and len(smtp_server.messages()) == 1
    assert len(assignments(engine)) == 1


@inside_one_flow
def test_a_late_sql_lead_goes_to_field_sales_when_a_field_sales_owner_is_active(
    engine: Engine, w: Seeder, live_settings: Settings, smtp_server: LoopbackSmtpServer
) -> None:
    w.owner(email="is1@example.jp", created_at=T0)
    demo = w.contact(email="demo@gamma.example", lifecycle_stage="lead")
    w.event(contact_id=demo, type="form_submit", detail="demo_request", occurred_at=T0 - HOUR)

    promote(live_settings, T0)
    assert owner_of(engine, demo) is None
    fs = w.owner(email="fs1@example.jp", team="fs", created_at=T0 + HOUR)
    promote(live_settings, T0 + HOUR)

    assert owner_of(engine, demo) == fs
    [mail] = smtp_server.messages()
    assert mail["To"].addresses[0].addr_spec == "fs1@example.jp"
    assert str(mail["Subject"]).startswith("【SQL引き渡し】")


@inside_one_flow
def test_an_mql_with_an_owner_of_another_team_keeps_it_and_gets_no_late_handoff(
    engine: Engine, w: Seeder, live_settings: Settings, slack_api: FakeSlackApi
) -> None:
    manual = w.owner(email="manual@example.jp", team="cs", created_at=T0)
    mql = w.contact(email="m@delta.example", lifecycle_stage="mql", owner_id=manual)
    w.owner(email="is1@example.jp", created_at=T0)

    outcome = promote(live_settings, T0)

    assert outcome.decisions.counts()["late_assigned"] == 0
    assert owner_of(engine, mql) == manual
    assert slack_api.posted() == []
    with engine.connect() as conn:
        assert conn.execute(select(Outbox)).all() == []


def import_contacts(engine: Engine, settings: Settings, tmp_path: Path, text: str, *,
                    now: datetime) -> None:
    """Import a contacts CSV as `leadflow import contacts` does, at `now`."""
    path = tmp_path / "contacts.csv"
    path.write_text(text, encoding="utf-8")
    import_file(engine, kind="contacts", path=path, source=path.name, naive_tz=settings.tz,
                now=now)


@inside_one_flow
def test_a_lead_made_sales_ready_is_handed_to_field_sales_once_with_slack_and_an_email(
    engine: Engine,
    w: Seeder,
    live_settings: Settings,
    slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer,
) -> None:
    inside = w.owner(email="ito@example.jp", name="伊藤", slack_user_id="U1")
    field = w.owner(email="fujita@example.jp", name="藤田", team="fs", slack_user_id="U2")
    lead = w.contact(email="hana@beta.example", lifecycle_stage="mql", owner_id=inside,
                     first_name="花")
    w.stage_change(contact_id=lead, from_stage="lead", to_stage="mql", at=T0 - 30 * HOUR,
                   rule="mql_score")
    w.lead_status_change(contact_id=lead, from_status=None, to_status="new",
                         at=T0 - 30 * HOUR, source="promotion")
    for status, hours_ago in (("connected", 5), ("sales_ready", 2)):
        set_status(engine, rules=RULES, email="hana@beta.example", status=status,
                   at=T0 - hours_ago * HOUR, now=T0)

    handed = promote(live_settings, T0)
    later = [promote(live_settings, T0), promote(live_settings, T0 + HOUR)]

    assert owner_of(engine, lead) == field
    [row] = assignments(engine)
    assert (row.contact_id, row.owner_id, row.team, row.at, row.reason) == (
        lead, field, "fs", T0, "handed to fs"
    )
    summary = handed.summary()
    assert (summary["handed_over"], summary["late_assigned"]) == (1, 0)
    assert (summary["messages_sent"], summary["emails_sent"]) == (1, 1)
    [posted] = slack_api.posted()
    assert posted["channel"] == "#sales-handoff"
    assert "SQL 引き渡し" in posted["text"] and "<@U2>" in str(posted["blocks"])
    [mail] = smtp_server.messages()
    assert mail["To"].addresses[0].addr_spec == "fujita@example.jp"
    assert str(mail["Subject"]).startswith("【SQL引き渡し】")
    assert "新しいSQLリードの担当になりました" in mail.get_content()
    assert [o.summary()["handed_over"] for o in later] == [0, 0]
    assert len(slack_api.posted()) == 1 and len(smtp_server.messages()) == 1
    assert len(assignments(engine)) == 1


@inside_one_flow
def test_a_lead_imported_in_sql_with_an_inside_sales_owner_keeps_it(
    engine: Engine, w: Seeder, live_settings: Settings, slack_api: FakeSlackApi, tmp_path: Path
) -> None:
    inside = w.owner(email="ito@example.jp")
    w.owner(email="fujita@example.jp", team="fs")
    import_contacts(
        engine, live_settings, tmp_path,
        "email,lifecycle_stage,became_sql_at,owner_email\n"
        "kenta@gamma.example,sql,2026-11-20T01:00:00Z,ito@example.jp\n",
        now=T0 - HOUR / 2,
    )

    outcome = promote(live_settings, T0)

    with engine.connect() as conn:
        owner = conn.execute(
            select(Contact.owner_id).where(Contact.email == "kenta@gamma.example")
        ).scalar_one()
    assert owner == inside
    assert outcome.decisions.counts()["handed_over"] == 0
    assert assignments(engine) == [] and slack_api.posted() == []


@inside_one_flow
def test_an_unowned_mql_imported_with_its_mql_date_is_assigned_by_the_next_undecided_hour(
    engine: Engine, w: Seeder, live_settings: Settings, tmp_path: Path
) -> None:
    owner = w.owner(email="ito@example.jp")
    csv = "email,lifecycle_stage,became_mql_at\n{email},mql,2026-11-20T02:10:00Z\n"
    import_contacts(engine, live_settings, tmp_path, csv.format(email="a@beta.example"),
                    now=T0 - HOUR / 2)

    first = promote(live_settings, T0)
    # Imported after hour T0 was decided: that hour is not decided again, the next one
    # hands it over.
    import_contacts(engine, live_settings, tmp_path, csv.format(email="b@beta.example"),
                    now=T0 + HOUR / 2)
    again = promote(live_settings, T0)
    following = promote(live_settings, T0 + HOUR)

    assert first.summary()["late_assigned"] == 1
    assert again.superseded_by == T0.isoformat()
    assert following.summary()["late_assigned"] == 1
    with engine.connect() as conn:
        owners = set(conn.execute(select(Contact.owner_id)).scalars())
    assert owners == {owner}
