"""The KPI report as one self-contained HTML page: charts, headline, escaping, the CLI.

The figures come from the hand-computed April 2026 dataset (tests/support/kpi_dataset.py,
checked key by key in tests/unit/test_kpi_compute.py); here, what the page shows of them.
"""

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from app.cli import _register_commands, app
from leadflow.db import ensure_database
from leadflow.settings import Settings
from models.deal_rules import DealRules
from tasks.kpi.compute import compute_kpis
from tasks.kpi.html import render_html
from tests.support.kpi_dataset import FRAMES, JST, OWNERS, PERIOD, seed_kpi_dataset
from tests.support.seeding import Seeder
from tests.support.settings import environment_for, settings_for

APRIL = ["--from", "2026-04-01", "--to", "2026-05-01"]
CHARTS = ["monthly-mqls", "funnel", "score-histogram", "sql-rate-by-source", "dwell-lifecycle",
          "dwell-deal"]
SCRIPT_SOURCE = "<script>alert(1)</script>"
HOSTILE_OWNER = 'Aoki <img src=x onerror="alert(2)">'
JAPANESE_SOURCE = "展示会 $5 off $10"
PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def page() -> str:
    """The April page, rendered once for the module (matplotlib takes a few seconds)."""
    return render_html(compute_kpis(FRAMES, PERIOD), deal_stages=DealRules().names)


def chart_block(page: str, key: str) -> str:
    """The <figure> of one chart."""
    match = re.search(rf'<figure class="card" id="chart-{key}".*?</figure>', page, re.S)
    assert match is not None, f"no chart {key}"
    return match.group(0)


def headline_values(page: str) -> list[str]:
    """The texts of the headline cards, in page order."""
    section = page.split('<section class="headline"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<div class="figure-value">([^<]*)</div>', section)


