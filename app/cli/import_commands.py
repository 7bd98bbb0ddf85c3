"""`leadflow import <kind> FILE.csv` and `leadflow quarantine list`."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from app.cli import app, fail
from leadflow.db import ensure_database
from leadflow.settings import get_settings
from leadflow.timeutil import utc_now
from models.enums import Stage
from models.tables import Quarantine
from tasks.imports import (
    ConsentMapping,
    ImportFileError,
    ImportKind,
    import_file,
    parse_consent_options,
    parse_date_format,
    parse_deal_stage_map,
    parse_stage_map,
)
from tasks.imports.run import ImportProgress

import_app = typer.Typer(
    help="Import CSV files; bad rows go to quarantine, good rows land. See README 'CSV formats'.",
    no_args_is_help=True,
)
quarantine_app = typer.Typer(help="Rows rejected by imports.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(quarantine_app, name="quarantine")

FileArgument = Annotated[str, typer.Argument(help="CSV file (UTF-8, UTF-8 with BOM or Shift_JIS).")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Validate and count, write nothing.")]
StageMapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--stage-map",
        help="Map a custom lifecycle stage: CUSTOM=stage (repeatable), e.g. 'Trial=mql'. "
        f"Stages: {', '.join(Stage)}.",
    ),
]

DealStageMapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--stage-map",
        help="Map a custom deal stage: CUSTOM=stage (repeatable), e.g. 'Engaging=value_agreed'. "
        "Stages: the rules' deals.stages, won, lost.",
    ),
]
DateFormatOption = Annotated[
    str | None,
    typer.Option(
        "--date-format",
        metavar="dmy|mdy",
        help="Read 05/03/2024 day-first (dmy: 5 March) or month-first (mdy: May 3; "
        "'03/05/2024 10:12 AM' as US exports write it). Without it such dates are "
        "quarantined, never guessed. ISO 8601 and 2024/03/05 [10:12[:30]] are always read.",
    ),
]
ConsentFromOption = Annotated[
    list[str] | None,
    typer.Option(
        "--consent-from",
        metavar="COLUMN=VALUE",
        help="Opt-in: a contact whose COLUMN holds VALUE may receive nurture email, e.g. "
        "'Marketing contact status=Marketing contact' (repeatable: any one grants). A "
        "contact with that column filled otherwise gets no consent; blank keeps what it "
        "had. Without this option a HubSpot export gives nobody consent.",
    ),
]
UnsubscribedFromOption = Annotated[
    list[str] | None,
    typer.Option(
        "--unsubscribed-from",
        metavar="COLUMN=VALUE",
        help="Opt-out: a contact whose COLUMN holds VALUE is recorded as unsubscribed (no "
        "marketing email, ever; wins over --consent-from), e.g. "
        "'Unsubscribed from all email=true' (repeatable).",
    ),
]
BouncedFromOption = Annotated[
    list[str] | None,
    typer.Option(
        "--bounced-from",
        metavar="COLUMN=VALUE",
        help="A contact whose COLUMN holds VALUE is recorded as bounced (no marketing email), "
        "e.g. 'Email hard bounce reason=*' (repeatable). In all three options VALUE matches "
        "ignoring case and spacing, or one value of a ';'-separated cell; true/yes/1 and "
        "false/no/0 are alike; * is any non-empty cell.",
    ),
]


@contextmanager
def import_progress(path: str) -> Iterator[ImportProgress]:
    """A progress bar on stderr (rows read of the file's lines) while a file imports.

    Chunks are 200,000 rows, so only large ledger files move it more than once; it
    disappears when the import ends and the summary is printed.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn(f"importing {path}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        bar = progress.add_task("import", total=None)

        def advance(rows: int, total: int | None) -> None:
            progress.update(bar, completed=rows, total=total)

        yield advance


def run_import(
    kind: ImportKind,
    path: str,
    *,
    stage_map: list[str] | None = None,
    dry_run: bool = False,
    date_format: str | None = None,
    consent: ConsentMapping | None = None,
) -> None:
    """Import one file into LEADFLOW_DATABASE_URL and print the summary.

    Exits 1 when the share of bad rows passes LEADFLOW_MAX_BAD_ROW_SHARE.
    """
    settings = get_settings()
    rules = None
    if kind in ("activities", "deals"):
        from models.rules import RulesError, load_rules

        try:
            rules = load_rules(settings.rules_path)
        except RulesError as error:
            fail(str(error))
            return
    try:
        if kind == "deals" and rules is not None:
            mapping: dict[str, Stage] = {}
            deal_mapping = parse_deal_stage_map(stage_map or [], rules.deals)
        else:
            mapping, deal_mapping = parse_stage_map(stage_map or []), {}
        dates = parse_date_format(date_format)
    except ValueError as error:
        fail(str(error))
        return
    try:
        engine = ensure_database(settings.database_url)
        with import_progress(path) as on_progress:
            summary = import_file(
                engine,
                kind=kind,
                path=path,
                naive_tz=settings.tz,
                now=utc_now(),
                stage_map=mapping,
                deal_stage_map=deal_mapping,
                max_bad_row_share=settings.max_bad_row_share,
                dry_run=dry_run,
                on_progress=on_progress,
                rules=rules,
                date_format=dates,
                consent=consent,
            )
    except ImportFileError as error:
        fail(str(error))
        return
    except DBAPIError as error:
        # The import's one transaction was rolled back: say so in one line, no traceback.
        reason = str(error.orig or error).strip().splitlines()[0]
        fail(f"{path}: the database refused the import, nothing was written ({reason})")
        return
    except KeyboardInterrupt:
        typer.secho(
            f"{path}: import interrupted. It runs in one transaction, so the file landed "
            "whole or not at all; importing it again is safe (rows already there stay "
            "unchanged).",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(code=130) from None
    for line in summary.lines():
        typer.echo(line)
    if summary.too_many_bad_rows:
        # The summary's FAILED line and its reasons already said why: exit 1, say it once.
        raise typer.Exit(code=1)


@import_app.command("owners")
def import_owners(path: FileArgument, dry_run: DryRunOption = False) -> None:
    """Owners by email: email*, name, team, manager_email, slack_user_id, active, weight."""
    run_import("owners", path, dry_run=dry_run)


@import_app.command("companies")
def import_companies(path: FileArgument, dry_run: DryRunOption = False) -> None:
    """Companies by domain: domain*, name, industry, employee_count, region."""
    run_import("companies", path, dry_run=dry_run)


@import_app.command("contacts")
def import_contacts(
    path: FileArgument,
    stage_map: StageMapOption = None,
    consent_from: ConsentFromOption = None,
    unsubscribed_from: UnsubscribedFromOption = None,
    bounced_from: BouncedFromOption = None,
    date_format: DateFormatOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Contacts by email, from leadflow's CSV format or a HubSpot "all contacts" export.

    The summary says how many contacts can receive nurture email and why not the rest.
    HubSpot exports have no consent column: say which column means opt-in, e.g.
    --consent-from 'Marketing contact status=Marketing contact'
    --unsubscribed-from 'Unsubscribed from all email=true'.
    """
    try:
        consent = parse_consent_options(
            consent_from=consent_from or [],
            unsubscribed_from=unsubscribed_from or [],
            bounced_from=bounced_from or [],
        )
    except ValueError as error:
        fail(str(error))
    run_import(
        "contacts",
        path,
        stage_map=stage_map,
        dry_run=dry_run,
        date_format=date_format,
        consent=consent,
    )


@import_app.command("events")
def import_events(
    path: FileArgument, date_format: DateFormatOption = None, dry_run: DryRunOption = False
) -> None:
    """Behaviour events by event_id: event_id*, email*, type*, detail*, occurred_at*."""
    run_import("events", path, dry_run=dry_run, date_format=date_format)


@import_app.command("activities")
def import_activities(
    path: FileArgument, date_format: DateFormatOption = None, dry_run: DryRunOption = False
) -> None:
    """Sales touches by activity_id: activity_id*, email*, owner_email, type*, outcome, …"""
    run_import("activities", path, dry_run=dry_run, date_format=date_format)


@import_app.command("deals")
def import_deals(
    path: FileArgument,
    stage_map: DealStageMapOption = None,
    date_format: DateFormatOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Deals by deal_id: deal_id*, company_domain, contact_email, name*, stage*, amount, …

    Stages come from the rules' `deals:` pipeline; a won deal makes its contact a customer.
    """
    run_import("deals", path, stage_map=stage_map, dry_run=dry_run, date_format=date_format)


@quarantine_app.command("list")
def quarantine_list(
    source: Annotated[
        str | None, typer.Option("--source", help="Only rows from this file (as imported).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Show at most this many rows.")] = 50,
) -> None:
    """Show quarantined rows as FILE:ROW field=… value=… reason, oldest file line first."""
    engine = ensure_database(get_settings().database_url)
    statement = select(Quarantine).order_by(
        Quarantine.source, Quarantine.row_number, Quarantine.field
    )
    if source is not None:
        statement = statement.where(Quarantine.source == source)
    with engine.connect() as conn:
        rows = conn.execute(statement.limit(limit)).all()
    if not rows:
        typer.echo(
            "quarantine is empty" if source is None else f"nothing quarantined from {source}"
        )
        return
    for row in rows:
        value = "" if row.value is None else f" value={row.value!r}"
        typer.echo(f"{row.source}:{row.row_number} field={row.field}{value} {row.reason}")
