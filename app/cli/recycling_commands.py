"""`leadflow run recycling`: the lead-recycling flow for one hour."""

from typing import Annotated

import typer

from app.cli import RulesOption, check_rules, finish_flow_run, run_app
from app.cli.scoring_commands import AsOfOption, parse_as_of


@run_app.command("recycling")
def run_recycling_command(
    as_of: AsOfOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Decide only; write and send nothing.")
    ] = False,
    rules: RulesOption = None,
) -> None:
    """Recycle unreachable leads, re-nurture lost deals and send retry reminders for one hour.

    Exits 1 when waiting reminders could not be dispatched (e.g. no Slack token); they
    stay pending in the outbox for the next run.
    """
    hour = parse_as_of(as_of)
    rules_path = check_rules(rules)
    from app.cli.nurture_commands import warn_about_transport
    from flows.lead_recycling import lead_recycling
    from leadflow.settings import get_settings

    if not dry_run:
        warn_about_transport(get_settings())
    summary = finish_flow_run(
        lead_recycling(as_of=hour, dry_run=dry_run, rules_path=rules_path, return_state=True)
    )
    if summary.get("superseded_by"):
        typer.echo(
            f"already decided: the latest applied hour is {summary['superseded_by']}; "
            "this rerun decided, wrote and sent nothing"
        )
