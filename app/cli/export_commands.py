"""`leadflow export contacts|companies|deals [--hubspot]`."""

from pathlib import Path
from typing import Annotated

import typer

from app.cli import RulesOption, check_rules, fail
from app.cli.scoring_commands import export_app
from leadflow.settings import get_settings
from tasks.export.hubspot import DEFAULT_PIPELINE
from tasks.export.run import ExportKind

OutputOption = Annotated[Path, typer.Option("-o", "--output", help="CSV file to write.")]
HubSpotFlag = Annotated[
    bool,
    typer.Option(
        "--hubspot",
        help="A file HubSpot's importer takes as it is: its labels, its internal values, "
        "Record ID as the key, times in the business time zone.",
    ),
]
PipelineOption = Annotated[
    str, typer.Option("--pipeline", help="HubSpot pipeline id written with --hubspot.")
]


def run_export(
    kind: ExportKind, output: Path, *, hubspot: bool, rules: Path | None, pipeline: str
) -> None:
    """Export `kind` to `output` and say how many rows; one error line if it cannot."""
    from flows.common import resolve_rules
    from leadflow.db import ensure_database
    from tasks.export.run import ExportOptions, export_records

    settings = get_settings()
    options = ExportOptions(
        tz=settings.tz,
        rules=resolve_rules(check_rules(rules)) if hubspot else None,
        hubspot=hubspot,
        pipeline=pipeline,
    )
    engine = ensure_database(settings.database_url)
    try:
        written = export_records(engine, kind=kind, path=str(output), options=options)
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}")
    typer.echo(f"wrote {written} {kind} to {output}")


@export_app.command("contacts")
def export_contacts(
    output: OutputOption, hubspot: HubSpotFlag = False, rules: RulesOption = None
) -> None:
    """Write every contact: stage, status, scores, owner, stage dates, attributes.

    Without --hubspot the columns are leadflow's, which `leadflow import contacts` reads
    back. --hubspot: Record ID, Email, names, company, title, HubSpot's lifecycle stage and lead
    status (mapped by the rules' lead_status.hubspot), Contact owner (email), Create Date,
    the Became a … Date columns and "leadflow Score".
    """
    run_export("contacts", output, hubspot=hubspot, rules=rules, pipeline=DEFAULT_PIPELINE)


@export_app.command("companies")
def export_companies(
    output: OutputOption, hubspot: HubSpotFlag = False, rules: RulesOption = None
) -> None:
    """Write every company: domain, name, industry, employees, region, stage.

    --hubspot: Company name, Company Domain Name, Industry (HubSpot's internal value, when
    it is one of HubSpot's industries), Number of Employees, State/Region, Lifecycle Stage.
    """
    run_export("companies", output, hubspot=hubspot, rules=rules, pipeline=DEFAULT_PIPELINE)


@export_app.command("deals")
def export_deals(
    output: OutputOption,
    hubspot: HubSpotFlag = False,
    pipeline: PipelineOption = DEFAULT_PIPELINE,
    rules: RulesOption = None,
) -> None:
    """Write every deal: id, company, contact, name, stage, amount, dates, lost reason.

    --hubspot: Deal Name, Pipeline, Deal Stage (the rules' deals.aliases: closedwon,
    closedlost, …), Amount, Close Date, Create Date, the contact's Record ID and Email, the
    company's domain and "leadflow Deal ID".
    """
    run_export("deals", output, hubspot=hubspot, rules=rules, pipeline=pipeline)
