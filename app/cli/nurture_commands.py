"""`leadflow run nurture` and `leadflow serve` (the tracking endpoint)."""

from typing import Annotated

import typer

from app.cli import (
    RulesOption,
    app,
    check_rules,
    dry_run_already_decided,
    fail,
    finish_flow_run,
    run_app,
)
from app.cli.scoring_commands import AsOfOption, parse_as_of, refuse_future
from leadflow.settings import Settings, SigningSecretError, get_settings


def warn_about_transport(settings: Settings) -> None:
    """Print a warning for each plain-http URL that would carry tokens or credentials."""
    for warning in settings.transport_warnings():
        typer.secho(warning, fg=typer.colors.YELLOW, err=True)


def check_sending(settings: Settings) -> None:
    """Exit with one clear line when emails could not be sent safely; warn about http URLs."""
    from leadflow.adapters.email import PlainAuthRefused, transport_from_settings

    try:
        settings.signing_keys()
        transport_from_settings(settings)
    except (SigningSecretError, PlainAuthRefused) as error:
        fail(str(error))
    warn_about_transport(settings)


@run_app.command("nurture")
def run_nurture_command(
    as_of: AsOfOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide only; write nothing.")] = False,
    rules: RulesOption = None,
) -> None:
    """Run the nurture-scheduler flow for one hour: enrol, advance, branch, send.

    Exits 1 when due emails could not be sent at all (e.g. the SMTP server is
    unreachable); they stay pending in the outbox for the next run.
    """
    hour = parse_as_of(as_of)
    rules_path = check_rules(rules)
    from flows.nurture_scheduler import nurture_scheduler
    from tasks.nurture.hour import FLOW_NAME as NURTURE_FLOW

    settings = get_settings()
    if not dry_run:
        refuse_future(hour)
        check_sending(settings)
    elif dry_run_already_decided(NURTURE_FLOW, hour):
        return
    summary = finish_flow_run(
        nurture_scheduler(as_of=hour, dry_run=dry_run, rules_path=rules_path, return_state=True)
    )
    if summary.get("superseded_by"):
        typer.echo(
            f"already decided: the latest applied hour is {summary['superseded_by']}; "
            "this rerun decided, wrote and sent nothing"
        )
    elif not dry_run and not settings.smtp_host:
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

    from app.tracking import create_app

    settings = get_settings()
    try:
        settings.signing_keys()
    except SigningSecretError as error:
        fail(str(error))
    warn_about_transport(settings)
    typer.echo(f"tracking endpoint on http://{host}:{port} (public: {settings.public_base_url})")
    # The app writes its own access log with shortened tokens (app.tracking): uvicorn's
    # would record every full token, enough to unsubscribe or fake clicks.
    uvicorn.run(
        create_app(settings=settings), host=host, port=port, log_level="info", access_log=False
    )


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
    from tasks.nurture.apply import record_suppression

    if reason not in ("unsubscribed", "bounced"):
        fail(f"--reason must be unsubscribed or bounced, not {reason!r}")
    engine = ensure_database(get_settings().database_url)
    with engine.begin() as conn:
        contact_id = conn.execute(
            select(Contact.id).where(func.lower(Contact.email) == email.strip().lower())
        ).scalar_one_or_none()
        if contact_id is None:
            fail(f"no contact with email {email}")
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
