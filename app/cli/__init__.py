"""The `leadflow` command: database, rules, import, runs, export, explain and the demo."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from leadflow.settings import get_settings

if TYPE_CHECKING:
    from datetime import datetime

    from prefect.client.schemas.objects import State

app = typer.Typer(help="leadflow: lead-lifecycle automation as code.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
rules_app = typer.Typer(help="Rules files.", no_args_is_help=True)
app.add_typer(db_app, name="db")
run_app = typer.Typer(help="Run one flow for one hour (as_of).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(run_app, name="run")

RulesOption = Annotated[
    Path | None, typer.Option("--rules", help="Rules YAML (default: LEADFLOW_RULES_PATH).")
]
DryRunFlag = Annotated[bool, typer.Option("--dry-run", help="Decide only; write and send nothing.")]


def fail(message: str) -> NoReturn:
    """Print an error to stderr and exit with status 1."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def check_rules(rules: Path | None) -> str | None:
    """Load and validate the rules file before a flow starts; exit with one clear line if bad.

    Returns the path to hand to the flow (None: the configured default). A bad file then
    fails here, without a flow run and its traceback.
    """
    from flows.common import resolve_rules
    from models.rules import RulesError

    path = str(rules) if rules else None
    try:
        resolve_rules(path)
    except RulesError as error:
        fail(str(error))
    return path


def run_hour_flow(
    flow: Callable[..., Any], *, as_of: str | None, dry_run: bool, rules: Path | None
) -> dict[str, Any]:
    """Run an hourly flow (promotion, recycling, SLA, the cycle) for one hour from the
    command line.

    Checks `--as-of` and `--rules` before any flow run starts, warns when email would go
    to files, prints the summary (a dry run's decisions as a table after it), and says so
    when the hour was already decided.
    """
    from app.cli.nurture_commands import warn_about_transport
    from app.cli.scoring_commands import parse_as_of, refuse_future

    hour = parse_as_of(as_of)
    rules_path = check_rules(rules)
    if not dry_run:
        refuse_future(hour)
        warn_about_transport(get_settings())
    elif dry_run_already_decided(str(getattr(flow, "name", "")), hour):
        return {}
    summary = finish_flow_run(
        flow(as_of=hour, dry_run=dry_run, rules_path=rules_path, return_state=True)
    )
    if summary.get("superseded_by"):
        from tasks.narration import already_decided_words

        typer.echo(f"already decided: {already_decided_words(summary)}")
    return summary


def dry_run_already_decided(flow_name: str, hour: "datetime") -> bool:
    """Say so and return True when `flow_name` applied `hour` or a later one already.

    A real run of such an hour decides, writes and sends nothing, so the decisions a dry
    run would list are actions no run would take. (The lead cycle checks step by step.)
    """
    from leadflow.db import ensure_database
    from leadflow.runs import latest_applied_run
    from tasks.narration import already_decided_words

    with ensure_database(get_settings().database_url).connect() as conn:
        latest = latest_applied_run(conn, flow=flow_name)
    if latest is None or hour > latest.as_of:
        return False
    summary = {"superseded_by": latest.as_of.isoformat(), "dry_run": True}
    typer.echo(f"already decided: {already_decided_words(summary)}")
    return True


def finish_flow_run(state: "State[Any]") -> dict[str, Any]:
    """Print a flow run's summary; exit 1 with its state message when the run failed.

    A run that did its work but could not dispatch (e.g. no Slack token) ends Failed with
    its summary attached: print both. A dry run's summary carries its decisions: they
    follow the counts as a table. Any other failure is re-raised as it happened.
    """
    from flows.common import DispatchStopped

    result = state.result(raise_on_failure=False)
    summary: dict[str, Any] | None = None
    if isinstance(result, DispatchStopped):
        summary = result.summary
    elif isinstance(result, BaseException):
        raise result
    elif isinstance(result, dict):
        summary = result
    for key, value in (summary or {}).items():
        if key not in ("decisions", "decisions_artifact"):  # printed as the table below
            typer.echo(f"{key}: {value}")
    if summary and "decisions" in summary:
        from app.cli.decisions_table import print_decisions

        print_decisions(summary["decisions"], artifact=summary.get("decisions_artifact"))
    if not state.is_completed():
        fail(f"{state.name}: {state.message or 'the run did not complete'}")
    return summary or {}


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to LEADFLOW_DATABASE_URL."""
    from leadflow.db import upgrade
    from leadflow.settings import masked_url

    url = get_settings().database_url
    upgrade(url)
    typer.echo(f"database at {masked_url(url)} is up to date")


@rules_app.command("check")
def rules_check(path: Path) -> None:
    """Validate a rules file; errors name the bad key."""
    from models.rules import RulesError, load_rules

    try:
        rules = load_rules(path)
    except RulesError as error:
        fail(str(error))
    from leadflow.email_render import check_nurture_templates

    problems = check_nurture_templates(rules.nurture)
    if problems:
        fail(f"{path}: nurture programs cannot send\n  " + "\n  ".join(problems))
    typer.echo(
        f"{path}: ok — '{rules.name}', {len(rules.scoring.behaviour.signals)} behaviour and "
        f"{len(rules.scoring.fit.signals)} fit signals, max score {rules.max_score}, "
        f"{len(rules.nurture.programs)} nurture programs, "
        f"{len(rules.sla.policies)} SLA policies"
    )


def main() -> None:
    """Console entry point."""
    # Without a configured server, each command's flow starts a temporary one; Prefect
    # gives it 20 s, which a busy 2-core machine misses ("Timed out while attempting to
    # connect to ephemeral Prefect API server"). A user's own setting wins.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # Offline by default; with analytics on, the temporary server's telemetry heartbeat
    # races the run for its SQLite file and prints a "database is locked" traceback.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    try:
        _register_commands()
    except KeyboardInterrupt:
        # Ctrl-C while the commands load: no traceback of the module being imported.
        typer.echo("interrupted", err=True)
        raise SystemExit(130) from None
    app()


def _register_commands() -> None:
    # Each command family lives in its own module and registers itself on import.
    import app.cli.backfill_commands
    import app.cli.cycle_commands
    import app.cli.erase_commands
    import app.cli.export_commands
    import app.cli.nurture_commands
    import app.cli.outbox_commands
    import app.cli.promotion_commands
    import app.cli.recycling_commands
    import app.cli.report_commands
    import app.cli.scoring_commands
    import app.cli.sla_commands
    import app.cli.status_commands  # noqa: F401
    from app.cli import import_commands  # noqa: F401
