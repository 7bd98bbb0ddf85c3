"""`leadflow run scoring`, the `leadflow export` group (its commands: export_commands,
sla_commands) and `leadflow explain`."""

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from app.cli import RulesOption, app, check_rules, fail, finish_flow_run, run_app
from leadflow.settings import get_settings
from leadflow.timeutil import floor_to_hour, parse_instant, utc_now

AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="ISO 8601 instant (naive = business time zone); default now."),
]

AS_OF_YEARS = range(2000, 2101)


def parse_as_of(text: str | None, *, option: str = "--as-of") -> datetime:
    """The CLI's --as-of: ISO 8601, naive read in the business time zone, floored to the hour.

    Years outside 2000–2100 are refused with a clear message (they are typos, and the
    extremes cannot even be converted to UTC). `option` names the flag in the message.
    """
    if text is None:
        return floor_to_hour(utc_now())
    example = "e.g. 2026-11-22T09:00+09:00"
    try:
        instant = floor_to_hour(parse_instant(text, naive_tz=get_settings().tz))
    except ValueError:
        fail(f"{option} {text!r} is not an ISO 8601 timestamp ({example})")
    except OverflowError:
        instant = None
    if instant is None or instant.year not in AS_OF_YEARS:
        fail(
            f"{option} {text!r} is out of range: give a time between "
            f"{AS_OF_YEARS[0]} and {AS_OF_YEARS[-1]} ({example})"
        )
    return instant


def refuse_future(hour: datetime, *, option: str = "--as-of") -> None:
    """Exit with one line when `hour` is after the current hour: applying a future hour
    would mark every real hour before it as already decided."""
    now = floor_to_hour(utc_now())
    if hour > now:
        tz = get_settings().tz
        fail(
            f"{option} {hour.astimezone(tz).isoformat()} is in the future: an hour after now "
            f"cannot be run; the latest hour that can is {now.astimezone(tz).isoformat()} "
            "(--dry-run only looks ahead)"
        )


@run_app.command("scoring")
def run_scoring_command(
    as_of: AsOfOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide only; write nothing.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Rescore every contact.")] = False,
    rules: RulesOption = None,
) -> None:
    """Run the hourly-scoring flow for one hour."""
    hour = parse_as_of(as_of)
    if not dry_run:
        refuse_future(hour)
    rules_path = check_rules(rules)
    from flows.hourly_scoring import hourly_scoring

    finish_flow_run(
        hourly_scoring(
            as_of=hour, dry_run=dry_run, full=full, rules_path=rules_path, return_state=True
        )
    )


export_app = typer.Typer(help="Export data as CSV.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@app.command("explain")
def explain(
    email: Annotated[str | None, typer.Argument(help="The contact's email address.")] = None,
    contact_id: Annotated[
        int | None,
        typer.Option("--id", help="The contact's id instead (as run artifacts list contacts)."),
    ] = None,
    as_of: AsOfOption = None,
    rules: RulesOption = None,
) -> None:
    """Explain a contact: its score, lead-status history, SLA clocks and follow-up tasks.

    The score is shown signal by signal (points, dates, windows, caps); times are in the
    business time zone.
    """
    from sqlalchemy import select

    from flows.common import resolve_rules
    from leadflow.db import ensure_database
    from models.tables import Contact
    from tasks.scoring.explain import UnknownContact, format_explanation, read_explanation

    if (email is None) == (contact_id is None):
        fail("give a contact's EMAIL or --id N (one of them)")
    hour = parse_as_of(as_of)
    loaded = resolve_rules(check_rules(rules))
    engine = ensure_database(get_settings().database_url)
    with engine.connect() as conn:
        if contact_id is not None:
            email = conn.execute(
                select(Contact.email).where(Contact.id == contact_id)
            ).scalar_one_or_none()
        if email is None:
            fail(f"no contact with id {contact_id}")
        try:
            explanation = read_explanation(conn, email=email, rules=loaded, as_of=hour)
        except UnknownContact as error:
            fail(str(error))
    typer.echo(format_explanation(explanation, loaded, tz=get_settings().tz))


@app.command("demo")
def demo(
    contacts: Annotated[int, typer.Option(help="How many contacts to generate.")] = 2000,
    events: Annotated[int, typer.Option(help="How many events over the period.")] = 60000,
    days: Annotated[int, typer.Option(help="Length of the simulated period.")] = 30,
    hourly_days: Annotated[int, typer.Option(help="Last days replayed hour by hour.")] = 2,
    folder: Annotated[
        Path, typer.Option(help="Where the demo writes CSVs and its database.")
    ] = Path(".leadflow/demo"),
) -> None:
    """Replay a month of generated leads through the whole lead cycle, with a sales team.

    Generates leads as CSV files and imports them into a fresh SQLite file.
    Simulates scoring, MQL hand-offs, nurture email, SLA escalation and recycling,
    daily at 10:00, then hour by hour for the last days, while sales teams work the leads.
    Emails go to .eml files, Slack to the console; ends with a KPI report page.
    """
    # Hundreds of task runs: show the demo's own progress, not every task's INFO line.
    # Set before Prefect is imported, which configures its logging once.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Without a configured server Prefect runs a temporary one that stops with this
    # process; stopped while recording the last task run it logs a harmless traceback.
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    from app.demo import DemoOptions, format_summary, run_demo

    options = DemoOptions(
        folder=folder, contacts=contacts, events=events, days=days, hourly_days=hourly_days
    )
    headline = run_demo(options, say=typer.echo, show_progress=True)
    typer.echo(format_summary(headline))
