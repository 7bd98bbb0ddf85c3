"""`leadflow run cycle`: the lead-cycle flow (every hourly step, in order) for one hour."""

from app.cli import DryRunFlag, RulesOption, run_app, run_hour_flow
from app.cli.scoring_commands import AsOfOption


@run_app.command("cycle")
def run_cycle_command(
    as_of: AsOfOption = None, dry_run: DryRunFlag = False, rules: RulesOption = None
) -> None:
    """Run the whole hourly cycle (every step, in order) for one hour.

    Scoring → promotion → recycling → nurture → SLA escalation, each step after the
    previous one finished. Prints each step's headline counts. Exits 1 when some step
    could not dispatch its messages (e.g. no Slack token); the later steps still ran,
    and the messages stay pending in the outbox for the next run.
    """
    from flows.lead_cycle import lead_cycle

    run_hour_flow(lead_cycle, as_of=as_of, dry_run=dry_run, rules=rules)
