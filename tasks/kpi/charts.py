"""The KPI report's charts: matplotlib figures → inline SVG strings (no database, no Prefect).

Text stays text (`svg.fonttype: none`), so the browser draws it with the page's fonts,
Japanese included; each SVG keeps its viewBox and loses its fixed size, so it scales with
its card. A chart with nothing to show is None: the page says "no data" instead.
Import this module only where a page is rendered: importing matplotlib costs a second.
"""

import io
import logging
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape
from typing import Any

# No display anywhere: figures are drawn through matplotlib.figure.Figure, never pyplot,
# so no GUI backend is ever chosen; Agg is set for anything else that asks.
os.environ.setdefault("MPLBACKEND", "Agg")
# matplotlib logs at WARNING when its first font-cache build is slow or its config folder
# is unusable (a read-only home): the user asked for a report, not for those lines.
if logging.getLogger("matplotlib").level == logging.NOTSET:
    logging.getLogger("matplotlib").setLevel(logging.ERROR)

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from models.enums import Stage
from tasks.kpi.render import number, percent

# Fonts matplotlib measures with and the SVG names: the same face in both keeps labels
# inside their boxes; the browser falls back along the list.
FONT_STACK = ["Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic UI", "Meiryo", "DejaVu Sans"]
PRIMARY, SECONDARY, MUTED, INK = "#2563eb", "#93c5fd", "#cbd5e1", "#334155"
FUNNEL_COLOURS = ["#1e3a8a", "#1d4ed8", "#2563eb", "#3b82f6", "#60a5fa"]
WIDTH_IN = 5.2
MAX_SOURCES = 12
MAX_LABEL = 28
# Keys typed loosely: matplotlib >= 3.11 types them as a Literal, older releases do not.
STYLE: dict[Any, Any] = {
    "svg.fonttype": "none",
    "text.parse_math": False,  # lead sources like "$5 off" are text, not TeX
    "font.family": "sans-serif",
    "font.sans-serif": FONT_STACK,
    "font.size": 10,
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.edgecolor": MUTED,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e2e8f0",
    "xtick.color": "#475569",
    "ytick.color": "#475569",
    "legend.frameon": False,
}


@dataclass(frozen=True)
class Chart:
    """One chart of the page: its key (also the SVG id prefix), title, note and SVG."""

    key: str
    title: str
    note: str
    svg: str | None  # None: nothing to draw in this period


def label(text: Any) -> str:
    """A free-text axis label cut to MAX_LABEL characters (the table keeps it whole)."""
    text = str(text)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


@contextmanager
def _figure(key: str, height_in: float) -> Iterator[tuple[Figure, Axes]]:
    """A styled figure whose SVG ids are salted by `key` (several SVGs share one page)."""
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": f"leadflow-{key}"}), \
            warnings.catch_warnings():
        # Without a CJK font installed, Japanese labels are measured with a fallback;
        # the browser still draws them, so the glyph warnings are noise.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        figure = Figure(figsize=(WIDTH_IN, height_in), layout="constrained")
        yield figure, figure.add_subplot()


def to_svg(figure: Figure, *, key: str, title: str) -> str:
    """The figure as an inline `<svg>`: no XML prolog, DOCTYPE or metadata, ids prefixed by
    `key`, no fixed width/height (the viewBox scales it), and an accessible name."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    # Only inside tags: text content is escaped by matplotlib, so "<" starts a real tag.
    svg = re.sub(r"<[^>]+>", lambda tag: re.sub(
        r'(\sid="|url\(#|href="#)', lambda m: f"{m.group(1)}{key}-", tag.group(0)), svg)
    root_end = svg.index(">")
    root = re.sub(r'\s(width|height)="[^"]*"', "", svg[:root_end])
    if "viewBox" not in root:
        raise ValueError("matplotlib wrote an SVG without a viewBox")
    accessible = f' role="img" aria-label="{escape(title, quote=True)}" class="chart-svg"'
    return root + accessible + svg[root_end:].rstrip() + "\n"


def _bar_height(count: int) -> float:
    return max(1.8, 0.8 + 0.34 * count)


def monthly_mqls(report: dict[str, Any]) -> Chart:
    """MQLs per month of the first MQL entry (bars)."""
    rows = report["monthly_mql_count"]
    title, key = "MQLs per month", "monthly-mqls"
    if not rows:
        return Chart(key, title, "", None)
    with _figure(key, 2.5) as (figure, ax):
        bars = ax.bar([r["month"] for r in rows], [r["mql_count"] for r in rows],
                      color=PRIMARY, width=0.6)
        ax.bar_label(bars, padding=2, labels=[number(r["mql_count"]) for r in rows])
        # A month or two would fill the whole width: keep room for six bars.
        pad = max(0.5, (6 - len(rows)) / 2)
        ax.set_xlim(-pad, len(rows) - 1 + pad)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        if len(rows) > 8:
            ax.tick_params(axis="x", labelsize=8, labelrotation=45)
        ax.grid(axis="x", visible=False)
        ax.set_ylabel("MQLs (first entry)")
        return Chart(key, title, "the MQL cohort by business-time-zone month",
                     to_svg(figure, key=key, title=title))


def funnel(report: dict[str, Any]) -> Chart:
    """New leads → MQL → SQL → opportunity → customer: first entries in the period."""
    entries = report["stage_entries"]
    steps = [("New leads", report["new_leads"], None),
             ("MQL", entries["mql"], report["mql_rate"]),
             ("SQL", entries["sql"], report["sql_rate"]),
             ("Opportunity", entries["opportunity"], report["opportunity_rate"]),
             ("Customer", entries["customer"], report["win_rate"])]
    title, key = "Funnel", "funnel"
    if not any(count for _, count, _ in steps):
        return Chart(key, title, "", None)
    with _figure(key, _bar_height(len(steps))) as (figure, ax):
        bars = ax.barh([s for s, _, _ in steps], [c for _, c, _ in steps],
                       color=FUNNEL_COLOURS, height=0.65)
        ax.bar_label(bars, padding=3, labels=[
            number(count) if rate is None else f"{number(count)}  ({percent(rate)} of previous)"
            for _, count, rate in steps])
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.margins(x=0.35)
        ax.grid(axis="y", visible=False)
        return Chart(key, title, "first entries in the period; rate of the step before",
                     to_svg(figure, key=key, title=title))


def score_histogram(report: dict[str, Any]) -> Chart:
    """The MQL cohort's score at its first MQL entry, in 10-point bands."""
    rows = report["mql_score_histogram"]
    title, key = "MQL score at MQL", "score-histogram"
    if not any(r["contacts"] for r in rows):
        return Chart(key, title, "", None)
    with _figure(key, 2.5) as (figure, ax):
        colours = [MUTED if r["band"] == "unscored" else PRIMARY for r in rows]
        bars = ax.bar([r["band"] for r in rows], [r["contacts"] for r in rows],
                      color=colours, width=0.8)
        ax.bar_label(bars, labels=[number(r["contacts"]) if r["contacts"] else "" for r in rows],
                     padding=2)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.tick_params(axis="x", labelsize=8, labelrotation=45)
        ax.grid(axis="x", visible=False)
        ax.set_ylabel("contacts")
        return Chart(key, title, "10-point bands; grey: no score (e.g. a hand-raise)",
                     to_svg(figure, key=key, title=title))


