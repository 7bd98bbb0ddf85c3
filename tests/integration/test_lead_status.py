"""Lead status through the real CLI: log-activity, set-status, imports and promotion."""

import inspect
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import Engine, select
from typer.testing import CliRunner, Result

from app.cli import _register_commands, app
from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from models.rules import load_rules
from models.tables import (
    Activity,
    Contact,
    FollowUpTask,
    LeadStatusHistory,
    OwnerAssignment,
    SlaClock,
    StageHistory,
)
from tasks.promotion.hour import promote_hour
from tests.support.seeding import Seeder

# 2026-05-01 10:00 in Tokyo.
T0 = datetime(2026, 5, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def leadflow(
    settings: Settings, use_settings: Callable[[Settings], Settings]
) -> Callable[..., Result]:
    """Run a `leadflow` command on the test database."""
    use_settings(settings)
    _register_commands()

    def run(*arguments: str) -> Result:
        result = CliRunner().invoke(app, list(arguments))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return run


def statuses(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(
                    LeadStatusHistory.contact_id, LeadStatusHistory.from_status,
                    LeadStatusHistory.to_status, LeadStatusHistory.at,
                    LeadStatusHistory.source, LeadStatusHistory.reason,
                ).order_by(LeadStatusHistory.at, LeadStatusHistory.id)
            )
        ]


def contact(engine: Engine, contact_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(Contact).where(Contact.id == contact_id)).one()


