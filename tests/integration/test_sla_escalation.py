"""SLA hours against the real store, Slack and SMTP: the first-touch ladder, reruns,
touches that stop it, imported history (recent pages, historic pages nobody), breaches
that stay, clocks a recycle closes, `export sla` and `leadflow explain`."""

import csv
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from app.cli import _register_commands, app
from leadflow.settings import Settings
from models.rules import Rules, load_rules
from models.tables import (
    Contact,
    FollowUpTask,
    OwnerAssignment,
    Quarantine,
    SlaClock,
    SlaEscalation,
)
from tasks.imports import import_file
from tasks.sla.hour import sla_hour
from tasks.sla.report import SlaOutcome, sla_markdown
from tasks.status.run import log_activity, set_status
from tests.support.hours import inside_one_flow
from tests.support.seeding import Seeder
from tests.support.settings import settings_for
from tests.support.slack_api import FakeSlackApi
from tests.support.smtp import LoopbackSmtpServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

RULES = load_rules(Path(__file__).resolve().parents[2] / "rules" / "default.yaml")
FIRST_TOUCH_ONLY = RULES.model_copy(
    update={"sla": RULES.sla.model_copy(update={"policies": [RULES.sla.policy("first_touch")]})}
)
# Tuesday 2026-11-17 10:00 in Tokyo: a plain business week.
T0 = datetime(2026, 11, 17, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
TOKYO = "+09:00"


@pytest.fixture
def w(engine: Engine) -> Seeder:
    """The seeder for a world created a month before T0."""
    return Seeder(engine, created_at=T0 - timedelta(days=30))


@pytest.fixture
def live(
    settings: Settings, slack_api: FakeSlackApi, smtp_server: LoopbackSmtpServer
) -> Settings:
    """Settings that send Slack to the loopback Slack API and email to the loopback SMTP."""
    return settings_for(settings.database_url, slack_token=slack_api.TOKEN,
                        slack_api_url=slack_api.url, **smtp_server.smtp_settings())


@pytest.fixture
def team(w: Seeder) -> dict[str, int]:
    """An IS owner on Slack whose manager is an (inactive) owner on Slack, and a colleague."""
    owner = w.owner(email="sato@example.com", name="佐藤", team="is", slack_user_id="UOWNER1")
    boss = w.owner(email="boss@example.com", name="鈴木部長", team="is",
                   slack_user_id="UBOSS01", active=False)
    other = w.owner(email="tanaka@example.com", name="田中", team="is", slack_user_id="UOTHER1")
    w.owner_manager(owner, "boss@example.com")
    return {"owner": owner, "boss": boss, "other": other}


def mql(w: Seeder, owner: int | None, *, at: datetime = T0,
        email: str = "taro@acme.example") -> int:
    """A lead handed to inside sales at `at` (stage history, status new, owner assigned)."""
    company = w.company(domain=email.split("@")[1], name="Acme & <Co>")
    contact_id = w.contact(email=email, first_name="太郎", last_name="山田",
                           company_id=company, lifecycle_stage="mql")
    w.score(contact_id=contact_id, score=62, at=at - HOUR)
    w.stage_change(contact_id=contact_id, from_stage="lead", to_stage="mql", at=at,
                   rule="mql_score")
    w.lead_status_change(contact_id=contact_id, from_status=None, to_status="new", at=at,
                         source="promotion")
    if owner is not None:
        w.assignment(contact_id=contact_id, owner_id=owner, at=at)
    return contact_id


def run(settings: Settings, as_of: datetime, rules: Rules = FIRST_TOUCH_ONLY) -> SlaOutcome:
    """One SLA hour, exactly as the sla-escalation flow runs it."""
    return sla_hour(settings=settings, rules=rules, as_of=as_of)


def rows(engine: Engine, table: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(table).order_by(table.id)).all())


