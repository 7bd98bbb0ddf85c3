"""The demo end to end at a small size: generate, import, replay, summarise."""

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.demo import DemoOptions, format_summary, run_demo
from leadflow.settings import get_settings

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_the_demo_imports_replays_and_points_at_what_to_try_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "LEADFLOW_DATABASE_URL",
        "LEADFLOW_OUTBOX_DIR",
        "LEADFLOW_SLACK_CONSOLE",
        "LEADFLOW_DEVELOPMENT",
    ):
        monkeypatch.setenv(name, "placeholder")  # restored after the test
    monkeypatch.delenv("LEADFLOW_SLACK_TOKEN", raising=False)
    options = DemoOptions(
        folder=tmp_path / "demo",
        contacts=80,
        events=2500,
        days=5,
        hourly_days=1,
        end=datetime(2026, 11, 20, 3, tzinfo=UTC),
    )
    lines: list[str] = []
    try:
        headline = run_demo(options, say=lines.append)
    finally:
        get_settings.cache_clear()
    assert headline["contacts"] == 80
    assert headline["events"] == 2500
    assert headline["quarantined"] == 0
    assert headline["snapshots"] >= 80
    assert (tmp_path / "demo" / "demo.db").exists()
    assert (tmp_path / "demo" / "csv" / "events.csv").exists()
    page = Path(str(headline["kpi_report"]))
    assert page == tmp_path / "demo" / "kpi-report.html"
    html = page.read_text(encoding="utf-8")
    assert "<svg" in html and "MQL count" in html
    assert any("wrote the KPI report" in line and str(page) in line for line in lines)
    summary = format_summary(headline)
    assert "leadflow explain" in summary
    assert "top leads:" in summary
    assert "SLA clocks (breached / all):" in summary
    assert "leadflow export sla -o sla.csv" in summary
    sales = headline["sales"]
    assert isinstance(sales, dict)
    clocks: dict[str, tuple[int, int]] = sales["clocks"]
    if clocks:  # handed-off leads got their clocks, each policy one per hand-off
        assert len({total for total, _ in clocks.values()}) == 1
    run_every_printed_command(summary, elsewhere=tmp_path / "elsewhere")


def run_every_printed_command(summary: str, *, elsewhere: Path) -> None:
    """Paste every command of "where to look next" into bash in another directory, as a
    user would (only the long-running Prefect server is asked for its help instead)."""
    hints = summary.split("where to look next (each indented command runs from any directory):")
    commands = [line.strip() for line in hints[1].splitlines() if line.startswith("    ")]
    assert any(c.startswith("export LEADFLOW_DATABASE_URL=sqlite:////") for c in commands)
    script = [c + " --help" if c.endswith("prefect server start") else c for c in commands]
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    env["BROWSER"] = "true"  # `python -m webbrowser` hands the page to `true`, not a window
    result = subprocess.run(
        ["bash", "-c", "\n".join(["set -eu", *script])],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "first touch" in result.stdout or "score" in result.stdout
    for written in ("contacts.csv", "sla.csv", "deals.csv", "kpi.html"):
        assert (elsewhere / written).stat().st_size > 0, written
