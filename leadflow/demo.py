"""`leadflow demo`: a realistic month of leads, imported and scored hour by hour.

Generates owners, companies, contacts (Japanese and English names and titles) and 30
days of events, writes them as CSV files, imports them with the real importer into a
fresh SQLite file, then replays the period through the pipeline inside one process:
daily for the early weeks, hour by hour for the last days.
"""

import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, func, select

from leadflow.settings import get_settings
from leadflow.timeutil import floor_to_hour, utc_now
from models.tables import (
    Contact,
    Event,
    NurtureEnrollment,
    Outbox,
    Quarantine,
    ScoreSnapshot,
)


@dataclass(frozen=True)
class DemoOptions:
    """How big and how long the demo is, and where it writes."""

    folder: Path = Path(".leadflow/demo")
    contacts: int = 2000
    events: int = 60000
    days: int = 30
    hourly_days: int = 2
    seed: int = 7
    end: datetime | None = None

    @property
    def database_path(self) -> Path:
        """The demo's own SQLite file (recreated on every demo run)."""
        return self.folder / "demo.db"


def _fresh_database(options: DemoOptions) -> str:
    options.folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{options.database_path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{options.database_path}"
    # Flows read their settings from the environment: point this process at the demo's
    # database and outbox folder; Slack hand-offs are rendered to the console sender
    # unless a real token is configured.
    os.environ["LEADFLOW_DATABASE_URL"] = url
    os.environ["LEADFLOW_OUTBOX_DIR"] = str(options.folder / "emails")
    if not os.environ.get("LEADFLOW_SLACK_TOKEN"):
        os.environ["LEADFLOW_SLACK_CONSOLE"] = "true"
    get_settings.cache_clear()
    return url


def run_demo(options: DemoOptions, *, say: Callable[[str], None] = print) -> dict[str, object]:
    """Generate, import and replay the demo period; returns the headline numbers."""
    from flows.backfill import backfill
    from leadflow.db import ensure_database
    from leadflow.synthetic import generate_dataset, write_csv
    from tasks.load import import_csv

    started = time.perf_counter()

    def elapsed() -> str:
        return f"[{time.perf_counter() - started:5.1f} s]"

    end = floor_to_hour(options.end or utc_now())
    url = _fresh_database(options)
    engine = ensure_database(url)
    say(f"{elapsed()} 1/3 generating {options.contacts} contacts and {options.events} events over "
        f"{options.days} days up to {end.isoformat()} …")
    dataset = generate_dataset(
        contacts=options.contacts, events=options.events, days=options.days, end=end,
        seed=options.seed,
    )
    files = write_csv(options.folder / "csv", dataset)
    say(f"{elapsed()} 2/3 importing {', '.join(str(p) for p in files.values())} …")
    settings = get_settings()
    for kind in ("owners", "companies", "contacts", "events"):
        summary = import_csv(
            engine, kind=kind, path=files[kind], naive_tz=settings.tz, now=utc_now(),
            max_bad_row_share=settings.max_bad_row_share,
        )
        say(f"    {kind}: {summary.inserted} inserted, {summary.quarantined_rows} quarantined")

    hourly_from = end - timedelta(days=options.hourly_days)
    start = end - timedelta(days=options.days)
    say(f"{elapsed()} 3/3 replaying the pipeline: daily from {start:%Y-%m-%d}, hourly for the last "
        f"{options.hourly_days} days …")
    backfill(start=start + timedelta(days=1), end=hourly_from - timedelta(hours=1),
             every_hours=24, simulate_clock=True)
    backfill(start=hourly_from, end=end, every_hours=1, simulate_clock=True)
    say(f"{elapsed()} done")
    headline = summarise(engine, end=end)
    headline["seconds"] = round(time.perf_counter() - started, 1)
    headline["database"] = str(options.database_path)
    return headline


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
        stages = dict(
            conn.execute(
                select(Contact.lifecycle_stage, func.count()).group_by(Contact.lifecycle_stage)
            ).all()
        )
        messages = dict(
            conn.execute(
                select(Outbox.channel + ":" + Outbox.status, func.count())
                .group_by(Outbox.channel, Outbox.status)
            ).all()
        )
        enrollments = conn.execute(
            select(func.count()).select_from(NurtureEnrollment)
        ).scalar_one()
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
        "top": [tuple(row) for row in top],
        "stages": stages,
        "messages": messages,
        "enrollments": enrollments,
    }


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
        "  lifecycle stages: "
        + ", ".join(f"{stage} {count}" for stage, count in sorted(headline["stages"].items())),  # type: ignore[attr-defined]
        "  nurture: "
        f"{headline['enrollments']} enrollments; outbox "
        + ", ".join(f"{key} {count}" for key, count in sorted(headline["messages"].items())),  # type: ignore[attr-defined]
        "",
        "  top leads:",
    ]
    for email, last, first, title, score, engagement, fit in top:
        parts = (first, last) if (last or "").isascii() else (last, first)
        name = " ".join(p for p in parts if p)
        lines.append(f"    {score:>3} = {engagement:>2} + {fit:>2}  {email}  {name}, {title}")
    first_email = top[0][0] if top else "someone@example.com"
    database = headline["database"]
    bin_dir = _command_prefix()
    lines += [
        "",
        "where to look next:",
        f"  export LEADFLOW_DATABASE_URL=sqlite:///{database}",
        f"  {bin_dir}leadflow explain {first_email}   # why this lead has its score",
        f"  ls {Path(str(database)).parent / 'emails'}   # nurture emails as .eml files",
        f"  {bin_dir}leadflow export contacts -o contacts.csv   # stages, scores, owners, dates",
        f"  {bin_dir}leadflow run scoring --dry-run   # what the next hour would change",
        f"  {bin_dir}prefect server start   # then open the UI to see the runs",
    ]
    return "\n".join(lines)