@inside_one_flow
def test_an_untouched_mql_reminds_the_owner_then_the_manager_then_is_reassigned_once_each(
    engine: Engine, w: Seeder, team: dict[str, int], live: Settings, slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer,
) -> None:
    lead = mql(w, team["owner"])

    run(live, T0)
    assert slack_api.posted() == [] and smtp_server.received == []

    day1 = run(live, T0 + 24 * HOUR)
    run(live, T0 + 24 * HOUR)  # a rerun of the hour: already decided
    [dm] = slack_api.posted()
    [mail] = smtp_server.messages()
    assert dm["channel"] == "DUOWNER1"
    assert "初回接触" in str(dm["text"]) and "山田 太郎" in str(dm["text"])
    blocks = str(dm["blocks"])
    assert "Acme &amp; &lt;Co&gt;" in blocks and "62" in blocks and "期限到来" in blocks
    assert "`leadflow log-activity`" in blocks and "最終接触*\\nなし" in blocks
    assert mail["To"].addresses[0].addr_spec == "sato@example.com"
    assert "[SLA超過] 初回接触" in str(mail["Subject"])
    assert day1.summary()["escalations"] == {"first_touch:1": 1}

    run(live, T0 + 30 * HOUR)
    run(live, T0 + 48 * HOUR)
    manager_dm = slack_api.posted()[1]
    manager_mail = smtp_server.messages()[1]
    assert manager_dm["channel"] == "DUBOSS01" and "1日超過" in str(manager_dm["blocks"])
    assert manager_mail["To"].addresses[0].addr_spec == "boss@example.com"

    day3 = run(live, T0 + 72 * HOUR)
    run(live, T0 + 73 * HOUR)
    assert len(slack_api.posted()) == 3 and len(smtp_server.received) == 2
    channel_post = slack_api.posted()[2]
    assert channel_post["channel"] == "#is-team"
    assert "<@UOWNER1> → <@UOTHER1>" in str(channel_post["blocks"])
    assert day3.summary()["reassigned"] == 1
    with engine.connect() as conn:
        owner_now = conn.execute(select(Contact.owner_id).where(Contact.id == lead)).scalar()
    assert owner_now == team["other"]
    assert [(a.owner_id, a.reason) for a in rows(engine, OwnerAssignment)] == [
        (team["owner"], "test"), (team["other"], "sla first_touch level 3")
    ]
    [clock] = rows(engine, SlaClock)
    assert (clock.level, clock.breached_at, clock.satisfied_at) == (3, T0 + 24 * HOUR, None)
    assert [e.level for e in rows(engine, SlaEscalation)] == [1, 2, 3]
    assert "| first_touch | 3 | 1 | 1 |" in sla_markdown(day3)


@inside_one_flow
def test_a_touch_before_24_hours_satisfies_the_clock_and_nothing_fires(
    engine: Engine, w: Seeder, team: dict[str, int], live: Settings, slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer,
) -> None:
    lead = mql(w, team["owner"])
    w.activity(contact_id=lead, type="call", outcome="no_answer", occurred_at=T0 + 23 * HOUR)

    outcomes = [run(live, T0 + hours * HOUR) for hours in (1, 24, 48, 72)]

    assert slack_api.posted() == [] and smtp_server.received == []
    # Once its clock is satisfied the contact is settled: later hours do not read it.
    assert [o.decisions.contacts for o in outcomes] == [1, 1, 0, 0]
    [clock] = rows(engine, SlaClock)
    assert (clock.satisfied_at, clock.breached_at, clock.level) == (T0 + 23 * HOUR, None, 0)
    assert rows(engine, SlaEscalation) == []


@inside_one_flow
def test_an_mql_from_two_years_ago_opens_and_breaches_its_clocks_but_pages_nobody(
    engine: Engine, w: Seeder, team: dict[str, int], live: Settings, slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer,
) -> None:
    long_ago = T0 - timedelta(days=730)
    mql(w, team["owner"], at=long_ago)

    outcome = run(live, T0, rules=RULES)

    assert slack_api.posted() == [] and smtp_server.received == []
    clocks = rows(engine, SlaClock)
    assert sorted(c.policy for c in clocks) == [
        "first_touch", "follow_ups", "sql_decision", "stale_new"
    ]
    assert all(c.breached_at is not None and c.level == 0 for c in clocks)
    assert outcome.summary()["clocks_breached"] == {
        "first_touch": 1, "follow_ups": 1, "sql_decision": 1, "stale_new": 1
    }
    assert [(t.day, t.done_at) for t in rows(engine, FollowUpTask)] == [
        (0, None), (3, None), (7, None)
    ]
    assert rows(engine, SlaEscalation) == []


