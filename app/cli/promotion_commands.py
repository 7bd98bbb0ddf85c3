"""`leadflow run promotion`: the mql-promotion flow for one hour."""

from app.cli import DryRunFlag, RulesOption, run_app, run_hour_flow
from app.cli.scoring_commands import AsOfOption


@run_app.command("promotion")
def run_promotion_command(
    as_of: AsOfOption = None, dry_run: DryRunFlag = False, rules: RulesOption = None
) -> None:
    """Promote leads, assign owners and hand them to sales on Slack and by email for one hour.

    Exits 1 when the hand-off could not be dispatched (e.g. no Slack token); the
    messages stay pending in the outbox for the next run.
    """
    from flows.mql_promotion import mql_promotion

    run_hour_flow(mql_promotion, as_of=as_of, dry_run=dry_run, rules=rules)
