"""`leadflow erase EMAIL`: erase a person (APPI / GDPR request) and suppress the address."""

from typing import Annotated

import typer

from app.cli import app, fail
from leadflow.settings import get_settings


@app.command("erase")
def erase_command(
    email: Annotated[str, typer.Argument(help="The person's email address.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be removed; change nothing.")
    ] = False,
) -> None:
    """Remove a person everywhere leadflow wrote them; keep only a salted hash.

    Runs without a Prefect flow run, so the address stays out of the Prefect API.
    """
    if "@" not in email.strip():
        fail(f"{email!r} is not an email address")
    from tasks.erase.run import erase_person

    outcome = erase_person(settings=get_settings(), email=email, dry_run=dry_run)
    typer.echo(f"erasure run {outcome.run_id}")
    for line in outcome.lines():
        typer.echo(line)
    if outcome.files_left:
        raise typer.Exit(code=1)
