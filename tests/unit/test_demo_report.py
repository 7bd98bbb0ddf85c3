"""What the demo prints at the end: the deal line and where to look next."""

import sys
from datetime import UTC, datetime
from pathlib import Path

from app.demo_report import demo_period, format_summary


def headline(**extra: object) -> dict[str, object]:
    return {
        "as_of": "2026-12-01T15:00:00+00:00",
        "seconds": 12.0,
        "contacts": 300,
        "events": 8000,
        "snapshots": 900,
        "quarantined": 0,
        "at_or_above_50": 40,
        "at_or_above_70": 12,
        "median_score": 30.0,
        "hours_replayed": 66,
        "distribution": {"0-9": 3},
        "stages": {"lead": 250},
        "messages": {},
        "enrollments": 10,
        "slack_kinds": {},
        "latest_handoff": [],
        "top": [],
        "database": "/tmp/demo/demo.db",
        "sales": {
            "statuses": {},
            "clocks": {},
            "escalations": 0,
            "reassigned": 0,
            "recycled": {},
            "escalated_contact": None,
            "deals": {
                "open": {"problem_agreed": 2, "internal_approval": 1},
                "won": 3,
                "won_amount": 12_400_000.0,
                "lost": 4,
            },
        },
        **extra,
    }


def test_the_summary_has_a_deal_line_with_open_deals_by_stage_won_amount_and_lost() -> None:
    text = format_summary(headline())
    assert (
        "  deals (synced daily via `leadflow import deals`): 3 open (problem_agreed 2, "
        "internal_approval 1), 3 won (¥12,400,000), 4 lost"
    ) in text.splitlines()


def hints_of(text: str) -> list[str]:
    return text.split("where to look next (each indented command runs from any directory):\n")[
        1
    ].splitlines()


def test_the_kpi_page_is_the_first_hint_as_a_browser_address_and_a_portable_command() -> None:
    text = format_summary(
        headline(
            kpi_report="/tmp/demo/kpi-report.html",
            period={"from": "2026-11-12", "to": "2026-12-03"},
        )
    )
    hints = hints_of(text)
    assert hints[0] == (
        "  the KPI report (funnel, MQLs per month, scores, SLA, deals; charts): open "
        "file:///tmp/demo/kpi-report.html in a browser, or"
    )
    assert hints[1] == f"    {sys.executable} -m webbrowser file:///tmp/demo/kpi-report.html"
    assert not any(h.strip().startswith("open ") for h in hints)  # macOS only
    assert any(
        "leadflow report kpi --from 2026-11-12 --to 2026-12-03 --format html -o kpi.html" in h
        for h in hints
    )


def test_without_a_kpi_page_the_hints_start_with_the_database() -> None:
    hints = hints_of(format_summary(headline()))
    assert hints[1] == "    export LEADFLOW_DATABASE_URL=sqlite:////tmp/demo/demo.db"
    assert not any("report kpi" in h for h in hints)


def test_a_relative_demo_folder_is_printed_as_absolute_paths_and_no_command_has_a_comment() -> None:
    hints = hints_of(format_summary(headline(database=".leadflow/demo/demo.db")))
    here = Path.cwd()
    assert f"    export LEADFLOW_DATABASE_URL=sqlite:///{here}/.leadflow/demo/demo.db" in hints
    assert f"    export LEADFLOW_OUTBOX_DIR={here}/.leadflow/demo/emails" in hints
    assert f"    ls {here}/.leadflow/demo/csv/deals" in hints
    commands = [h.strip() for h in hints if h.startswith("    ")]
    # zsh (macOS) runs a pasted `# …` as arguments unless interactive comments are on.
    assert commands and not any("#" in c for c in commands)


def test_the_demo_period_runs_from_the_first_contacts_day_to_the_day_after_the_end() -> None:
    # 2026-11-11 19:08 UTC is the 12th in Tokyo; the end, 15:00 UTC on 1 Dec, is the 2nd.
    first = datetime(2026, 11, 11, 19, 8)  # SQLite's naive UTC
    assert demo_period(first, datetime(2026, 12, 1, 15, 0, tzinfo=UTC)) == {
        "from": "2026-11-12",
        "to": "2026-12-03",
    }
