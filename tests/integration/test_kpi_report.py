"""`leadflow report kpi` on SQLite and PostgreSQL: the hand-computed April 2026 figures.

The dataset and its hand computation: tests/support/kpi_dataset.py and
tests/unit/test_kpi_compute.py (which checks every key; here the database round trip).
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from app.cli import _register_commands, app
from leadflow.settings import Settings
from tests.support.kpi_dataset import seed_kpi_dataset
from tests.support.seeding import Seeder

APRIL = ["--from", "2026-04-01", "--to", "2026-05-01"]
KEYS = {
    "mql_count", "mql_to_sql_rate", "mql_to_customer_rate", "median_days_mql_to_customer",
    "deals_won", "deals_lost", "deal_win_rate", "average_deal_days", "won_amount",
    "new_leads", "stage_entries", "mql_rate", "sql_rate", "opportunity_rate", "win_rate",
    "lead_to_won_rate", "monthly_mql_count", "stage_dwell_days", "deal_stage_dwell_days",
    "first_touch_hours_median", "first_touch_hours_mean", "first_touch_in_time_rate",
    "sql_decision_in_time_rate", "follow_up_completion", "mql_score_histogram",
    "sql_rate_by_lead_source", "won_amount_through_mql", "won_amount_through_sql",
    "calibration", "warnings", "period",
}


@pytest.fixture
def april(seed: Seeder, settings: Settings, use_settings: Callable[[Settings], Settings]) -> None:
    """The hand-computed dataset in the test database, which the CLI reads."""
    use_settings(settings)
    seed_kpi_dataset(seed)


def report(*options: str) -> Result:
    """Run `leadflow report kpi <options>`."""
    _register_commands()
    return CliRunner().invoke(app, ["report", "kpi", *options])


def kpi_json(tmp_path: Path) -> dict[str, Any]:
    output = tmp_path / "kpi.json"
    result = report(*APRIL, "--format", "json", "-o", str(output))
    assert result.exit_code == 0, result.output + repr(result.exception)
    loaded: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.usefixtures("april")
def test_the_json_report_has_every_key_with_the_hand_computed_values(tmp_path: Path) -> None:
    kpis = kpi_json(tmp_path)

    assert set(kpis) == KEYS
    assert kpis["period"] == {"from": "2026-04-01", "to": "2026-05-01"}
    assert (kpis["mql_count"], kpis["mql_to_sql_rate"], kpis["mql_to_customer_rate"]) == (
        4, 0.5, 0.25)
    assert kpis["median_days_mql_to_customer"] == 10.0
    assert (kpis["deals_won"], kpis["deals_lost"], kpis["deal_win_rate"]) == (3, 1, 0.75)
    assert kpis["average_deal_days"] == pytest.approx(59 / 3)
    assert (kpis["won_amount"], kpis["won_amount_through_mql"],
            kpis["won_amount_through_sql"]) == (1750.0, 1500.0, 1000.0)
    assert kpis["stage_entries"] == {"mql": 4, "sql": 3, "opportunity": 1, "customer": 1}
    assert (kpis["new_leads"], kpis["mql_rate"], kpis["sql_rate"]) == (5, 0.8, 0.75)
    assert kpis["stage_dwell_days"]["lead"] == {"stays": 2, "mean_days": 14.5,
                                                "median_days": 14.5}
    assert kpis["deal_stage_dwell_days"]["value_agreed"]["mean_days"] == 16.5
    assert (kpis["first_touch_hours_median"], kpis["first_touch_hours_mean"],
            kpis["first_touch_in_time_rate"]) == (6.0, 15.0, 0.5)
    assert kpis["sql_decision_in_time_rate"] == pytest.approx(2 / 3)
    assert [(r["owner"], r["due"], r["done"]) for r in kpis["follow_up_completion"]] == [
        ("(unassigned)", 1, 1), ("Aoki", 3, 2), ("Baba", 1, 0)]
    bands = {r["band"]: r["contacts"] for r in kpis["mql_score_histogram"] if r["contacts"]}
    assert bands == {"40-49": 1, "50-59": 1, "60-69": 2}  # 3's 45 was scored in March
    assert [(r["lead_source"], r["mql"], r["sql"]) for r in kpis["sql_rate_by_lead_source"]] == [
        ("event", 2, 0), ("web", 2, 2)]
    assert [(r["threshold"], r["would_be_mql"], r["reached_sql"])
            for r in kpis["calibration"]][::5] == [(30, 5, 3), (55, 4, 3), (80, 1, 1)]
    assert kpis["monthly_mql_count"] == [{"month": "2026-04", "mql_count": 4}]
    assert kpis["warnings"] == []


@pytest.mark.usefixtures("april")
def test_the_markdown_report_is_written_to_the_output_file_headline_first(
    tmp_path: Path,
) -> None:
    output = tmp_path / "kpi.md"

    result = report(*APRIL, "-o", str(output))

    assert result.exit_code == 0, result.output + repr(result.exception)
    assert f"to {output}" in result.output
    text = output.read_text(encoding="utf-8")
    assert text.startswith("# KPI report 2026-04-01 – 2026-05-01")
    assert "| MQL count | MQL → SQL | average deal length |\n|---|---|---|\n" \
           "| 4 | 50.0 % | 19.7 days |" in text
    assert "## MQL threshold calibration" in text


@pytest.mark.usefixtures("april")
def test_a_month_without_activity_reports_zeros_and_null_rates(tmp_path: Path) -> None:
    result = report("--from", "2025-01-01", "--to", "2025-02-01", "--format", "json")

    assert result.exit_code == 0, result.output + repr(result.exception)
    kpis = json.loads(result.output)
    assert kpis["mql_count"] == 0 and kpis["deals_won"] == 0
    assert kpis["mql_to_sql_rate"] is None and kpis["deal_win_rate"] is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--from", "April", "--to", "2026-05-01"],
         "--from 'April' is not a date: give YYYY-MM-DD"),
        (["--from", "2026-04-01", "--to", "2026-13-01"],
         "--to '2026-13-01' is not a date: give YYYY-MM-DD"),
        (["--from", "2026-05-01", "--to", "2026-04-01"],
         "--to 2026-04-01 must be after --from 2026-05-01"),
        (["--from", "1999-12-01", "--to", "2026-04-01"], "--from '1999-12-01' is out of range"),
    ],
)
def test_bad_dates_are_refused_with_one_clear_line(
    options: list[str], message: str, settings: Settings,
    use_settings: Callable[[Settings], Settings],
) -> None:
    use_settings(settings)

    result = report(*options)

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
