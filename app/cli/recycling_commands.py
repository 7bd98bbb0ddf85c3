"""`leadflow run recycling`: the lead-recycling flow for one hour."""

from app.cli import DryRunFlag, RulesOption, run_app, run_hour_flow
from app.cli.scoring_commands import AsOfOption


@run_app.command("recycling")
def run_recycling_command(
    as_of: AsOfOption = None, dry_run: DryRunFlag = False, rules: RulesOption = None
) -> None:
    """Recycle unreachable leads, re-nurture lost deals and send retry reminders for one hour.

    Exits 1 when waiting reminders could not be dispatched (e.g. no Slack token); they
    stay pending in the outbox for the next run.
    """
    from flows.lead_recycling import lead_recycling

    run_hour_flow(lead_recycling, as_of=as_of, dry_run=dry_run, rules=rules)
