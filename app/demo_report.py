"""What the demo prints at the end: the headline numbers and where to look next."""

import re
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, func, select

from app.sales_team import sales_lines
from flows.common import resolve_rules
from leadflow.settings import get_settings
from models.tables import (
    Contact,
    Event,
    NurtureEnrollment,
    Outbox,
    Quarantine,
    ScoreSnapshot,
)
from tasks.scoring.report import score_distribution


def summarise(engine: Engine, *, end: datetime) -> dict[str, object]:
    """Counts, the score distribution and the top leads at the end of the demo."""
    with engine.connect() as conn:
        contacts = conn.execute(select(func.count()).select_from(Contact)).scalar_one()
        events = conn.execute(select(func.count()).select_from(Event)).scalar_one()
        snapshots = conn.execute(select(func.count()).select_from(ScoreSnapshot)).scalar_one()
        quarantined = conn.execute(select(func.count()).select_from(Quarantine)).scalar_one()
        scores = pd.Series(
            conn.execute(select(Contact.score).where(Contact.score.is_not(None))).scalars().all(),
            dtype="int64",
        )
        stages: dict[str, int] = {
            str(stage): int(count)
            for stage, count in conn.execute(
                select(Contact.lifecycle_stage, func.count()).group_by(Contact.lifecycle_stage)
            ).all()
        }
        messages: dict[str, int] = {
            str(key): int(count)
            for key, count in conn.execute(
                select(Outbox.channel + ":" + Outbox.status, func.count())
                .group_by(Outbox.channel, Outbox.status)
            ).all()
        }
        enrollments = conn.execute(
            select(func.count()).select_from(NurtureEnrollment)
        ).scalar_one()
        slack_kinds: dict[str, int] = {
            str(kind): int(count)
            for kind, count in conn.execute(
                select(Outbox.kind, func.count())
                .where(Outbox.channel == "slack", Outbox.status == "sent")
                .group_by(Outbox.kind)
            ).all()
        }
        latest_handoff = conn.execute(
            select(Outbox.payload)
            .where(Outbox.channel == "slack", Outbox.kind == "handoff", Outbox.status == "sent")
            .order_by(Outbox.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        first_contact = conn.execute(select(func.min(Contact.created_at))).scalar_one()
        top = conn.execute(
            select(Contact.email, Contact.last_name, Contact.first_name, Contact.job_title,
                   Contact.score, Contact.engagement_score, Contact.fit_score)
            .where(Contact.score.is_not(None))
            .order_by(Contact.score.desc(), Contact.email)
            .limit(5)
        ).all()
    return {
        "as_of": end.isoformat(),
        "contacts": contacts,
        "events": events,
        "snapshots": snapshots,
        "quarantined": quarantined,
        "at_or_above_50": int((scores >= 50).sum()),
        "at_or_above_70": int((scores >= 70).sum()),
        "median_score": float(scores.median()) if len(scores) else 0.0,
        "distribution": score_distribution(scores, max_score=resolve_rules(None).max_score),
        "slack_kinds": slack_kinds,
        "latest_handoff": handoff_preview(latest_handoff),
        "top": [tuple(row) for row in top],
        "stages": stages,
        "messages": messages,
        "enrollments": enrollments,
        "period": demo_period(first_contact, end),
    }


def demo_period(first_contact: datetime | None, end: datetime) -> dict[str, str]:
    """The demo's days for `leadflow report kpi`: from the day of the first contact (nothing
    the report counts happened before it) to the day after `end`, in business time."""
    tz = get_settings().tz
    last = end.astimezone(tz).date()
    if first_contact is None:
        first = last
    else:
        aware = first_contact if first_contact.tzinfo else first_contact.replace(tzinfo=UTC)
        first = aware.astimezone(tz).date()
    return {"from": first.isoformat(), "to": (last + timedelta(days=1)).isoformat()}


REASON_LINE = re.compile(r"• .+ \+\d+")


def handoff_preview(payload: object) -> list[str]:
    """A Slack hand-off as a few plain lines: its title, channel and top reasons."""
    if not isinstance(payload, dict):
        return []
    lines = [f"{payload.get('text', '')} → {payload.get('channel', '?')}"]
    for block in payload.get("blocks", []):
        text = block.get("text", {}).get("text", "") if isinstance(block, dict) else ""
        # Reason lines read `• <signal> +<points>` in every template language.
        lines += [line for line in str(text).splitlines() if REASON_LINE.fullmatch(line)]
    return lines


def distribution_lines(distribution: dict[str, int], *, width: int = 30) -> list[str]:
    """The score distribution as a compact text bar chart, one band per line."""
    most = max(distribution.values(), default=0) or 1
    return [
        f"    {band:>6} {count:>5}  {'█' * round(width * count / most)}"
        for band, count in distribution.items()
    ]


def _command_prefix() -> str:
    # scripts/demo.sh runs .venv/bin/leadflow without activating the venv: say so in hints.
    if shutil.which("leadflow"):
        return ""
    folder = Path(sys.argv[0]).parent
    return f"{folder}/" if str(folder) not in ("", ".") else ""


def format_summary(headline: dict[str, object]) -> str:
    """What the demo prints at the end, with where to look next."""
    top = headline["top"]
    assert isinstance(top, list)
    lines = [
        "",
        f"leadflow demo — scored up to {headline['as_of']} in {headline['seconds']} s",
        f"  {headline['contacts']} contacts, {headline['events']} events, "
        f"{headline['snapshots']} score snapshots, {headline['quarantined']} quarantined rows",
        f"  {headline['at_or_above_50']} contacts at or above the MQL line (50), "
        f"{headline['at_or_above_70']} hot (70+); median score {headline['median_score']}",
        f"  {headline['hours_replayed']} hours replayed (daily, then hour by hour)",
        "",
        "  score distribution (every scored contact):",
        *distribution_lines(headline["distribution"]),  # type: ignore[arg-type]
        "",
        "  lifecycle stages: "
        + ", ".join(f"{stage} {count}" for stage, count in sorted(headline["stages"].items())),  # type: ignore[attr-defined]
        "  nurture: "
        f"{headline['enrollments']} enrollments; outbox "
        + ", ".join(f"{key} {count}" for key, count in sorted(headline["messages"].items())),  # type: ignore[attr-defined]
    ]
    sales: dict[str, object] = headline.get("sales") or {}  # type: ignore[assignment]
    if sales:
        lines += sales_lines(sales)
    slack_kinds: dict[str, int] = headline["slack_kinds"]  # type: ignore[assignment]
    if slack_kinds:
        lines.append(
            f"  Slack: {sum(slack_kinds.values())} messages rendered by the console sender "
            "(no LEADFLOW_SLACK_TOKEN; not posted) — "
            + ", ".join(f"{kind} {count}" for kind, count in sorted(slack_kinds.items()))
        )
    preview: list[str] = headline["latest_handoff"]  # type: ignore[assignment]
    if preview:
        lines.append("  the latest hand-off: " + preview[0])
        lines += [f"      {line}" for line in preview[1:]]
    lines += ["", "  top leads:"]
    for email, last, first, title, score, engagement, fit in top:
        parts = (first, last) if (last or "").isascii() else (last, first)
        name = " ".join(p for p in parts if p)
        lines.append(f"    {score:>3} = {engagement:>2} + {fit:>2}  {email}  {name}, {title}")
    first_email = top[0][0] if top else "someone@example.com"
    database = headline["database"]
    emails = Path(str(database)).parent / "emails"
    deal_files = Path(str(database)).parent / "csv" / "deals"
    next_hour = (datetime.fromisoformat(str(headline["as_of"])) + timedelta(hours=1)).isoformat()
    bin_dir = _command_prefix()
    period: dict[str, str] = headline.get("period") or {}  # type: ignore[assignment]
    lines += ["", "where to look next:"]
    if headline.get("kpi_report"):
        lines.append(f"  open {headline['kpi_report']}"
                     "   # the KPI report: funnel, MQLs per month, scores, SLA, deals (charts)")
    lines += [
        f"  export LEADFLOW_DATABASE_URL=sqlite:///{database}",
        "  export LEADFLOW_DEVELOPMENT=true   # the demo's signing secret, for serve / run nurture",
        f"  export LEADFLOW_OUTBOX_DIR={emails}   # emails of later runs go there too",
        "  export LEADFLOW_SLACK_CONSOLE=true   # Slack messages printed, not posted",
        f"  {bin_dir}leadflow explain {first_email}   # why this lead has its score",
        f"  ls {emails}   # nurture emails, and internal ones to sales (hand-off, SLA)",
        f"  {bin_dir}leadflow export contacts -o contacts.csv   # stages, scores, owners, dates",
        f"  {bin_dir}leadflow export sla -o sla.csv   # every SLA clock: due, met, breached, level",
        f"  ls {deal_files}   # the sales team's daily deal files (`leadflow import deals`)",
        f"  {bin_dir}leadflow export deals -o deals.csv   # stages, amounts, dates, lost reasons",
        f"  {bin_dir}leadflow explain {sales.get('escalated_contact') or first_email}"
        "   # a lead sales was late on: status history, SLA clocks, follow-ups",
        f"  {bin_dir}leadflow log-activity {first_email} --type call --outcome connected"
        "   # sales logs a touch",
        f"  {bin_dir}leadflow run scoring --as-of {next_hour} --dry-run"
        "   # what the next hour would change",
    ]
    if period:
        lines.append(
            f"  {bin_dir}leadflow report kpi --from {period['from']} --to {period['to']} "
            "--format html -o kpi.html   # the KPI report of the demo's days, again"
        )
    lines.append(f"  {bin_dir}prefect server start   # then open the UI to see the runs")
    return "\n".join(lines)
