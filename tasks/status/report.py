"""What a status command did, in the words a person reads after it."""

from datetime import datetime, tzinfo

from models.enums import LeadStatus
from tasks.status.apply import AppliedStatusChanges
from tasks.status.run import ActivityLogged, StatusSet


def local_time(instant: datetime, tz: tzinfo) -> str:
    """An instant in the business time zone, to the minute (2026-05-01T10:00+09:00)."""
    return instant.astimezone(tz).isoformat(timespec="minutes")


def describe_logged(logged: ActivityLogged, *, tz: tzinfo) -> str:
    """`recorded call no_answer for a@x.com at …; lead status new → attempting`."""
    what = f"{logged.type.value} {logged.outcome.value} for {logged.email} at " + local_time(
        logged.at, tz
    )
    if not logged.recorded:
        return f"already recorded: {what}; nothing changed"
    if not logged.applied.changes:
        status, since = logged.lead_status, logged.status_since
        kept = f"lead status stays {status}" if status else "no lead status to move"
        if status and since is not None and logged.at < since:
            kept += f" (it was set later, at {local_time(since, tz)})"
        return f"recorded {what}; {kept}"
    moves = ", ".join(
        f"{c.from_status or '-'} → {c.to_status.value}" for c in logged.applied.changes
    )
    text = f"recorded {what}; lead status {moves}"
    if logged.applied.transitions:
        text += _lifecycle(logged.applied, logged.lifecycle_stage)
    return text


def describe_set(result: StatusSet, *, tz: tzinfo) -> str:
    """`lead status of a@x.com: connected → sales_ready at …; lifecycle mql → sql`, or
    `lead status of a@x.com is already connected; nothing changed`."""
    change = result.change
    if change is None:
        kept = f"lead status of {result.email} is already {result.status.value}"
        if result.retry_at is not None:
            kept += f" (re-approach {local_time(result.retry_at, tz)})"
        return f"{kept}; nothing changed"
    text = (
        f"lead status of {result.email}: {change.from_status or '-'} → "
        f"{change.to_status.value} at {local_time(change.at, tz)}"
    )
    if change.retry_at is not None:
        text += f", re-approach {local_time(change.retry_at, tz)}"
    if change.reason:
        text += f" (reason: {change.reason})"
    text += _lifecycle(result.applied, result.lifecycle_stage)
    if change.to_status is LeadStatus.RECYCLE and result.applied.owners:
        team = result.applied.owners[0].team.value
        text += (
            f"; owner → {result.owner_email} ({team})"
            if result.owner_email
            else f"; owner cleared: no active {team} owner"
        )
    return text


def _lifecycle(applied: AppliedStatusChanges, stage: str | None) -> str:
    if not applied.transitions:
        return f"; lifecycle stays {stage or '-'}"
    return "; " + ", ".join(
        f"lifecycle {t.from_stage or '-'} → {t.to_stage.value}" for t in applied.transitions
    )
