"""A simulation is the hourly cycle, hour after hour: `leadflow simulate` over 48 hours
leaves exactly what 48 single cycle hours under the simulated clock leave.

The single hours run `tasks.cycle.run_cycle_hour` with `Clock.SIMULATED`: the one
per-hour wiring the `lead-cycle` flow runs (that flow itself always runs the live clock).
"""

import shutil
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import _register_commands, app
from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from models.rules import load_rules
from tasks.clock import Clock
from tasks.cycle import CycleOutcome, run_cycle_hour
from tests.support.hours import hours_from, run_hours
from tests.support.replay_state import eml_messages, replay_state
from tests.support.replay_world import TWO_DAYS_END, TWO_DAYS_START, seed_two_days
from tests.support.settings import settings_for

pytestmark = pytest.mark.usefixtures("prefect_harness")

_register_commands()


def test_a_48_hour_simulation_equals_48_single_hour_runs_under_the_same_clock(
    sqlite_database_url: str,
    sqlite_template: Path,
    tmp_path: Path,
    use_settings: Callable[[Settings], Settings],
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "single-hours.db")
    single_url = f"sqlite:///{tmp_path / 'single-hours.db'}"
    people = seed_two_days(sqlite_database_url)
    assert seed_two_days(single_url) == people

    use_settings(settings_for(sqlite_database_url, outbox_dir=tmp_path / "simulated"))
    simulated = CliRunner().invoke(app, [
        "simulate", "--from", TWO_DAYS_START.isoformat(), "--to", TWO_DAYS_END.isoformat(),
    ])
    assert simulated.exit_code == 0, simulated.output
    assert "replayed 48 hours" in simulated.output

    settings = settings_for(single_url, outbox_dir=tmp_path / "single", slack_console=True)
    rules = load_rules(DEFAULT_RULES_PATH)

    def one_hour(hour: datetime) -> CycleOutcome:
        return run_cycle_hour(settings=settings, rules=rules, as_of=hour, clock=Clock.SIMULATED)

    outcomes = run_hours(one_hour, hours_from(TWO_DAYS_START, TWO_DAYS_END))
    assert [o.problems() for o in outcomes if o.problems()] == []

    state, emails = replay_state(sqlite_database_url), eml_messages(tmp_path / "simulated")
    assert replay_state(single_url) == state
    assert eml_messages(tmp_path / "single") == emails

    # Every kind of work happened, so the equality above compares something.
    moves = {(to, kind) for _, _, to, _, _, kind, _ in state["stage_history"]}
    assert {("mql", "forward"), ("sql", "forward"), ("lead", "recycle"),
            ("lost_renurture", "renurture")} <= moves
    assert {"new", "recycle", "sales_ready"} <= {
        to for _, _, to, *_ in state["lead_status_history"]
    }
    assert {"first_touch", "follow_ups", "stale_new"} <= {
        policy for _, _, policy, *_ in state["sla_escalations"]
    }
    history = state["nurture_history"]
    assert {"entered", "queued", "sent", "exited", "completed"} <= {a for _, _, a, *_ in history}
    assert {"yes → email_3a", "no → email_3b"} <= {
        detail for _, _, action, _, detail in history if action == "branch"
    }
    downloads = [at for mail, _, _, at in state["email_sends"]
                 if mail.startswith(f"nurture:document_download:{people['downloader']}:")]
    assert len(downloads) == 2 and downloads[1] - downloads[0] == timedelta(days=1)
    outbox = state["outbox"]
    assert {channel for _, channel, *_ in outbox} == {"email", "internal_email", "slack"}
    assert {status for _, _, _, _, status, *_ in outbox} == {"sent"}
    assert [m for m, n in Counter((to, what) for to, what, *_ in emails).items() if n > 1] == []
    assert {what for _, what, *_ in emails if "/" in what} == {
        "document_download/dl_1", "document_download/dl_2", "new_lead/email_3a",
        "new_lead/email_3b", "recycled/recycled_1", "lost_deal/lost_1",
    }
    internal = [to for to, what, *_ in emails if "/" not in what]
    assert {"is@example.com", "is2@example.com", "fs@example.com"} <= set(internal)
    # The simulated clock dates every email at the hour that sent it.
    hours = set(hours_from(TWO_DAYS_START, TWO_DAYS_END))
    assert all(date in hours for _, _, _, date, _ in emails)
