"""What the demo prints at the end: the headline numbers and where to look next."""

import re
import shlex
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
from tasks.scoring.explain import display_name
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
                select(Outbox.channel + ":" + Outbox.status, func.count()).group_by(
                    Outbox.channel, Outbox.status
                )
            ).all()
        }
        enrollments = conn.execute(select(func.count()).select_from(NurtureEnrollment)).scalar_one()
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
            select(
                Contact.email,
                Contact.last_name,
                Contact.first_name,
                Contact.job_title,
                Contact.score,
                Contact.engagement_score,
                Contact.fit_score,
            )
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
    # scripts/demo.sh runs .venv/bin/leadflow without activating the venv: hints then name
    # the absolute path, so they run from any directory.
    if shutil.which("leadflow"):
        return ""
    beside = Path(sys.executable).absolute().parent
    if (beside / "leadflow").exists():
        return f"{beside}/"
    return f"{Path(sys.argv[0]).absolute().parent}/"


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
        name = display_name(first=first, last=last)
        lines.append(f"    {score:>3} = {engagement:>2} + {fit:>2}  {email}  {name}, {title}")
    lines += ["", "where to look next (each indented command runs from any directory):"]
    lines += next_steps(headline, sales=sales, bin_dir=_command_prefix(), python=sys.executable)
    return "\n".join(lines)


def next_steps(
    headline: dict[str, object], *, sales: dict[str, object], bin_dir: str, python: str
) -> list[str]:
    """What to try after the demo: a line saying what, then the command, indented.

    Paths are absolute and comments are on their own lines, so each command can be pasted
    into bash or zsh (macOS) from any directory.
    """
    top: list[tuple[object, ...]] = headline["top"]  # type: ignore[assignment]
    first_email = str(top[0][0]) if top else "someone@example.com"
    database = Path(str(headline["database"])).absolute()
    emails = database.parent / "emails"
    deal_files = database.parent / "csv" / "deals"
    next_hour = (datetime.fromisoformat(str(headline["as_of"])) + timedelta(hours=1)).isoformat()
    late = str(sales.get("escalated_contact") or first_email)
    leadflow = shlex.quote(f"{bin_dir}leadflow")
    steps: list[tuple[str, list[str]]] = []
    if headline.get("kpi_report"):
        page = Path(str(headline["kpi_report"])).absolute()
        steps.append(
            (
                f"the KPI report (funnel, MQLs per month, scores, SLA, deals; charts): open "
                f"{page.as_uri()} in a browser, or",
                [f"{shlex.quote(python)} -m webbrowser {shlex.quote(page.as_uri())}"],
            )
        )
    steps += [
        (
            "point the commands below at the demo's database, signing secret, emails and Slack:",
            [
                f"export LEADFLOW_DATABASE_URL={shlex.quote(f'sqlite:///{database}')}",
                "export LEADFLOW_DEVELOPMENT=true",
                f"export LEADFLOW_OUTBOX_DIR={shlex.quote(str(emails))}",
                "export LEADFLOW_SLACK_CONSOLE=true",
            ],
        ),
        ("why this lead has its score:", [f"{leadflow} explain {shlex.quote(first_email)}"]),
        (
            "nurture emails, and internal ones to sales (hand-off, SLA):",
            [f"ls {shlex.quote(str(emails))}"],
        ),
        (
            "stages, scores, owners and dates of every contact, to contacts.csv here:",
            [f"{leadflow} export contacts -o contacts.csv"],
        ),
        (
            "every SLA clock (due, met, breached, level), to sla.csv here:",
            [f"{leadflow} export sla -o sla.csv"],
        ),
        (
            "the sales team's daily deal files (read by `leadflow import deals`):",
            [f"ls {shlex.quote(str(deal_files))}"],
        ),
        (
            "deals with stages, amounts, dates and lost reasons, to deals.csv here:",
            [f"{leadflow} export deals -o deals.csv"],
        ),
        (
            "a lead sales was late on: status history, SLA clocks, follow-ups:",
            [f"{leadflow} explain {shlex.quote(late)}"],
        ),
        (
            "sales logs a touch:",
            [f"{leadflow} log-activity {shlex.quote(first_email)} --type call --outcome connected"],
        ),
        (
            "what the next hour would change (a dry run writes nothing):",
            [f"{leadflow} run scoring --as-of {next_hour} --dry-run"],
        ),
    ]
    period: dict[str, str] = headline.get("period") or {}  # type: ignore[assignment]
    if period:
        steps.append(
            (
                "the KPI report of the demo's days again, to kpi.html here:",
                [
                    f"{leadflow} report kpi --from {period['from']} --to {period['to']} "
                    "--format html -o kpi.html"
                ],
            )
        )
    steps.append(
        (
            "the Prefect UI with the runs (it prints the address to open):",
            [f"{shlex.quote(f'{bin_dir}prefect')} server start"],
        )
    )
    return [
        line for what, commands in steps for line in (f"  {what}", *(f"    {c}" for c in commands))
    ]
