"""`leadflow run sla` (the sla-escalation flow for one hour) and `leadflow export sla`."""

from pathlib import Path
from typing import Annotated

import typer

from app.cli import DryRunFlag, RulesOption, fail, run_app, run_hour_flow
from app.cli.scoring_commands import AsOfOption, export_app
from leadflow.settings import get_settings


@run_app.command("sla")
def run_sla_command(
    as_of: AsOfOption = None, dry_run: DryRunFlag = False, rules: RulesOption = None
) -> None:
    """Open, close and escalate sales SLA clocks for one hour (Slack + internal email).

    Exits 1 when waiting escalations could not be dispatched (e.g. no Slack token); they
    stay pending in the outbox for the next run.
    """
    from flows.sla_escalation import sla_escalation

    run_hour_flow(sla_escalation, as_of=as_of, dry_run=dry_run, rules=rules)


@export_app.command("sla")
def export_sla(
    output: Annotated[Path, typer.Option("-o", "--output", help="CSV file to write.")],
) -> None:
    """Write every SLA clock (email, policy, cycle, started/due/satisfied/breached, level)."""
    from leadflow.db import ensure_database
    from tasks.sla.export import read_sla_export, write_sla_csv

    settings = get_settings()
    with ensure_database(settings.database_url).connect() as conn:
        frame = read_sla_export(conn)
    try:
        write_sla_csv(frame, str(output), tz=settings.tz)
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}")
    typer.echo(f"wrote {len(frame)} SLA clocks to {output}")
