"""`--dry-run` prints the decisions a run would apply as a table, and the flows return them."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from prefect.client.orchestration import get_client
from typer.testing import CliRunner

from app.cli import _register_commands, app
from flows.backfill import backfill
from flows.lead_cycle import lead_cycle
from flows.mql_promotion import mql_promotion
from leadflow.db import ensure_database
from leadflow.settings import Settings
from tests.support.seeding import Seeder
from tests.support.settings import settings_for

pytestmark = pytest.mark.usefixtures("prefect_harness")

# Friday 2026-11-20 12:00 in Tokyo: inside the nurture send window.
AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)
CYCLE_ARTIFACT = "lead-cycle-dry-run-decisions"


@pytest.fixture
def settings(database_url: str, use_settings: Callable[[Settings], Settings]) -> Settings:
    """The test database (SQLite, then PostgreSQL); email into files and Slack to the
    console (a dry run uses neither)."""
    return use_settings(settings_for(database_url, slack_console=True))


@pytest.fixture
def database(settings: Settings) -> str:
    """A new lead whose stored score (55) crosses the MQL line, and an MQL handed to IS 49
    hours ago that nobody has touched."""
    seed = Seeder(ensure_database(settings.database_url), created_at=AS_OF - timedelta(days=30))
    owner = seed.owner(email="is@example.com", name="Ito", team="is", slack_user_id="UIS")
    seed.owner_manager(owner, "boss@example.com")
    new = seed.contact(
        email="new@example.co.jp", created_at=AS_OF - timedelta(days=1), consent=True,
        job_title="部長", employee_count=300, industry="manufacturing",
        lifecycle_stage="lead", lead_source="webinar",
    )
    for hours_before, (type_, detail) in enumerate(
        [("page_view", "pricing"), ("form_submit", "document_download"),
         ("webinar_attended", "wb-1")],
        start=3,
    ):
        seed.event(contact_id=new, type=type_, detail=detail,
                   occurred_at=AS_OF - timedelta(hours=hours_before))
    seed.snapshot(contact_id=new, score=55, fit_score=20, as_of=AS_OF - timedelta(hours=1))
    seed.update_contact(new, score=55, scored_at=AS_OF - timedelta(hours=1))

    handoff = AS_OF - timedelta(hours=49)
    late = seed.contact(email="late@example.co.jp", lifecycle_stage="mql", lead_status="new")
    seed.stage_change(contact_id=late, from_stage="lead", to_stage="mql", at=handoff,
                      rule="mql_score")
    seed.assignment(contact_id=late, owner_id=owner, at=handoff)
    return settings.database_url


def table_rows(output: str, contact: str) -> list[str]:
    """The printed table's lines about one contact, spaces squeezed."""
    return [" ".join(line.split()) for line in output.splitlines() if contact in line]


@pytest.mark.usefixtures("database")
def test_run_cycle_dry_run_prints_the_promotion_email_and_escalations_it_would_apply() -> None:
    _register_commands()

    result = CliRunner().invoke(app, ["run", "cycle", "--as-of", "2026-11-20T12:00", "--dry-run"])

    assert result.exit_code == 0, result.output
    output = result.output
    assert output.index("dispatch_problems: []") < output.index("new@example.co.jp")
    new = table_rows(output, "new@example.co.jp")
    assert "promotion new@example.co.jp lead → mql rule mql_score: score crossed the MQL " \
           "threshold" in new
    assert "promotion new@example.co.jp assign owner Ito team is; mql via mql_score" in new
    assert any(line.startswith("nurture new@example.co.jp enrol new_lead") for line in new)
    assert any(
        line.startswith("nurture new@example.co.jp email new_lead/email_1 template")
        and "sends 2026-11-20T03:00Z" in line
        for line in new
    )
    late = table_rows(output, "late@example.co.jp")
    assert any(
        line.startswith("sla late@example.co.jp escalate first_touch level 1 → owner")
        for line in late
    )
    assert any(
        line.startswith("sla late@example.co.jp escalate first_touch level 2 → manager "
                        "via slack+email; owner Ito")
        for line in late
    )
    assert "decisions:" not in output and "decisions_artifact:" not in output


def test_the_dry_run_returns_its_decisions_and_leaves_them_by_id_in_an_artifact(
    database: str,
) -> None:
    state = lead_cycle(as_of=AS_OF, dry_run=True, return_state=True)
    summary = state.result()

    steps = [row["step"] for row in summary["decisions"]]
    assert steps == sorted(steps, key=["scoring", "promotion", "recycling", "nurture",
                                       "sla"].index)
    assert {"step": "promotion", "contact": "new@example.co.jp", "contact_id": 1,
            "decision": "lead → mql",
            "detail": "rule mql_score: score crossed the MQL threshold"} in summary["decisions"]
    assert summary["decisions_artifact"] == CYCLE_ARTIFACT
    with get_client(sync_client=True) as client:
        # Sent by hand: this Prefect's read_artifacts posts nulls the server rejects.
        response = client.request(
            "POST", "/artifacts/filter",
            json={"artifacts": {"key": {"any_": [CYCLE_ARTIFACT]},
                                "flow_run_id": {"any_": [str(state.state_details.flow_run_id)]}},
                  "limit": 1, "offset": 0},
        )
    [artifact] = response.json()
    table = json.loads(artifact["data"])
    assert [row["contact_id"] for row in table] == [
        row["contact_id"] for row in summary["decisions"]
    ]
    assert "@" not in artifact["data"], "artifacts carry ids, not addresses"
    assert "Ito" not in artifact["data"] and "owner #1" in artifact["data"]


@pytest.mark.usefixtures("database")
def test_a_real_run_returns_no_decision_rows() -> None:
    summary = mql_promotion(as_of=AS_OF)

    assert "decisions" not in summary and summary["promoted"] == {"mql": 1}


@pytest.mark.usefixtures("settings")
def test_a_dry_run_hour_with_nothing_to_do_says_so() -> None:
    _register_commands()

    result = CliRunner().invoke(
        app, ["run", "promotion", "--as-of", "2026-11-20T12:00", "--dry-run"]
    )

    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("no decisions: nothing would change this hour")


@pytest.mark.usefixtures("database")
def test_a_dry_run_backfill_gives_each_hour_its_decisions_stamped_with_the_hour() -> None:
    hours = backfill(start=AS_OF - timedelta(hours=1), end=AS_OF, dry_run=True)

    assert [hour["as_of"] for hour in hours] == [
        (AS_OF - timedelta(hours=1)).isoformat(), AS_OF.isoformat()
    ]
    last = hours[-1]["decisions"]
    assert {row["as_of"] for row in last} == {AS_OF.isoformat()}
    assert {"as_of": AS_OF.isoformat(), "step": "promotion", "contact": "new@example.co.jp",
            "contact_id": 1, "decision": "lead → mql",
            "detail": "rule mql_score: score crossed the MQL threshold"} in last
