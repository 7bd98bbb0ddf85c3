"""`leadflow run promotion`: the mql-promotion flow for one hour."""

from typing import Annotated

import typer

from leadflow.cli import RulesOption, fail, run_app
from leadflow.cli.scoring_commands import AsOfOption, parse_as_of


@run_app.command("promotion")
def run_promotion_command(
    as_of: AsOfOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Decide only; write and send nothing.")
    ] = False,
    rules: RulesOption = None,
) -> None:
    """Promote leads, assign owners and hand them to sales on Slack for one hour."""
    from flows.mql_promotion import mql_promotion
    from models.rules import RulesError

    try:
        summary = mql_promotion(
            as_of=parse_as_of(as_of),
            dry_run=dry_run,
            rules_path=str(rules) if rules else None,
        )
    except RulesError as error:
        fail(str(error))
        return
    for key, value in summary.items():
        typer.echo(f"{key}: {value}")
    if summary.get("dispatch_error"):
        typer.secho(str(summary["dispatch_error"]), fg=typer.colors.YELLOW, err=True)
