"""The KPI report as markdown: the headline three, then one table per report."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

NONE = "—"


@dataclass(frozen=True)
class Table:
    """One table of the report, as the markdown and the HTML page show it."""

    title: str
    headers: list[str]
    rows: list[list[Any]]


def percent(value: float | None) -> str:
    """0.25 → "25.0 %"; None (zero denominator) → "—"."""
    return NONE if value is None else f"{value * 100:.1f} %"


def number(value: float | None, unit: str = "") -> str:
    """A figure with one decimal and an optional unit; None → "—"."""
    if value is None:
        return NONE
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{text}{unit}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table; a row-less table says "(none)"."""
    if not rows:
        return "(none)"
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    # Owner names and lead sources are free text: a "|" must not split the row.
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |"
              for row in rows]
    return "\n".join(lines)


def headline(report: dict[str, Any]) -> str:
    """The three figures people steer by: MQL count, MQL → SQL, average deal length."""
    return table(
        ["MQL count", "MQL → SQL", "average deal length"],
        [[report["mql_count"], percent(report["mql_to_sql_rate"]),
          number(report["average_deal_days"], " days")]],
    )


def _dwell(title: str, dwell: dict[str, dict[str, Any]]) -> Table:
    return Table(title, ["stage", "stays", "mean days", "median days"],
                 [[stage, row["stays"], number(row["mean_days"]), number(row["median_days"])]
                  for stage, row in dwell.items()])


def report_tables(report: dict[str, Any]) -> list[Table]:
    """The report's tables, in order: the markdown below and the HTML page show the same."""
    entries = report["stage_entries"]
    return [
        Table("MQL cohort", ["MQLs", "→ SQL", "→ customer", "median days MQL → customer"],
              [[report["mql_count"], percent(report["mql_to_sql_rate"]),
                percent(report["mql_to_customer_rate"]),
                number(report["median_days_mql_to_customer"])]]),
        Table("Funnel (first entries in the period)", ["step", "count", "rate", "of"], [
            ["new leads", report["new_leads"], "", ""],
            ["MQL", entries["mql"], percent(report["mql_rate"]), "new leads"],
            ["SQL", entries["sql"], percent(report["sql_rate"]), "MQL"],
            ["opportunity", entries["opportunity"], percent(report["opportunity_rate"]), "SQL"],
            ["customer", entries["customer"], percent(report["win_rate"]), "opportunity"],
            ["lead → won", entries["customer"], percent(report["lead_to_won_rate"]),
             "new leads"],
        ]),
        Table("Deals closed in the period",
              ["won", "lost", "win rate", "average deal days", "won amount",
               "won through MQL", "won through SQL"],
              [[report["deals_won"], report["deals_lost"], percent(report["deal_win_rate"]),
                number(report["average_deal_days"]), number(report["won_amount"]),
                number(report["won_amount_through_mql"]),
                number(report["won_amount_through_sql"])]]),
        Table("Monthly MQL count", ["month", "MQLs"],
              [[r["month"], r["mql_count"]] for r in report["monthly_mql_count"]]),
        _dwell("Dwell per lifecycle stage", report["stage_dwell_days"]),
        _dwell("Dwell per deal stage", report["deal_stage_dwell_days"]),
        Table("Sales SLA", ["first touch median", "first touch mean", "first touch in time",
                            "SQL decisions in time"],
              [[number(report["first_touch_hours_median"], " h"),
                number(report["first_touch_hours_mean"], " h"),
                percent(report["first_touch_in_time_rate"]),
                percent(report["sql_decision_in_time_rate"])]]),
        Table("Follow-up completion per owner", ["owner", "due", "done", "completion"],
              [[r["owner"], r["due"], r["done"], percent(r["completion_rate"])]
               for r in report["follow_up_completion"]]),
        Table("MQL score at MQL (10-point bands)", ["band", "contacts"],
              [[r["band"], r["contacts"]] for r in report["mql_score_histogram"]]),
        Table("SQL rate by lead source", ["lead source", "MQLs", "SQL", "SQL rate"],
              [[r["lead_source"], r["mql"], r["sql"], percent(r["sql_rate"])]
               for r in report["sql_rate_by_lead_source"]]),
        Table("MQL threshold calibration",
              ["threshold", "would be MQL", "reached SQL", "SQL rate"],
              [[r["threshold"], r["would_be_mql"], r["reached_sql"], percent(r["sql_rate"])]
               for r in report["calibration"]]),
    ]


def render_markdown(report: dict[str, Any]) -> str:
    """The whole report as one markdown document (the Prefect artifact and `--format md`)."""
    period = report["period"]
    parts = [
        f"# KPI report {period['from']} – {period['to']} (to excluded)",
        headline(report),
        *[f"> **Warning:** {warning}" for warning in report["warnings"]],
    ]
    for section in report_tables(report):
        parts += [f"## {section.title}", table(section.headers, section.rows)]
    return "\n\n".join(parts) + "\n"
