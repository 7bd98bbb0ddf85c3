"""Deployment `nurture-scheduler`: enrol, advance, branch, and send nurture emails hourly."""

from datetime import datetime

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.common import (
    is_transient_db_error,
    opaque,
    resolve_as_of,
    resolve_rules,
    run_name_with_as_of,
)
from leadflow.adapters.email import transport_from_settings
from leadflow.db import ensure_database
from leadflow.runs import recorded_run
from leadflow.settings import get_settings
from leadflow.timeutil import utc_now
from models.rules import Rules
from tasks.nurture import (
    FLOW_NAME,
    NurtureOutcome,
    apply,
    decide,
    dispatch_emails,
    frame_sizes,
    nurture_markdown,
    read_nurture,
)
from tasks.nurture_apply import AppliedNurture
from tasks.nurture_decide import NurtureDecisions, NurtureFrames
from tasks.outbox import DispatchReport


@task(
    name="read-nurture-frames",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=is_transient_db_error,
)
def read_nurture_task(database_url: str, rules: Rules, as_of: datetime) -> NurtureFrames:
    """Read contacts, enrollments, sends, events, activities and suppressions at as_of."""
    return read_nurture(ensure_database(database_url), rules=rules, as_of=as_of)


@task(name="decide-nurture", cache_policy=NO_CACHE)
def decide_nurture_task(frames: NurtureFrames, rules: Rules, as_of: datetime) -> NurtureDecisions:
    """Exits, waits, branches, new enrollments and emails to send, decided purely."""
    return decide(frames, rules=rules, as_of=as_of, settings=get_settings())


@task(
    name="apply-nurture",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=is_transient_db_error,
)
def apply_nurture_task(
    database_url: str, decisions: NurtureDecisions, run_id: str, now: datetime
) -> AppliedNurture:
    """Write enrollments, history, sends and outbox rows in one transaction."""
    return apply(ensure_database(database_url), decisions, run_id=run_id, now=now)


@task(name="dispatch-nurture-emails", cache_policy=NO_CACHE)
def dispatch_emails_task(
    database_url: str, rules: Rules, now: datetime
) -> tuple[DispatchReport, str, dict[str, str]]:
    """Send due marketing emails over SMTP (or into the development .eml folder)."""
    settings = get_settings()
    transport = transport_from_settings(settings)
    deliveries: dict[str, str] = {}
    report = dispatch_emails(
        ensure_database(database_url),
        rules=rules,
        settings=settings,
        transport=transport,
        now=now,
        deliveries=deliveries,
    )
    return report, transport.description, deliveries


def nurture_hour(
    *, rules: Rules, as_of: datetime, dry_run: bool = False, send_at: datetime | None = None
) -> NurtureOutcome:
    """Read → decide → apply → send nurture for one hour as Prefect tasks (call inside a flow).

    Emails are sent (and waits counted) at `send_at`: by default now, or the hour itself
    when it is in the future; a backfill that simulates the clock passes the hour.
    Records the run in the run ledger; `dry_run` stops after decide.
    """
    settings = get_settings()
    engine = ensure_database(settings.database_url)
    with recorded_run(
        engine, flow=FLOW_NAME, as_of=as_of, dry_run=dry_run,
        rules_hash=rules.fingerprint("nurture"),
    ) as run:
        frames = read_nurture_task(settings.database_url, opaque(rules), as_of)
        decisions = decide_nurture_task(opaque(frames), opaque(rules), as_of)
        outcome = NurtureOutcome(
            as_of=as_of,
            dry_run=dry_run,
            run_id=run.run_id,
            read=frame_sizes(frames),
            decisions=decisions,
        )
        if not dry_run:
            # Sends happen now; a past hour rerun never back-dates a send.
            now = send_at or max(as_of, utc_now())
            outcome.applied = apply_nurture_task(
                settings.database_url, opaque(decisions), run.run_id, now
            )
            outcome.dispatch, outcome.transport, outcome.deliveries = dispatch_emails_task(
                settings.database_url, opaque(rules), now
            )
        run.summary = outcome.summary()
    return outcome


@flow(name=FLOW_NAME, flow_run_name=run_name_with_as_of, log_prints=True)
def nurture_scheduler(
    as_of: datetime | None = None,
    dry_run: bool = False,
    rules_path: str | None = None,
) -> dict[str, object]:
    """Run the nurture programs for one hour.

    Exits enrollments whose contact became MQL/SQL, replied, booked a meeting,
    unsubscribed or bounced; advances due ones (waits count from the actual send);
    evaluates branches on what is known at `as_of`; enrols new contacts; enqueues each
    email once under the key (enrollment, step); and sends due emails, checking consent,
    suppression, the send window and the frequency cap at send time. `as_of` defaults
    to now floored to the hour (UTC); `dry_run` stops after decide. Ends with the
    `nurture-scheduler-summary` artifact.
    """
    hour = resolve_as_of(as_of)
    outcome = nurture_hour(rules=resolve_rules(rules_path), as_of=hour, dry_run=dry_run)
    summary = outcome.summary()
    create_markdown_artifact(
        key="nurture-scheduler-summary",
        markdown=nurture_markdown(outcome),
        description=f"Nurture at {hour.isoformat()}",
    )
    counts = outcome.decisions.counts()
    sent = outcome.dispatch.sent if outcome.dispatch else 0
    print(
        f"nurture at {hour.isoformat()}: {counts['enrolled']} enrolled, {counts['emails']} "
        f"emails queued, {sent} sent, {counts['held']} held, {counts['exited']} exited"
        + (f" ({outcome.transport})" if outcome.transport else "")
        + (" (dry run: nothing written)" if dry_run else "")
    )
    return summary
