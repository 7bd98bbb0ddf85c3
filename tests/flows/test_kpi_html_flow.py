"""The kpi-report flow writes the HTML page to the reports folder and says where."""

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

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
def reports_dir(
    sqlite_database_url: str, tmp_path: Path, use_settings: Callable[[Settings], Settings]
) -> Path:
    """The hand-computed April 2026 dataset; LEADFLOW_REPORTS_DIR in tmp_path."""
    folder = tmp_path / "reports"
    settings = use_settings(settings_for(sqlite_database_url, reports_dir=folder))
    seed_kpi_dataset(Seeder(ensure_database(settings.database_url)))
    return folder


def test_the_flow_writes_the_page_and_names_it_in_its_log_and_artifact(
    reports_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    page = reports_dir / "kpi-2026-04-01-2026-05-01.html"

    # The flow's printed lines go to Prefect's run logger; listen on it directly.
    run_logger = logging.getLogger("prefect.flow_runs")
    run_logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger=run_logger.name):
            kpi_report_flow(from_date=date(2026, 4, 1), to_date=date(2026, 5, 1))
    finally:
        run_logger.removeHandler(caplog.handler)

    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.count("<svg") == 6
    assert '<div class="figure-value">50.0 %</div>' in text
    assert f"KPI report page with charts: {page}" in caplog.text
    markdown = Artifact.get(key="kpi-report")
    assert markdown is not None
    assert f"HTML page with charts: `{page}`" in str(markdown.data)
    assert list(reports_dir.iterdir()) == [page]  # no partial file left behind


def test_a_rerun_of_the_same_period_replaces_the_page(reports_dir: Path) -> None:
    page = reports_dir / "kpi-2026-04-01-2026-05-01.html"
    reports_dir.mkdir(parents=True)
    page.write_text("stale", encoding="utf-8")

    kpi_report_flow(from_date=date(2026, 4, 1), to_date=date(2026, 5, 1))

    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