def test_the_page_loads_nothing_from_the_network(page: str) -> None:
    remote = re.compile(
        r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""", re.I)

    assert page.startswith("<!DOCTYPE html>")
    assert remote.findall(page) == []
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "@import" not in page
    assert "<img" not in page.lower()


def test_every_chart_is_one_inline_svg_that_scales_and_keeps_its_text(page: str) -> None:
    assert page.count("<svg") == len(CHARTS)
    for key in CHARTS:
        block = chart_block(page, key)
        assert block.count("<svg") == 1, key
        root = re.search(r"<svg[^>]*>", block)
        assert root is not None
        assert "viewBox=" in root.group(0) and " width=" not in root.group(0), key
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page and "<metadata>" not in page
    # Text stays text, in the browser's fonts: no glyphs drawn as paths.
    assert "font-family: 'Noto Sans CJK JP'" in page
    assert ">web</text>" in page and ">2026-04</text>" in page


def test_svg_ids_are_unique_across_the_page(page: str) -> None:
    ids = re.findall(r'\sid="([^"]+)"', page)

    assert len(ids) == len(set(ids))
    for reference in re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', page):
        assert (reference[0] or reference[1]) in ids


def test_the_headline_shows_the_hand_computed_figures(page: str) -> None:
    assert headline_values(page) == ["4", "50.0 %", "19.7 days"]
    assert "Warning:" not in page
    # The markdown's tables, e.g. follow-up per owner and calibration at 30 points.
    assert "<td>Aoki</td><td>3</td><td>2</td><td>66.7 %</td>" in page
    assert "<td>30</td><td>5</td><td>3</td><td>60.0 %</td>" in page


def test_free_text_names_are_escaped_in_tables_and_charts_and_japanese_stays_text() -> None:
    contacts = FRAMES.contacts.copy()
    contacts.loc[contacts["id"] == 3, "lead_source"] = SCRIPT_SOURCE
    contacts.loc[contacts["id"] == 5, "lead_source"] = JAPANESE_SOURCE
    owners = OWNERS.replace({"name": {"Aoki": HOSTILE_OWNER}})
    frames = replace(FRAMES, contacts=contacts, owners=owners)

    page = render_html(compute_kpis(frames, PERIOD))

    assert "<script" not in page.lower() and "<img" not in page.lower()
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"<td>{escaped}</td>" in page
    assert f">{escaped}</text>" in chart_block(page, "sql-rate-by-source")
    assert "<td>Aoki &lt;img src=x onerror=&#34;alert(2)&#34;&gt;</td>" in page
    assert f">{JAPANESE_SOURCE}</text>" in chart_block(page, "sql-rate-by-source")


def test_an_mql_to_sql_rate_below_15_percent_is_flagged_in_the_headline() -> None:
    stages = FRAMES.stage_history[FRAMES.stage_history["to_stage"] != "sql"]

    page = render_html(compute_kpis(replace(FRAMES, stage_history=stages), PERIOD))

    assert '<div class="card alert">' in page
    assert headline_values(page)[1] == "0.0 %"
    assert "<strong>Warning:</strong> MQL → SQL is 0.0%, below 15%" in page


def test_a_period_without_data_says_no_data_for_each_chart() -> None:
    empty = replace(PERIOD, start=datetime(2025, 1, 1, tzinfo=JST),
                    end=datetime(2025, 2, 1, tzinfo=JST))

    page = render_html(compute_kpis(FRAMES, empty))

    assert "<svg" not in page
    assert page.count("No data for this period") == len(CHARTS)
    assert headline_values(page) == ["0", "—", "—"]


@pytest.fixture
def april_database(
    sqlite_database_url: str, tmp_path: Path, use_settings: Callable[[Settings], Settings]
) -> Settings:
    """The April dataset in a SQLite file that the CLI reads."""
    settings = use_settings(settings_for(sqlite_database_url, reports_dir=tmp_path / "reports"))
    seed_kpi_dataset(Seeder(ensure_database(settings.database_url)))
    return settings


def report(*options: str) -> Result:
    """Run `leadflow report kpi <options>`."""
    _register_commands()
    return CliRunner().invoke(app, ["report", "kpi", *options])


@pytest.mark.usefixtures("april_database")
def test_the_cli_writes_the_html_page_and_says_where(tmp_path: Path) -> None:
    output = tmp_path / "april.html"

    result = report(*APRIL, "--format", "html", "-o", str(output))

    assert result.exit_code == 0, result.output + repr(result.exception)
    assert result.output.strip() == (
        f"wrote the KPI report 2026-04-01 – 2026-05-01 (html) to {output}")
    written = output.read_text(encoding="utf-8")
    assert written.startswith("<!DOCTYPE html>") and written.count("<svg") == len(CHARTS)
    assert headline_values(written) == ["4", "50.0 %", "19.7 days"]
    assert "<title>KPI report 2026-04-01 – 2026-05-01</title>" in written


def run_cli(
    settings: Settings, *arguments: str, first: str = "pass", **env: str
) -> subprocess.CompletedProcess[str]:
    """`leadflow <arguments>` in a fresh Python (after running `first`), on `settings`'
    database, with `-X importtime` listing every module it imported on stderr."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    environment.update({k: v for k, v in environment_for(settings).items() if v is not None})
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"{first}; from app.cli import main; main()",
         *arguments],
        cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )


def test_neither_the_markdown_report_nor_loading_the_flow_imports_matplotlib(
    april_database: Settings,
) -> None:
    result = run_cli(april_database, "report", "kpi", *APRIL, first="import flows.kpi_report")

    assert result.returncode == 0, result.stderr[-2000:]
    assert "| 4 | 50.0 % | 19.7 days |" in result.stdout
    assert re.search(r"\|\s+matplotlib$", result.stderr, re.M) is None
    assert re.search(r"\|\s+pandas$", result.stderr, re.M)  # importtime did list imports


def test_matplotlib_says_nothing_on_the_terminal_even_without_a_usable_cache_folder(
    april_database: Settings, tmp_path: Path
) -> None:
    # A file where matplotlib wants its folder (like a read-only home): plain matplotlib
    # warns twice on stderr and builds a fresh font cache in a temporary folder.
    not_a_folder = tmp_path / "matplotlib-config"
    not_a_folder.write_text("", encoding="utf-8")
    output = tmp_path / "april.html"

    result = run_cli(april_database, "report", "kpi", *APRIL, "--format", "html",
                     "-o", str(output), MPLCONFIGDIR=str(not_a_folder))

    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"\|\s+matplotlib$", result.stderr, re.M)  # it did load matplotlib
    chatter = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    assert chatter == []
    assert result.stdout.strip().endswith(f"(html) to {output}")
    assert output.read_text(encoding="utf-8").count("<svg") == len(CHARTS)