@inside_one_flow
def test_follow_up_tasks_are_stored_at_the_hand_off_and_marked_done_by_touches(
    engine: Engine, w: Seeder, team: dict[str, int], settings: Settings,
) -> None:
    lead = mql(w, team["owner"])

    run(settings, T0, rules=RULES)
    w.activity(contact_id=lead, type="call", outcome="connected", occurred_at=T0 + 2 * HOUR)
    run(settings, T0 + 3 * HOUR, rules=RULES)

    tasks = rows(engine, FollowUpTask)
    assert [(t.day, t.owner_id) for t in tasks] == [(0, team["owner"]), (3, team["owner"]),
                                                    (7, team["owner"])]
    assert [t.done_at for t in tasks] == [T0 + 2 * HOUR, None, None]
    # Business day 0 closes Tue 18:00, day 3 Fri 18:00, day 7 the next Fri 18:00 (Tokyo):
    # Monday 11-23 is Labour Thanksgiving Day.
    assert [t.due_at for t in tasks] == [
        datetime(2026, 11, 17, 9, tzinfo=UTC), datetime(2026, 11, 20, 9, tzinfo=UTC),
        datetime(2026, 11, 27, 9, tzinfo=UTC),
    ]


def test_run_sla_and_export_sla_on_the_cli_write_one_row_per_clock_with_tokyo_offsets(
    w: Seeder, team: dict[str, int], settings: Settings, tmp_path: Path,
    use_settings: Callable[[Settings], Settings],
) -> None:
    use_settings(settings)
    lead = mql(w, team["owner"], email="=cmd@acme.example")
    w.activity(contact_id=lead, type="call", outcome="no_answer", occurred_at=T0 + 30 * HOUR)
    rules = tmp_path / "first_touch.yaml"
    rules.write_text(yaml.safe_dump(FIRST_TOUCH_ONLY.model_dump(mode="json", by_alias=True),
                                    allow_unicode=True), encoding="utf-8")
    _register_commands()
    runner = CliRunner()
    for hour in ("2026-11-18T10:00", "2026-11-18T16:00+09:00"):
        result = runner.invoke(app, ["run", "sla", "--as-of", hour, "--rules", str(rules)])
        assert "escalations" in result.output, result.output + repr(result.exception)

    path = tmp_path / "sla.csv"
    result = runner.invoke(app, ["export", "sla", "-o", str(path)])

    assert result.exit_code == 0 and "wrote 1 SLA clocks" in result.output, result.output
    with path.open(newline="", encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    assert exported == [{
        "email": "'=cmd@acme.example", "policy": "first_touch", "cycle": "1",
        "started_at": f"2026-11-17T10:00:00{TOKYO}", "due_at": f"2026-11-18T10:00:00{TOKYO}",
        "satisfied_at": f"2026-11-18T16:00:00{TOKYO}",
        "breached_at": f"2026-11-18T10:00:00{TOKYO}", "level": "1", "closed_at": "",
    }]


def test_export_sla_to_a_folder_that_does_not_exist_fails_with_one_line(
    settings: Settings, tmp_path: Path, use_settings: Callable[[Settings], Settings],
) -> None:
    use_settings(settings)
    _register_commands()

    result = CliRunner().invoke(app, ["export", "sla", "-o", str(tmp_path / "no" / "x.csv")])

    assert result.exit_code == 1
    assert "cannot write" in result.output and "Traceback" not in result.output


@inside_one_flow
def test_a_dry_run_shows_the_escalation_but_writes_and_sends_nothing(
    engine: Engine, w: Seeder, team: dict[str, int], live: Settings, slack_api: FakeSlackApi,
) -> None:
    mql(w, team["owner"])

    dry = sla_hour(settings=live, rules=FIRST_TOUCH_ONLY, as_of=T0 + 24 * HOUR, dry_run=True)

    assert dry.summary()["escalations"] == {"first_touch:1": 1}
    assert (dry.summary()["slack_decided"], dry.summary()["emails_decided"]) == (1, 1)
    assert "(dry run: nothing written)" in sla_markdown(dry)
    assert slack_api.posted() == []
    assert rows(engine, SlaClock) == [] and rows(engine, SlaEscalation) == []


def import_contacts(engine: Engine, tmp_path: Path, lines: list[str], *, now: datetime) -> None:
    """`leadflow import contacts` of these CSV lines (after the header), as run at `now`."""
    path = tmp_path / "contacts.csv"
    header = "email,first_name,last_name,lifecycle_stage,owner_email,became_mql_at,became_sql_at"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    summary = import_file(engine, kind="contacts", path=path, source=path.name,
                          naive_tz=ZoneInfo("Asia/Tokyo"), now=now)
    assert summary.quarantined_rows == 0, summary


def clocks_by_email(engine: Engine) -> dict[tuple[str, str], Any]:
    with engine.connect() as conn:
        emails = dict(conn.execute(select(Contact.id, Contact.email)).tuples().all())
    return {(emails[clock.contact_id], clock.policy): clock for clock in rows(engine, SlaClock)}


@inside_one_flow
def test_contacts_imported_as_mql_two_days_ago_open_breached_clocks_and_page_the_owner(
    engine: Engine, w: Seeder, team: dict[str, int], live: Settings, slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer, tmp_path: Path,
) -> None:
    import_contacts(engine, tmp_path, [
        "taro@acme.example,太郎,山田,mql,sato@example.com,2026-11-15T10:00:00+09:00,",
        "hana@acme.example,花,鈴木,sql,sato@example.com,2026-11-15T10:00,2026-11-16T15:00",
    ], now=T0 - HOUR)

    outcome = run(live, T0, rules=RULES)

    clocks = clocks_by_email(engine)
    assert sorted(policy for email, policy in clocks if email == "taro@acme.example") == [
        "first_touch", "follow_ups", "sql_decision"
    ]
    mql_at = T0 - 48 * HOUR
    first = clocks[("taro@acme.example", "first_touch")]
    assert (first.started_at, first.breached_at, first.level) == (mql_at, T0 - 24 * HOUR, 2)
    # The imported move into sql is the SQL decision (Monday 15:00 Tokyo).
    decided = clocks[("hana@acme.example", "sql_decision")]
    assert (decided.satisfied_at, decided.breached_at) == (
        datetime(2026, 11, 16, 6, tzinfo=UTC), None
    )
    assert outcome.summary()["escalations_applied"]["first_touch:1"] == 2
    assert outcome.summary()["quarantined"] == 0
    assert rows(engine, Quarantine) == []
    assert {p["channel"] for p in slack_api.posted()} == {"DUOWNER1", "DUBOSS01"}
    assert smtp_server.received


@inside_one_flow
def test_contacts_imported_as_mql_two_years_ago_open_their_clocks_and_page_nobody(
    engine: Engine, w: Seeder, team: dict[str, int], live: Settings, slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer, tmp_path: Path,
) -> None:
    import_contacts(engine, tmp_path, [
        "taro@acme.example,太郎,山田,mql,sato@example.com,2024-11-15T10:00:00+09:00,",
    ], now=T0 - HOUR)

    outcome = run(live, T0, rules=RULES)

    clocks = rows(engine, SlaClock)
    assert sorted(c.policy for c in clocks) == ["first_touch", "follow_ups", "sql_decision"]
    assert all(c.breached_at is not None and c.level == 0 for c in clocks)
    assert outcome.summary()["escalations"] == {}
    assert rows(engine, SlaEscalation) == []
    assert slack_api.posted() == [] and smtp_server.received == []


@inside_one_flow
def test_a_breach_stays_recorded_when_a_touch_dated_before_it_is_logged_later(
    engine: Engine, w: Seeder, team: dict[str, int], settings: Settings,
) -> None:
    mql(w, team["owner"])
    run(settings, T0 + 24 * HOUR)
    [escalation] = rows(engine, SlaEscalation)

    log_activity(engine, rules=FIRST_TOUCH_ONLY, email="taro@acme.example", type="call",
                 outcome="no_answer", at=T0 + 2 * HOUR, now=T0 + 25 * HOUR)
    later = run(settings, T0 + 25 * HOUR)
    run(settings, T0 + 48 * HOUR)

    [clock] = rows(engine, SlaClock)
    assert (clock.satisfied_at, clock.breached_at, clock.level) == (
        T0 + 2 * HOUR, T0 + 24 * HOUR, 1
    )
    assert later.summary()["clocks_satisfied"] == {"first_touch": 1}
    assert rows(engine, SlaEscalation) == [escalation]


@inside_one_flow
def test_a_recycle_before_any_touch_closes_the_clocks_it_did_not_satisfy_and_pages_nobody(
    engine: Engine, w: Seeder, team: dict[str, int], live: Settings, slack_api: FakeSlackApi,
    smtp_server: LoopbackSmtpServer, tmp_path: Path,
    use_settings: Callable[[Settings], Settings],
) -> None:
    mql(w, team["owner"])
    run(live, T0, rules=RULES)
    recycled = T0 + 10 * HOUR
    set_status(engine, rules=RULES, email="taro@acme.example", status="recycle",
               reason="not a sales case yet", at=recycled, now=recycled)

    outcomes = [run(live, T0 + hours * HOUR, rules=RULES) for hours in (11, 24, 48, 96)]

    assert slack_api.posted() == [] and smtp_server.received == []
    assert rows(engine, SlaEscalation) == []
    assert outcomes[0].summary()["clocks_closed"] == {"first_touch": 1, "follow_ups": 1}
    # Closed clocks settle the contact: later hours do not read it again.
    assert [o.decisions.contacts for o in outcomes] == [1, 0, 0, 0]
    clocks = {c.policy: c for c in rows(engine, SlaClock)}
    assert {p: (c.satisfied_at, c.closed_at, c.breached_at) for p, c in clocks.items()} == {
        "first_touch": (None, recycled, None),
        "follow_ups": (None, recycled, None),
        # A recycle is a decision: the SQL-decision and stale-new clocks are satisfied
        # (stale_new late: 8 business hours ended at 18:00, before the recycle).
        "sql_decision": (recycled, None, None),
        "stale_new": (recycled, None, T0 + 8 * HOUR),
    }

    use_settings(live)
    _register_commands()
    path = tmp_path / "sla.csv"
    assert CliRunner().invoke(app, ["export", "sla", "-o", str(path)]).exit_code == 0
    with path.open(newline="", encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    assert list(exported[0]) == ["email", "policy", "cycle", "started_at", "due_at",
                                 "satisfied_at", "breached_at", "level", "closed_at"]
    first = next(r for r in exported if r["policy"] == "first_touch")
    assert (first["satisfied_at"], first["closed_at"]) == ("", f"2026-11-17T20:00:00{TOKYO}")

    explained = CliRunner().invoke(app, ["explain", "taro@acme.example"]).output
    assert ("first_touch (cycle 1): started 2026-11-17T10:00+09:00, due 2026-11-18T10:00+09:00, "
            "closed unsatisfied 2026-11-17T20:00+09:00 (the cycle ended), level 0") in explained
    assert ("cycle 1, day 3: due 2026-11-20T18:00+09:00, closed 2026-11-17T20:00+09:00 "
            "(the cycle ended)") in explained
    assert ", open" not in explained.split("follow-up tasks")[1]


@inside_one_flow
def test_explain_lists_each_escalation_with_whom_it_told_and_the_reassignment(
    engine: Engine, w: Seeder, team: dict[str, int], live: Settings,
    use_settings: Callable[[Settings], Settings],
) -> None:
    mql(w, team["owner"])
    for hours in (24, 48, 72):
        run(live, T0 + hours * HOUR)
    use_settings(live)
    _register_commands()

    result = CliRunner().invoke(app, ["explain", "taro@acme.example"])

    assert result.exit_code == 0, result.output
    section = result.output.split("SLA escalations")[1].split("follow-up tasks")[0]
    assert section.splitlines()[1:5] == [
        "  2026-11-18T10:00+09:00  first_touch level 1 (cycle 1, due 2026-11-18T10:00+09:00): "
        "notify → owner sato@example.com by slack, email",
        "  2026-11-19T10:00+09:00  first_touch level 2 (cycle 1, due 2026-11-19T10:00+09:00): "
        "notify → manager boss@example.com by slack, email",
        "  2026-11-20T10:00+09:00  first_touch level 3 (cycle 1, due 2026-11-20T10:00+09:00): "
        "reassign → team channel #is-team by slack",
        "    reassigned sato@example.com → tanaka@example.com",
    ]


@inside_one_flow
def test_explain_says_an_escalation_without_an_owner_went_to_the_team_channel(
    engine: Engine, w: Seeder, team: dict[str, int], live: Settings,
    use_settings: Callable[[Settings], Settings],
) -> None:
    mql(w, None)
    run(live, T0 + 24 * HOUR)
    use_settings(live)
    _register_commands()

    result = CliRunner().invoke(app, ["explain", "taro@acme.example"])

    assert ("first_touch level 1 (cycle 1, due 2026-11-18T10:00+09:00): notify → team channel "
            "by slack — no owner") in result.output
