"""`leadflow report kpi`: the KPI report of a period as markdown, JSON or an HTML page."""

import json
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from app.cli import RulesOption, app, check_rules, fail
from leadflow.settings import get_settings

report_app = typer.Typer(help="Reports people read.", no_args_is_help=True)
app.add_typer(report_app, name="report")

DATE_YEARS = range(2000, 2101)


class ReportFormat(StrEnum):
    """What `report kpi` writes."""

    md = "md"
    json = "json"
    html = "html"


def parse_date(text: str, *, option: str) -> date:
    """A YYYY-MM-DD day in the business time zone; anything else exits with one line."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date: give YYYY-MM-DD, e.g. 2026-04-01")
    if day.year not in DATE_YEARS:
        fail(f"{option} {text!r} is out of range: give a day between "
             f"{DATE_YEARS[0]} and {DATE_YEARS[-1]}")
    return day


@report_app.command("kpi")
def report_kpi(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (included).")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (NOT included).")],
    output_format: Annotated[
        ReportFormat,
        typer.Option("--format", help="md (tables), json (every key) or html (one page with "
                     "charts, no network needed to view it)."),
    ] = ReportFormat.md,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: print).")
    ] = None,
    rules: RulesOption = None,
) -> None:
    """The KPI report for the days [--from, --to) in the business time zone.

    MQL cohort, funnel, deals, dwell, SLA compliance, score histogram, lead sources and
    MQL threshold calibration, as markdown, JSON or a self-contained HTML page with charts.
    """
    from flows.common import resolve_rules
    from leadflow.db import ensure_database
    from tasks.kpi.render import render_markdown
    from tasks.kpi.report import KpiPeriodError, kpi_period, kpi_report

    first, last = parse_date(start, option="--from"), parse_date(end, option="--to")
    settings = get_settings()
    deal_rules = resolve_rules(check_rules(rules)).deals
    try:
        period = kpi_period(first, last, tz=settings.tz, deals=deal_rules)
    except KpiPeriodError as error:
        fail(str(error))
    report = kpi_report(ensure_database(settings.database_url), period)
    if output_format is ReportFormat.html:
        from tasks.kpi.html import render_html  # its charts load matplotlib: html pays alone

        text = render_html(report, deal_stages=deal_rules.names)
    elif output_format is ReportFormat.json:
        text = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    else:
        text = render_markdown(report)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}")
    typer.echo(f"wrote the KPI report {first} – {last} ({output_format.value}) to {output}")