def everything(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a status command could write, to prove it wrote nothing."""
    tables = (Contact, Activity, LeadStatusHistory, StageHistory, OwnerAssignment)
    with engine.connect() as conn:
        return {
            t.__tablename__: [tuple(r) for r in conn.execute(select(t).order_by(t.id))]
            for t in tables
        }


def test_log_activity_records_a_call_and_moves_new_to_attempting_once(
    engine: Engine, seed: Seeder, leadflow: Callable[..., Result]
) -> None:
    owner = seed.owner(email="is1@example.com")
    taro = seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="new")
    command = ("log-activity", "taro@acme.example", "--type", "call", "--outcome", "no_answer",
               "--at", "2026-05-01T10:00", "--owner", "is1@example.com", "--note", "留守電なし")

    first = leadflow(*command)
    again = leadflow(*command)

    assert first.exit_code == 0, first.output
    assert first.output.strip() == (
        "recorded call no_answer for taro@acme.example at 2026-05-01T10:00+09:00; "
        "lead status new → attempting"
    )
    assert again.exit_code == 0, again.output
    assert again.output.startswith("already recorded: call no_answer for taro@acme.example")
    with engine.connect() as conn:
        [activity] = conn.execute(select(Activity)).all()
    assert (activity.contact_id, activity.owner_id, activity.type, activity.outcome,
            activity.occurred_at, activity.note) == (taro, owner, "call", "no_answer", T0,
                                                     "留守電なし")
    assert statuses(engine) == [
        (taro, "new", "attempting", T0, "activity", "activity outcome no_answer")
    ]
    assert contact(engine, taro).lead_status == "attempting"


def test_a_late_logged_no_answer_leaves_a_connected_lead_connected(
    engine: Engine, seed: Seeder, leadflow: Callable[..., Result]
) -> None:
    seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="connected")

    result = leadflow("log-activity", "taro@acme.example", "--type", "call",
                      "--outcome", "no_answer", "--at", "2026-05-01T10:00+09:00")

    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("; lead status stays connected")
    assert statuses(engine) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("nobody@acme.example", "--type", "call", "--outcome", "no_answer"),
         "no contact with email 'nobody@acme.example'"),
        (("taro@acme.example", "--type", "fax", "--outcome", "no_answer"),
         "--type 'fax' is not one of: call, email, meeting"),
        (("taro@acme.example", "--type", "call", "--outcome", "maybe"),
         "--outcome 'maybe' is not one of: connected, no_answer, voicemail"),
        (("taro@acme.example", "--type", "call", "--outcome", "no_answer", "--owner",
          "ghost@example.com"),
         "--owner 'ghost@example.com' is not a known owner (owners: is1@example.com)"),
        (("taro@acme.example", "--type", "call", "--outcome", "no_answer", "--at", "soon"),
         "--at 'soon' is not an ISO 8601 timestamp"),
    ],
)
def test_log_activity_refuses_unknown_values_with_one_line_and_writes_nothing(
    arguments: tuple[str, ...], message: str, engine: Engine, seed: Seeder,
    leadflow: Callable[..., Result],
) -> None:
    seed.owner(email="is1@example.com")
    seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="new")
    before = everything(engine)

    result = leadflow("log-activity", *arguments)

    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert everything(engine) == before


def test_log_activity_without_at_twice_in_one_minute_records_one_activity_at_that_minute(
    engine: Engine, seed: Seeder, leadflow: Callable[..., Result]
) -> None:
    seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="new")
    command = ("log-activity", "taro@acme.example", "--type", "call", "--outcome", "no_answer")
    if datetime.now(UTC).second >= 50:
        # Both runs must fall in one minute: start at the top of the next one.
        time.sleep(61 - datetime.now(UTC).second)

    first = leadflow(*command)
    again = leadflow(*command)

    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    assert again.output.startswith("already recorded: call no_answer for taro@acme.example")
    with engine.connect() as conn:
        [occurred_at] = conn.execute(select(Activity.occurred_at)).scalars().all()
    assert (occurred_at.second, occurred_at.microsecond) == (0, 0)
    assert [row[2] for row in statuses(engine)] == ["attempting"]


def test_a_call_logged_in_the_minute_of_the_last_status_change_still_moves_the_status(
    engine: Engine, seed: Seeder, leadflow: Callable[..., Result]
) -> None:
    seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="new")
    call = ("log-activity", "taro@acme.example", "--type", "call", "--at", "2026-05-01T10:00")

    assert leadflow(*call, "--outcome", "no_answer").exit_code == 0
    result = leadflow(*call, "--outcome", "connected")

    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("; lead status attempting → connected")
    assert [row[1:4] for row in statuses(engine)] == [
        ("new", "attempting", T0), ("attempting", "connected", T0)
    ]


@pytest.mark.parametrize(
    "command",
    [
        ("log-activity", "taro@acme.example", "--type", "call", "--outcome", "connected"),
        ("set-status", "taro@acme.example", "connected"),
        ("set-status", "taro@acme.example", "retry", "--retry-at", "2030-02-01T10:00"),
    ],
)
def test_an_at_in_the_future_is_refused_with_one_line_and_writes_nothing(
    command: tuple[str, ...], engine: Engine, seed: Seeder, leadflow: Callable[..., Result]
) -> None:
    seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="attempting")
    before = everything(engine)

    result = leadflow(*command, "--at", "2030-01-01T10:00")

    assert result.exit_code == 1
    assert result.output.strip() == "--at 2030-01-01T10:00+09:00 is in the future"
    assert everything(engine) == before


def test_an_at_a_minute_ahead_of_this_clock_is_accepted(
    engine: Engine, seed: Seeder, leadflow: Callable[..., Result]
) -> None:
    taro = seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="new")
    soon = (datetime.now(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)

    result = leadflow("set-status", "taro@acme.example", "attempting", "--at", soon.isoformat())

    assert result.exit_code == 0, result.output
    assert statuses(engine) == [(taro, "new", "attempting", soon, "cli", None)]


def test_set_status_sales_ready_makes_the_lead_an_sql_with_its_history(
    engine: Engine, seed: Seeder, leadflow: Callable[..., Result]
) -> None:
    taro = seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="connected")

    result = leadflow("set-status", "taro@acme.example", "sales_ready",
                      "--reason", "予算と時期が確定", "--at", "2026-05-01T10:00")

    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "lead status of taro@acme.example: connected → sales_ready at 2026-05-01T10:00+09:00 "
        "(reason: 予算と時期が確定); lifecycle mql → sql"
    )
    assert statuses(engine) == [(taro, "connected", "sales_ready", T0, "cli", "予算と時期が確定")]
    with engine.connect() as conn:
        [move] = conn.execute(select(StageHistory)).all()
    assert (move.from_stage, move.to_stage, move.at, move.rule, move.kind) == (
        "mql", "sql", T0, "lead_status:sales_ready", "forward"
    )
    assert (contact(engine, taro).lifecycle_stage, contact(engine, taro).lead_status) == (
        "sql", "sales_ready"
    )


@pytest.mark.parametrize(
    ("current", "arguments", "message"),
    [
        ("connected", ("new",), "cannot move lead status connected → new"),
        ("attempting", ("sales_ready",), "cannot move lead status attempting → sales_ready"),
        ("sales_ready", ("recycle", "--reason", "x"), "cannot move lead status sales_ready → "
                                                      "recycle"),
        ("connected", ("retry",), "retry needs a re-approach date (--retry-at)"),
        ("connected", ("recycle",), "recycle needs a reason (--reason)"),
        ("connected", ("lost",), "STATUS 'lost' is not one of: new, attempting"),
    ],
)
def test_an_invalid_status_move_exits_non_zero_and_changes_nothing(
    current: str, arguments: tuple[str, ...], message: str, engine: Engine, seed: Seeder,
    leadflow: Callable[..., Result],
) -> None:
    seed.owner(email="mkt@example.com", team="marketing")
    seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status=current)
    before = everything(engine)

    result = leadflow("set-status", "taro@acme.example", *arguments)

    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert everything(engine) == before


@pytest.mark.parametrize(
    ("current", "arguments", "message"),
    [
        ("connected", ("connected",), "lead status of taro@acme.example is already connected"),
        ("recycle", ("recycle",), "lead status of taro@acme.example is already recycle"),
        ("retry", ("retry", "--retry-at", "2026-07-01T10:00"),
         "lead status of taro@acme.example is already retry "
         "(re-approach 2026-06-01T10:00+09:00)"),
    ],
)
def test_setting_the_status_a_lead_already_has_exits_0_and_changes_nothing(
    current: str, arguments: tuple[str, ...], message: str, engine: Engine, seed: Seeder,
    leadflow: Callable[..., Result],
) -> None:
    seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="connected")
    if current != "connected":
        assert leadflow("set-status", "taro@acme.example", current, "--reason", "来期予算",
                        "--at", "2026-05-01T10:00",
                        "--retry-at", "2026-06-01T10:00").exit_code == 0
    before = everything(engine)

    result = leadflow("set-status", "taro@acme.example", *arguments)

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{message}; nothing changed"
    assert everything(engine) == before


def test_a_set_status_dated_before_the_current_status_names_both_times_in_business_time(
    engine: Engine, seed: Seeder, leadflow: Callable[..., Result]
) -> None:
    seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="new")
    assert leadflow("set-status", "taro@acme.example", "attempting",
                    "--at", "2026-05-02T10:00").exit_code == 0
    before = everything(engine)

    result = leadflow("set-status", "taro@acme.example", "connected",
                      "--at", "2026-05-01T10:00+09:00")

    assert result.exit_code == 1
    assert result.output.strip() == (
        "cannot move lead status attempting → connected at 2026-05-01T10:00+09:00: "
        "it became attempting later, at 2026-05-02T10:00+09:00"
    )
    assert everything(engine) == before


def test_set_status_retry_keeps_the_stage_and_records_the_re_approach_date(
    engine: Engine, seed: Seeder, leadflow: Callable[..., Result]
) -> None:
    taro = seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="connected")

    result = leadflow("set-status", "taro@acme.example", "retry", "--at", "2026-05-01T10:00",
                      "--retry-at", "2026-06-01T10:00")

    assert result.exit_code == 0, result.output
    assert "connected → retry" in result.output
    assert "re-approach 2026-06-01T10:00+09:00" in result.output
    assert "lifecycle stays mql" in result.output
    with engine.connect() as conn:
        row = conn.execute(select(LeadStatusHistory)).one()
    assert (row.contact_id, row.to_status, row.retry_at) == (
        taro, "retry", datetime(2026, 6, 1, 1, tzinfo=UTC)
    )


def test_recycle_hands_the_lead_back_to_a_marketing_owner_with_its_reason(
    engine: Engine, seed: Seeder, leadflow: Callable[..., Result]
) -> None:
    sales = seed.owner(email="is1@example.com")
    marketing = seed.owner(email="mkt@example.com", team="marketing")
    taro = seed.contact(email="taro@acme.example", lifecycle_stage="mql",
                        lead_status="attempting", owner_id=sales)

    result = leadflow("set-status", "taro@acme.example", "recycle",
                      "--reason", "not_a_sales_case_yet", "--at", "2026-05-01T10:00")

    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(
        "; lifecycle mql → lead; owner → mkt@example.com (marketing)"
    )
    assert (contact(engine, taro).lifecycle_stage, contact(engine, taro).lead_status,
            contact(engine, taro).owner_id) == ("lead", "recycle", marketing)
    with engine.connect() as conn:
        move = conn.execute(select(StageHistory)).one()
        assignment = conn.execute(select(OwnerAssignment)).one()
    assert (move.from_stage, move.to_stage, move.kind, move.reason) == (
        "mql", "lead", "recycle", "not_a_sales_case_yet"
    )
    assert (assignment.owner_id, assignment.team, assignment.at) == (marketing, "marketing", T0)
    assert statuses(engine) == [
        (taro, "attempting", "recycle", T0, "cli", "not_a_sales_case_yet")
    ]


def test_the_activities_import_moves_statuses_once_in_time_order(
    engine: Engine, seed: Seeder, leadflow: Callable[..., Result], tmp_path: Path
) -> None:
    taro = seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="new")
    hana = seed.contact(email="hana@acme.example", lifecycle_stage="mql", lead_status="new")
    seed.contact(email="jiro@acme.example", lifecycle_stage="lead")
    csv = tmp_path / "activities.csv"
    csv.write_text(
        "activity_id,email,type,outcome,occurred_at\n"
        "a-3,taro@acme.example,call,connected,2026-05-02 10:00\n"
        "a-1,taro@acme.example,call,no_answer,2026-05-01 10:00\n"
        "a-2,taro@acme.example,call,no_answer,2026-05-01 15:00\n"
        "a-4,hana@acme.example,email,not_interested,2026-05-01 10:00\n"
        "a-5,jiro@acme.example,call,connected,2026-05-01 10:00\n",
        encoding="utf-8",
    )

    first = leadflow("import", "activities", str(csv))
    history = statuses(engine)
    again = leadflow("import", "activities", str(csv))

    assert first.exit_code == 0, first.output
    assert "lead statuses changed: 3" in first.output
    assert again.exit_code == 0, again.output
    assert "lead statuses changed: 0" in again.output
    assert history == statuses(engine) == [
        (taro, "new", "attempting", T0, "import", "activity outcome no_answer"),
        (hana, "new", "unqualified", T0, "import", "activity outcome not_interested"),
        (taro, "attempting", "connected", T0 + 24 * HOUR, "import",
         "activity outcome connected"),
    ]
    assert contact(engine, hana).lifecycle_stage == "other"


def test_a_contacts_import_that_changes_a_status_writes_its_history(
    engine: Engine, seed: Seeder, leadflow: Callable[..., Result], tmp_path: Path
) -> None:
    taro = seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="new")
    csv = tmp_path / "contacts.csv"
    csv.write_text(
        "email,lifecycle_stage,lead_status\n"
        "taro@acme.example,mql,ATTEMPTED_TO_CONTACT\n"
        "hana@acme.example,mql,new\n"
        "jiro@acme.example,lead,\n",
        encoding="utf-8",
    )

    first = leadflow("import", "contacts", str(csv))
    again = leadflow("import", "contacts", str(csv))

    assert first.exit_code == 0, first.output
    assert "lead statuses changed: 2" in first.output
    assert "lead statuses changed" not in again.output
    with engine.connect() as conn:
        hana = conn.execute(
            select(Contact.id).where(Contact.email == "hana@acme.example")
        ).scalar_one()
    rows = [(c, f, t, s) for c, f, t, _, s, _ in statuses(engine)]
    assert sorted(rows) == sorted([(taro, "new", "attempting", "import"),
                                   (hana, None, "new", "import")])
    with engine.connect() as conn:
        assert conn.execute(select(StageHistory)).all() == []


@pytest.mark.usefixtures("prefect_harness")
def test_promotion_to_mql_writes_a_status_history_row(
    engine: Engine, seed: Seeder, settings: Settings
) -> None:
    rules = load_rules(DEFAULT_RULES_PATH)
    seed.owner(email="is1@example.com")
    taro = seed.contact(email="taro@acme.example", lifecycle_stage="lead",
                        lead_status="recycle")
    seed.score(contact_id=taro, score=80, at=T0 - HOUR)

    promote_hour(settings=settings, rules=rules, as_of=T0)
    promote_hour(settings=settings, rules=rules, as_of=T0)

    [row] = statuses(engine)
    assert row[:5] == (taro, "recycle", "new", T0, "promotion")
    assert "lead → mql" in row[5]


def test_explain_shows_status_history_sla_clocks_and_follow_ups_in_business_time(
    engine: Engine, seed: Seeder, leadflow: Callable[..., Result]
) -> None:
    taro = seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="connected")
    with engine.begin() as conn:
        conn.execute(SlaClock.__table__.insert().values(
            contact_id=taro, cycle=1, policy="first_touch", started_at=T0,
            due_at=T0 + 24 * HOUR, satisfied_at=None, breached_at=T0 + 24 * HOUR, level=1,
            updated_at=T0,
        ))
        conn.execute(FollowUpTask.__table__.insert().values(
            contact_id=taro, cycle=1, day=0, due_at=T0 + 8 * HOUR,
            done_at=T0 + 2 * HOUR, created_at=T0,
        ))
    assert leadflow("set-status", "taro@acme.example", "retry", "--at", "2026-05-01T12:00",
                    "--retry-at", "2026-05-11T10:00", "--reason", "来期予算").exit_code == 0

    result = leadflow("explain", "taro@acme.example")

    assert result.exit_code == 0, result.output
    text = result.output
    assert ("2026-05-01T12:00+09:00  connected → retry, re-approach 2026-05-11T10:00+09:00 "
            "(cli: 来期予算)") in text
    assert ("first_touch (cycle 1): started 2026-05-01T10:00+09:00, due "
            "2026-05-02T10:00+09:00, not satisfied, breached 2026-05-02T10:00+09:00, "
            "level 1") in text
    assert "cycle 1, day 0: due 2026-05-01T18:00+09:00, done 2026-05-01T12:00+09:00" in text


def test_an_activity_older_than_the_latest_status_change_says_why_nothing_moved(
    engine: Engine, seed: Seeder, leadflow: Callable[..., Result]
) -> None:
    seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="new")
    assert leadflow("set-status", "taro@acme.example", "attempting",
                    "--at", "2026-05-02T10:00").exit_code == 0

    result = leadflow("log-activity", "taro@acme.example", "--type", "call",
                      "--outcome", "connected", "--at", "2026-05-01T10:00")

    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(
        "; lead status stays attempting (it was set later, at 2026-05-02T10:00+09:00)"
    )


def test_erasing_a_contact_removes_its_status_history(
    engine: Engine, seed: Seeder, leadflow: Callable[..., Result]
) -> None:
    seed.contact(email="taro@acme.example", lifecycle_stage="mql", lead_status="new")
    assert leadflow("log-activity", "taro@acme.example", "--type", "call",
                    "--outcome", "no_answer").exit_code == 0

    result = leadflow("erase", "taro@acme.example")

    assert result.exit_code == 0, result.output
    assert "lead status history rows: 1" in result.output
    assert statuses(engine) == []


def test_every_command_sums_itself_up_in_one_line_in_leadflow_help() -> None:
    """`leadflow --help` shows each command's first help paragraph with its line breaks."""
    _register_commands()
    broken = []
    pending: list[tuple[str, Any]] = [("leadflow", typer.main.get_command(app))]
    while pending:
        name, command = pending.pop()
        summary = inspect.cleandoc(command.help or "").split("\n\n")[0]
        if "\n" in summary:
            broken.append(name)
        pending.extend(
            (f"{name} {sub}", child) for sub, child in getattr(command, "commands", {}).items()
        )

    assert broken == []
