"""`leadflow run scoring`, `leadflow export contacts` and `leadflow explain`."""

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from leadflow.cli import RulesOption, app, fail, run_app
from leadflow.settings import get_settings
from leadflow.timeutil import floor_to_hour, parse_instant, utc_now

AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="ISO 8601 instant (naive = business time zone); default now."),
]


def parse_as_of(text: str | None) -> datetime:
    """The CLI's --as-of: ISO 8601, naive read in the business time zone, floored to the hour."""
    if text is None:
        return floor_to_hour(utc_now())
    try:
        return floor_to_hour(parse_instant(text, naive_tz=get_settings().tz))
    except ValueError:
        fail(f"--as-of {text!r} is not an ISO 8601 timestamp (e.g. 2026-11-22T09:00+09:00)")
        raise


@run_app.command("scoring")
def run_scoring_command(
    as_of: AsOfOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide only; write nothing.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Rescore every contact.")] = False,
    rules: RulesOption = None,
) -> None:
    """Run the hourly-scoring flow for one hour."""
    from flows.hourly_scoring import hourly_scoring
    from models.rules import RulesError

    try:
        summary = hourly_scoring(
            as_of=parse_as_of(as_of), dry_run=dry_run, full=full,
            rules_path=str(rules) if rules else None,
        )
    except RulesError as error:
        fail(str(error))
        return
    for key, value in summary.items():
        typer.echo(f"{key}: {value}")


export_app = typer.Typer(help="Export data as CSV.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("contacts")
def export_contacts(
    output: Annotated[Path, typer.Option("-o", "--output", help="CSV file to write.")],
    hubspot: Annotated[
        bool, typer.Option("--hubspot", help="Write HubSpot internal stage names.")
    ] = False,
) -> None:
    """Write every contact's stage, status, scores, owner and stage dates to a CSV file."""
    from leadflow.db import ensure_database
    from tasks.export import read_contacts_export, to_hubspot_stages, write_csv

    engine = ensure_database(get_settings().database_url)
    with engine.connect() as conn:
        frame = read_contacts_export(conn)
    if hubspot:
        frame = to_hubspot_stages(frame)
    write_csv(frame, str(output))
    typer.echo(f"wrote {len(frame)} contacts to {output}")


@app.command("explain")
def explain(
    email: str,
    as_of: AsOfOption = None,
    rules: RulesOption = None,
) -> None:
    """Explain a contact's score: each signal, its points, dates, windows and caps."""
    from flows.common import resolve_rules
    from leadflow.db import ensure_database
    from models.rules import RulesError
    from tasks.explain import UnknownContact, format_explanation, read_explanation

    try:
        loaded = resolve_rules(str(rules) if rules else None)
    except RulesError as error:
        fail(str(error))
        return
    engine = ensure_database(get_settings().database_url)
    with engine.connect() as conn:
        try:
            explanation = read_explanation(
                conn, email=email, rules=loaded, as_of=parse_as_of(as_of)
            )
        except UnknownContact as error:
            fail(str(error))
            return
    typer.echo(format_explanation(explanation, loaded))


@app.command("demo")
def demo(
    contacts: Annotated[int, typer.Option(help="How many contacts to generate.")] = 2000,
    events: Annotated[int, typer.Option(help="How many events over the period.")] = 60000,
    days: Annotated[int, typer.Option(help="Length of the simulated period.")] = 30,
    hourly_days: Annotated[int, typer.Option(help="Last days replayed hour by hour.")] = 2,
    folder: Annotated[Path, typer.Option(help="Where the demo writes CSVs and its database.")]
    = Path(".leadflow/demo"),
) -> None:
    """Generate a realistic month of leads into a fresh SQLite file and score it hour by hour."""
    # Hundreds of task runs: show the demo's own progress, not every task's INFO line.
    # Set before Prefect is imported, which configures its logging once.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from leadflow.demo import DemoOptions, format_summary, run_demo

    options = DemoOptions(
        folder=folder, contacts=contacts, events=events, days=days, hourly_days=hourly_days
    )
    headline = run_demo(options, say=typer.echo)
    typer.echo(format_summary(headline))
