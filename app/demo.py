"""`leadflow demo`: a realistic month of leads, imported and scored hour by hour.

Generates owners, companies, contacts (Japanese and English names and titles) and 30
days of events, writes them as CSV files, imports them with the real importer into a
fresh SQLite file, then simulates the period through the lead cycle inside one process
with `leadflow simulate`'s wiring (`app.replay.run_replay`: simulated clock, email to
`.eml` files, Slack to the console): daily for the early weeks, hour by hour for the
last days. A simulated inside-sales team works the handed-off leads between hours.
"""

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from app.demo_report import format_summary, summarise
from app.sales_team import sales_summary, work_leads
from flows.common import resolve_rules
from leadflow.settings import get_settings
from leadflow.timeutil import floor_to_hour, utc_now
from models.rules import Rules

__all__ = ["DemoOptions", "format_summary", "run_demo"]


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


DAILY_AT = clock_time(10, 0)


def _fresh_database(options: DemoOptions) -> str:
    options.folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{options.database_path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{options.database_path}"
    # Flows read their settings from the environment: point this process at the demo's
    # database and outbox folder; Slack hand-offs are rendered to the console sender
    # unless a real token is configured. The demo is development mode: links are signed
    # with the built-in development secret unless one is configured.
    os.environ["LEADFLOW_DATABASE_URL"] = url
    os.environ["LEADFLOW_DEVELOPMENT"] = "true"
    os.environ["LEADFLOW_OUTBOX_DIR"] = str(options.folder / "emails")
    if not os.environ.get("LEADFLOW_SLACK_TOKEN"):
        os.environ["LEADFLOW_SLACK_CONSOLE"] = "true"
    get_settings.cache_clear()
    return url


def run_demo(
    options: DemoOptions, *, say: Callable[[str], None] = print, show_progress: bool = False
) -> dict[str, object]:
    """Generate, import and replay the demo period; returns the headline numbers.

    `show_progress` draws a progress bar (on stderr) over the replayed hours.
    """
    from app.replay import run_replay
    from app.synthetic import generate_dataset, write_csv
    from flows.backfill import backfill_hours, before_each_hour
    from leadflow.db import ensure_database
    from tasks.imports import import_file as import_csv

    started = time.perf_counter()

    def elapsed() -> str:
        return f"[{time.perf_counter() - started:5.1f} s]"

    end = floor_to_hour(options.end or utc_now())
    url = _fresh_database(options)
    engine = ensure_database(url)
    say(
        f"{elapsed()} 1/3 generating {options.contacts} contacts and {options.events} events over "
        f"{options.days} days up to {end.isoformat()} …"
    )
    dataset = generate_dataset(
        contacts=options.contacts,
        events=options.events,
        days=options.days,
        end=end,
        seed=options.seed,
    )
    files = write_csv(options.folder / "csv", dataset)
    say(f"{elapsed()} 2/3 importing {', '.join(str(p) for p in files.values())} …")
    settings = get_settings()
    for kind in ("owners", "companies", "contacts", "events"):
        summary = import_csv(
            engine,
            kind=kind,
            path=files[kind],
            naive_tz=settings.tz,
            now=utc_now(),
            max_bad_row_share=settings.max_bad_row_share,
        )
        say(f"    {kind}: {summary.inserted} inserted, {summary.quarantined_rows} quarantined")

    hourly_from = end - timedelta(days=options.hourly_days)
    start = end - timedelta(days=options.days)
    # (first hour, last hour, every N hours): daily, then hour by hour.
    # Daily steps at 10:00 business time, inside the send window and business hours, so
    # nurture email and sales work spread over the days instead of piling up.
    daily_from = datetime.combine(
        (start + timedelta(days=1)).astimezone(settings.tz).date(), DAILY_AT, tzinfo=settings.tz
    ).astimezone(UTC)
    replays = [
        (daily_from, hourly_from - timedelta(hours=1), 24),
        (hourly_from, end, 1),
    ]
    phases = [backfill_hours(first, last, every) for first, last, every in replays]
    hours = sum(len(phase) for phase in phases)
    say(
        f"{elapsed()} 3/3 simulating the lead cycle for {hours} hours (as `leadflow simulate` "
        f"does): daily from {start:%Y-%m-%d}, hourly for the last {options.hourly_days} days …"
    )
    rules = resolve_rules(None)

    worked_until: list[datetime] = []

    def sales_team(_previous: datetime | None, hour: datetime) -> None:
        # Reps log the calls and decisions of the time since the last replayed hour — also
        # across the daily and the hourly phase, which are separate replays.
        start = worked_until[-1] if worked_until else hour - timedelta(hours=1)
        work_leads(
            engine,
            rules=rules,
            start=start,
            end=hour,
            seed=options.seed,
            tz=settings.business_timezone,
        )
        worked_until.append(hour)

    with replay_progress(hours, enabled=show_progress), before_each_hour(sales_team):
        for phase in phases:
            result = run_replay(phase, simulate=True)
            if not result.completed:
                say(f"    warning: {result.message}")
    say(f"{elapsed()} done")
    page = write_kpi_page(options.folder / "kpi-report.html", start=start, end=end, rules=rules)
    say(f"{elapsed()} wrote the KPI report (funnel, MQLs, scores, SLA, deals; charts) to {page}")
    headline = summarise(engine, end=end)
    headline["kpi_report"] = str(page)
    headline["sales"] = sales_summary(engine)
    headline["hours_replayed"] = hours
    headline["seconds"] = round(time.perf_counter() - started, 1)
    headline["database"] = str(options.database_path.absolute())
    return headline


def write_kpi_page(path: Path, *, start: datetime, end: datetime, rules: Rules) -> Path:
    """The KPI report of the demo's days as one HTML page with charts, through the same
    wiring as `leadflow report kpi --format html` (the days [start, end] in business time)."""
    from leadflow.db import ensure_database
    from tasks.kpi.html import render_html, write_page
    from tasks.kpi.report import kpi_period, kpi_report

    settings = get_settings()
    first = start.astimezone(settings.tz).date()
    last = end.astimezone(settings.tz).date() + timedelta(days=1)
    period = kpi_period(first, last, tz=settings.tz, deals=rules.deals)
    report = kpi_report(ensure_database(settings.database_url), period)
    return write_page(render_html(report, deal_stages=rules.deals.names), path)


@contextmanager
def replay_progress(total: int, *, enabled: bool) -> Iterator[None]:
    """A progress bar over the replayed hours (on stderr), fed by the backfill flow."""
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from flows.backfill import reporting_progress

    columns = (
        TextColumn("    replaying {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("hours"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task("", total=total)

        def advance(_done: int, _total: int, hour: datetime) -> None:
            progress.update(task, advance=1, description=f"{hour:%Y-%m-%d %H:%M}Z")

        with reporting_progress(advance):
            yield