def sql_rate_by_source(report: dict[str, Any]) -> Chart:
    """SQL rate of the MQL cohort per lead source (horizontal bars, most MQLs first)."""
    rows = sorted(report["sql_rate_by_lead_source"], key=lambda r: (-r["mql"], r["lead_source"]))
    title, key = "SQL rate by lead source", "sql-rate-by-source"
    if not rows:
        return Chart(key, title, "", None)
    shown = rows[:MAX_SOURCES]
    note = "the MQL cohort per lead source" + (
        f"; the {MAX_SOURCES} with most MQLs (all in the table)" if len(rows) > MAX_SOURCES
        else "")
    with _figure(key, _bar_height(len(shown))) as (figure, ax):
        bars = ax.barh([label(r["lead_source"]) for r in shown],
                       [(r["sql_rate"] or 0) * 100 for r in shown], color=PRIMARY, height=0.6)
        ax.bar_label(bars, padding=3, labels=[
            f"{percent(r['sql_rate'])}  ({r['sql']} of {r['mql']})" for r in shown])
        ax.invert_yaxis()
        ax.set_xlim(0, 135)
        ax.set_xticks(range(0, 101, 25))
        ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
        ax.grid(axis="y", visible=False)
        return Chart(key, title, note, to_svg(figure, key=key, title=title))


def _ordered(dwell: dict[str, dict[str, Any]], order: Sequence[str]) -> list[str]:
    known = [stage for stage in order if stage in dwell]
    return known + sorted(stage for stage in dwell if stage not in known)


def dwell(report: dict[str, Any], *, deals: bool, order: Sequence[str]) -> Chart:
    """Mean and median days per stage over the stays that ended in the period."""
    data = report["deal_stage_dwell_days" if deals else "stage_dwell_days"]
    title = "Dwell per deal stage" if deals else "Dwell per lifecycle stage"
    key = "dwell-deal" if deals else "dwell-lifecycle"
    if not data:
        return Chart(key, title, "", None)
    stages = _ordered(data, order)
    positions = range(len(stages))
    with _figure(key, _bar_height(len(stages)) + 0.3) as (figure, ax):
        for offset, (stat, name, colour) in enumerate(
                [("mean_days", "mean", PRIMARY), ("median_days", "median", SECONDARY)]):
            values = [data[stage][stat] or 0 for stage in stages]
            bars = ax.barh([p + offset * 0.38 for p in positions], values, height=0.36,
                           color=colour, label=name)
            ax.bar_label(bars, padding=3, fontsize=8,
                         labels=[number(data[stage][stat]) for stage in stages])
        ax.set_yticks([p + 0.19 for p in positions],
                      [f"{label(stage)} ({data[stage]['stays']})" for stage in stages])
        ax.invert_yaxis()
        ax.margins(x=0.15)
        ax.set_xlabel("days")
        ax.grid(axis="y", visible=False)
        figure.legend(loc="outside upper right", ncols=2, fontsize=8)
        return Chart(key, title, "stays that ended in the period (count in brackets)",
                     to_svg(figure, key=key, title=title))


def kpi_charts(report: dict[str, Any], *, deal_stages: Sequence[str] = ()) -> list[Chart]:
    """Every chart of the page, in page order; `deal_stages` orders the deal dwell chart
    (the pipeline's order from the rules; stages not in it follow, alphabetically)."""
    return [
        monthly_mqls(report),
        funnel(report),
        score_histogram(report),
        sql_rate_by_source(report),
        dwell(report, deals=False, order=[str(stage) for stage in Stage]),
        dwell(report, deals=True, order=deal_stages),
    ]
