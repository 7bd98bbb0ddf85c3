"""`leadflow --help` says what the demo does now, through the real command."""

import pytest
from typer.testing import CliRunner

import app.cli


def test_the_help_says_the_demo_replays_the_whole_lead_cycle_with_a_sales_team(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one line per command: the words stay together
    monkeypatch.setenv("TERMINAL_WIDTH", "200")
    app.cli._register_commands()
    runner = CliRunner()

    overview = runner.invoke(app.cli.app, ["--help"])
    demo = runner.invoke(app.cli.app, ["demo", "--help"])

    assert overview.exit_code == demo.exit_code == 0
    assert "Replay a month of generated leads through the whole lead cycle, with a sales team" in (
        overview.output
    )
    assert "score it hour by hour" not in overview.output + demo.output
    for words in (
        "imports them",
        "MQL hand-offs",
        "nurture email",
        "SLA escalation",
        "recycling",
        "sales teams work the leads",
        "KPI report",
    ):
        assert words in demo.output, words
