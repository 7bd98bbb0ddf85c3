"""`leadflow run nurture` and `leadflow serve` (the tracking endpoint)."""

from typing import Annotated

import typer

from leadflow.cli import RulesOption, app, fail, run_app
from leadflow.cli.scoring_commands import AsOfOption, parse_as_of
from leadflow.settings import get_settings


@run_app.command("nurture")
def run_nurture_command(
    as_of: AsOfOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide only; write nothing.")] = False,
    rules: RulesOption = None,
) -> None:
    """Run the nurture-scheduler flow for one hour: enrol, advance, branch, send."""
    from flows.nurture_scheduler import nurture_scheduler
    from models.rules import RulesError

    settings = get_settings()
    try:
        summary = nurture_scheduler(
            as_of=parse_as_of(as_of), dry_run=dry_run, rules_path=str(rules) if rules else None
        )
    except RulesError as error:
        fail(str(error))
        return
    for key, value in summary.items():
        typer.echo(f"{key}: {value}")
    if not dry_run and not settings.smtp_host:
        typer.echo(
            f"no LEADFLOW_SMTP_HOST: emails were written as .eml files to "
            f"{settings.outbox_dir.resolve()}"
        )


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the tracking endpoint: one-click unsubscribe, open pixel, click redirect."""
    import uvicorn

    from leadflow.tracking import create_app

    settings = get_settings()
    if settings.signing_secret == "change-me-in-production":
        typer.secho(
            "warning: LEADFLOW_SIGNING_SECRET is the default; set a secret in production",
            fg=typer.colors.YELLOW,
            err=True,
        )
    typer.echo(f"tracking endpoint on http://{host}:{port} (public: {settings.public_base_url})")
    uvicorn.run(create_app(settings=settings), host=host, port=port, log_level="info")


@app.command("suppress")
def suppress(
    email: str,
    reason: Annotated[
        str, typer.Option(help="unsubscribed (e.g. by the mailto link) or bounced (a DSN).")
    ] = "unsubscribed",
    detail: Annotated[str | None, typer.Option(help="Where it came from, for the record.")] = None,
) -> None:
    """Stop all marketing email to a contact; running enrollments exit on the next run."""
    from sqlalchemy import func, select

    from leadflow.db import ensure_database
    from leadflow.timeutil import utc_now
    from models.tables import Contact
    from tasks.nurture_apply import record_suppression

    if reason not in ("unsubscribed", "bounced"):
        fail(f"--reason must be unsubscribed or bounced, not {reason!r}")
    engine = ensure_database(get_settings().database_url)
    with engine.begin() as conn:
        contact_id = conn.execute(
            select(Contact.id).where(func.lower(Contact.email) == email.strip().lower())
        ).scalar_one_or_none()
        if contact_id is None:
            fail(f"no contact with email {email}")
            return
        new = record_suppression(
            conn,
            contact_id=contact_id,
            email=email.strip().lower(),
            reason=reason,
            source="cli",
            detail=detail,
            at=utc_now(),
        )
    typer.echo(f"{email}: {reason}" + ("" if new else " (already recorded)"))
