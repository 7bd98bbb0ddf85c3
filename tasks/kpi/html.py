"""The KPI report as one self-contained HTML page: headline, warnings, charts and tables.

Nothing on the page is fetched at view time: CSS is inline and the charts are inline SVG
(tasks/kpi/charts.py). Lead sources and owner names are free text, so the template is
rendered with autoescape on; only the SVGs, which matplotlib escaped, go in as markup.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from leadflow.paths import TEMPLATES_DIR
from tasks.kpi.compute import MQL_TO_SQL_WARNING
from tasks.kpi.render import number, percent, report_tables

TEMPLATE = "kpi_report.html.j2"


@dataclass(frozen=True)
class Figure:
    """One headline or key figure: its label, value as text, and whether it needs a look."""

    label: str
    value: str
    alert: bool = False


def headline(report: dict[str, Any]) -> list[Figure]:
    """The three figures people steer by: MQL count, MQL → SQL, average deal length."""
    rate = report["mql_to_sql_rate"]
    return [
        Figure("MQL count", number(report["mql_count"])),
        Figure("MQL → SQL", percent(rate), alert=rate is not None and rate < MQL_TO_SQL_WARNING),
        Figure("Average deal length", number(report["average_deal_days"], " days")),
    ]


def key_figures(report: dict[str, Any]) -> list[Figure]:
    """The figures under the headline: leads, deals, money and the first-touch SLA."""
    return [
        Figure("New leads", number(report["new_leads"])),
        Figure("MQL rate", percent(report["mql_rate"])),
        Figure("Deals won / lost", f"{report['deals_won']} / {report['deals_lost']}"),
        Figure("Deal win rate", percent(report["deal_win_rate"])),
        Figure("Won amount", number(report["won_amount"])),
        Figure("First touch, median", number(report["first_touch_hours_median"], " h")),
        Figure("First touch in time", percent(report["first_touch_in_time_rate"])),
    ]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def render_html(report: dict[str, Any], *, deal_stages: Sequence[str] = ()) -> str:
    """The whole report as one HTML page (`report kpi --format html`, the kpi-report flow).

    `deal_stages` orders the deal dwell chart (the rules' pipeline order).
    """
    from tasks.kpi.charts import kpi_charts  # matplotlib: paid only when a page is drawn

    charts = [
        {"key": chart.key, "title": chart.title, "note": chart.note,
         "svg": None if chart.svg is None else Markup(chart.svg)}
        for chart in kpi_charts(report, deal_stages=deal_stages)
    ]
    return _environment().get_template(TEMPLATE).render(
        period=report["period"], headline=headline(report), key_figures=key_figures(report),
        warnings=report["warnings"], charts=charts, tables=report_tables(report),
    )


def report_file_name(report: dict[str, Any]) -> str:
    """`kpi-<from>-<to>.html` for the report's period (`to` excluded, as everywhere)."""
    return f"kpi-{report['period']['from']}-{report['period']['to']}.html"


def write_page(page: str, path: Path) -> Path:
    """Write the page to `path` (folders created) through a temporary file, so a reader
    never sees half a page; returns the absolute path."""
    path = path.expanduser().absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, path)
    return path
