"""Deployment `kpi-report`: the KPIs of a period as markdown and table artifacts and an
HTML page with charts (a file under `LEADFLOW_REPORTS_DIR`)."""

from datetime import date
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.common import resolve_rules
from flows.notify import notify_failure
from leadflow.db import ensure_database
from leadflow.settings import get_settings
from leadflow.timeutil import utc_now
from tasks.kpi.html import render_html, report_file_name, write_page
from tasks.kpi.render import percent, render_markdown
from tasks.kpi.report import kpi_period, kpi_report, month_to_date

FLOW_NAME = "kpi-report"
TABLES = {
    "monthly_mql_count": "MQLs per month",
    "sql_rate_by_lead_source": "SQL rate by lead source",
    "follow_up_completion": "Follow-up completion per owner",
    "mql_score_histogram": "MQL score at MQL, 10-point bands",
    "calibration": "MQL threshold calibration",
}


@flow(name=FLOW_NAME, log_prints=True, on_failure=[notify_failure],
      on_crashed=[notify_failure])
def kpi_report_flow(
    from_date: date | None = None,
    to_date: date | None = None,
    rules_path: str | None = None,
) -> dict[str, Any]:
    """The KPI report of [from_date, to_date) in the business time zone.

    Reads the stage, deal, score and SLA history and computes the figures of the README's
    "KPI report" (MQL cohort, funnel, deals, dwell, SLA compliance, score histogram, lead
    sources, threshold calibration). Writes nothing to the database. Writes the report as
    one self-contained HTML page with charts to `kpi-<from>-<to>.html` in the reports
    folder (`LEADFLOW_REPORTS_DIR`, default `.leadflow/reports`, on the machine that runs
    the flow; a rerun replaces it) and says where in its log and markdown artifact. Ends
    with the `kpi-report` markdown artifact (headline: MQL count, MQL → SQL, average deal
    length) and one table artifact per report table; returns the JSON document.

    Args:
        from_date: First day of the period (included), business time zone. Empty: the
            first day of yesterday's month.
        to_date: The day after the period (NOT included). Empty: today, so the run on
            the 1st reports the whole previous month.
        rules_path: A rules YAML file to use instead of the configured default (its deal
            outcomes name won and lost).
    """
    settings = get_settings()
    default_from, default_to = month_to_date(utc_now().astimezone(settings.tz).date())
    deal_rules = resolve_rules(rules_path).deals
    period = kpi_period(
        from_date or default_from, to_date or default_to, tz=settings.tz, deals=deal_rules,
    )
    report = kpi_report(ensure_database(settings.database_url), period)
    dates = f"{report['period']['from']} – {report['period']['to']}"
    page = write_page(render_html(report, deal_stages=deal_rules.names),
                      settings.reports_dir / report_file_name(report))
    create_markdown_artifact(
        key="kpi-report",
        markdown=render_markdown(report) + f"\nHTML page with charts: `{page}`\n",
        description=f"KPI report {dates}",
    )
    for key, title in TABLES.items():
        create_table_artifact(key=f"kpi-{key.replace('_', '-')}", table=report[key],
                              description=f"{title}, {dates}")
    print(f"KPI report {dates}: {report['mql_count']} MQLs, MQL → SQL "
          f"{percent(report['mql_to_sql_rate'])}, {report['deals_won']} deals won, "
          f"{report['deals_lost']} lost")
    for warning in report["warnings"]:
        print(f"warning: {warning}")
    print(f"KPI report page with charts: {page}")
    return report
