"""`leadflow log-activity` and `leadflow set-status`: sales work and lead statuses."""

from datetime import datetime
from typing import Annotated

import typer

from app.cli import RulesOption, app, check_rules, fail
from app.cli.scoring_commands import AS_OF_YEARS
from leadflow.settings import get_settings
from leadflow.timeutil import parse_instant, utc_now
from models.enums import ActivityOutcome, ActivityType, LeadStatus

EXAMPLE = "e.g. 2026-11-22T09:30+09:00"
AtOption = Annotated[
    str | None,
    typer.Option("--at", help="When it happened: ISO 8601 (naive = business time zone); "
                 "default now, to the minute."),
]


def parse_time(text: str | None, *, option: str) -> datetime:
    """An exact instant from the command line (naive = business time zone).

    None is the current minute: the same command run twice within a minute is the same
    activity, so it is recorded once.
    """
    if text is None:
        return utc_now().replace(second=0, microsecond=0)
    try:
        instant = parse_instant(text, naive_tz=get_settings().tz)
    except ValueError:
        fail(f"{option} {text!r} is not an ISO 8601 timestamp ({EXAMPLE})")
    except OverflowError:
        instant = None
    if instant is None or instant.year not in AS_OF_YEARS:
        fail(
            f"{option} {text!r} is out of range: give a time between "
            f"{AS_OF_YEARS[0]} and {AS_OF_YEARS[-1]} ({EXAMPLE})"
        )
    return instant


@app.command("log-activity")
def log_activity_command(
    email: Annotated[str, typer.Argument(help="The contact's email address.")],
    type: Annotated[
        str, typer.Option("--type", help=f"What was done: {', '.join(ActivityType)}.")
    ],
    outcome: Annotated[
        str, typer.Option("--outcome", help=f"What came of it: {', '.join(ActivityOutcome)}.")
    ],
    at: AtOption = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Email of the owner who did it.")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Free text kept with it.")] = None,
    rules: RulesOption = None,
) -> None:
    """Record a sales activity and move the lead status as its outcome says.

    Logging the same activity (email, type, outcome, --at) again adds nothing; without
    --at it is the current minute. An --at in the future is refused.
    """
    from flows.common import resolve_rules
    from leadflow.db import ensure_database
    from tasks.status.report import describe_logged
    from tasks.status.run import StatusInputError, log_activity

    settings = get_settings()
    when = parse_time(at, option="--at")
    loaded = resolve_rules(check_rules(rules))
    try:
        logged = log_activity(
            ensure_database(settings.database_url), rules=loaded, email=email, type=type,
            outcome=outcome, at=when, now=utc_now(), owner_email=owner, note=note,
            tz=settings.tz,
        )
    except StatusInputError as error:
        fail(str(error))
    typer.echo(describe_logged(logged, tz=settings.tz))


@app.command("set-status")
def set_status_command(
    email: Annotated[str, typer.Argument(help="The contact's email address.")],
    status: Annotated[str, typer.Argument(help=f"The new lead status: {', '.join(LeadStatus)}.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (required for recycle).")
    ] = None,
    retry_at: Annotated[
        str | None,
        typer.Option("--retry-at", help="Re-approach date for retry (ISO 8601, required)."),
    ] = None,
    at: AtOption = None,
    rules: RulesOption = None,
) -> None:
    """Move a contact's lead status; sales_ready makes it sql, recycle a lead, unqualified other.

    recycle also hands the lead back to a marketing owner. Asking for the status it
    already has changes nothing (exit 0); a move the rules forbid, or an --at in the
    future, changes nothing and exits 1.
    """
    from flows.common import resolve_rules
    from leadflow.db import ensure_database
    from tasks.status.decide import InvalidStatusMove
    from tasks.status.report import describe_set
    from tasks.status.run import StatusInputError, set_status

    settings = get_settings()
    when = parse_time(at, option="--at")
    retry = None if retry_at is None else parse_time(retry_at, option="--retry-at")
    loaded = resolve_rules(check_rules(rules))
    try:
        result = set_status(
            ensure_database(settings.database_url), rules=loaded, email=email, status=status,
            at=when, now=utc_now(), reason=reason, retry_at=retry, tz=settings.tz,
        )
    except (StatusInputError, InvalidStatusMove) as error:
        fail(str(error))
    typer.echo(describe_set(result, tz=settings.tz))
