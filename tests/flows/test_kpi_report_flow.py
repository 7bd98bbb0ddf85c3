"""The kpi-report flow under the Prefect test harness: figures, markdown and table artifacts."""

import json
from collections.abc import Callable
from datetime import date

import pytest
from prefect.artifacts import Artifact

from flows.kpi_report import kpi_report_flow
from leadflow.db import ensure_database
from leadflow.settings import Settings
from tests.support.kpi_dataset import seed_kpi_dataset
from tests.support.seeding import Seeder
from tests.support.settings import settings_for

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def april(sqlite_database_url: str, use_settings: Callable[[Settings], Settings]) -> None:
    """The hand-computed April 2026 dataset (tests/support/kpi_dataset.py)."""
    settings = use_settings(settings_for(sqlite_database_url))
    seed_kpi_dataset(Seeder(ensure_database(settings.database_url)))


@pytest.mark.usefixtures("april")
def test_the_flow_returns_the_figures_and_leaves_markdown_and_table_artifacts() -> None:
    report = kpi_report_flow(from_date=date(2026, 4, 1), to_date=date(2026, 5, 1))

    assert (report["mql_count"], report["mql_to_sql_rate"], report["deals_won"]) == (4, 0.5, 3)
    markdown = Artifact.get(key="kpi-report")
    assert markdown is not None
    assert "| 4 | 50.0 % | 19.7 days |" in str(markdown.data)
    table = Artifact.get(key="kpi-calibration")
    assert table is not None
    rows = json.loads(str(table.data))
    assert rows[0] == {"threshold": 30, "would_be_mql": 5, "reached_sql": 3, "sql_rate": 0.6}
