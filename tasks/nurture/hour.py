"""One nurture hour — read → decide → apply → send — the only way nurture runs.

The `nurture-scheduler` flow, backfills, the CLI, the demo and the tests all call
`nurture_hour`; the send time comes from `tasks.clock.effective_now` alone.
"""

from datetime import datetime

from leadflow.adapters.email import transport_from_settings
from leadflow.db import ensure_database
from leadflow.runs import recorded_run, superseded_by
from leadflow.settings import Settings
from leadflow.timeutil import utc_now
from models.rules import Rules
from tasks.beats import BeatTimer, database_beat, opaque, plain_beat
from tasks.clock import Clock, effective_now
from tasks.nurture.apply import AppliedNurture, apply_nurture
from tasks.nurture.decide import (
    NurtureDecisions,
    NurtureFrames,
    decide_nurture,
    validate_planned_emails,
)
from tasks.nurture.read import read_nurture_frames
from tasks.nurture.read_scope import nurture_rules_hash, nurture_scope
from tasks.nurture.report import NurtureOutcome, frame_sizes
from tasks.nurture.send import dispatch_emails
from tasks.outbox import DispatchReport

FLOW_NAME = "nurture-scheduler"


@database_beat("read-nurture-frames")
def read_nurture(database_url: str, rules: Rules, as_of: datetime) -> NurtureFrames:
    """Read contacts, enrollments, sends, events, activities and suppressions at as_of:
    of every contact on a first run (or after a rules change), else only of those whose
    decisions can have changed since the previous applied run (`read_scope`)."""
    with ensure_database(database_url).connect() as conn:
        scope = nurture_scope(conn, flow=FLOW_NAME, rules=rules, as_of=as_of)
        return read_nurture_frames(conn, rules=rules, as_of=as_of, scope=scope)


@plain_beat("decide-nurture")
def decide(
    frames: NurtureFrames, rules: Rules, as_of: datetime, settings: Settings
) -> NurtureDecisions:
    """Exits, waits, branches, new enrollments and emails to send, decided purely.

    Planned emails are validated; bad ones are set aside as quarantine records.
    """
    decisions = decide_nurture(
        frames,
        rules=rules.nurture,
        thresholds=rules.scoring.thresholds,
        as_of=as_of,
        business_timezone=settings.business_timezone,
    )
    return validate_planned_emails(
        decisions, locales=rules.nurture.locales, max_bad_row_share=settings.max_bad_row_share
    )


@database_beat("apply-nurture")
def apply(
    database_url: str, decisions: NurtureDecisions, run_id: str, now: datetime
) -> AppliedNurture:
    """Write enrollments, history, sends and outbox rows in one transaction."""
    with ensure_database(database_url).begin() as conn:
        return apply_nurture(conn, decisions, run_id=run_id, now=now)


@plain_beat("dispatch-nurture-emails")
def send(
    settings: Settings, rules: Rules, now: datetime
) -> tuple[DispatchReport, str, dict[str, str]]:
    """Send due marketing emails over SMTP (or into the development .eml folder)."""
    transport = transport_from_settings(settings)
    deliveries: dict[str, str] = {}
    report = dispatch_emails(
        ensure_database(settings.database_url),
        rules=rules,
        settings=settings,
        transport=transport,
        now=now,
        deliveries=deliveries,
    )
    return report, transport.description, deliveries


def nurture_hour(
    *,
    settings: Settings,
    rules: Rules,
    as_of: datetime,
    dry_run: bool = False,
    clock: Clock = Clock.LIVE,
) -> NurtureOutcome:
    """Enrol, advance, branch and send nurture email for one hour.

    Sends are stamped by `clock` (see `tasks.clock`). An hour at or before the latest
    applied hour does nothing at all: it was decided already, and what it owes goes out
    with the next new hour.
    Records the run in the run ledger; `dry_run` stops after decide. Without a usable
    signing secret (or with SMTP login refused without TLS) a real run fails before it
    decides anything: SigningSecretError / PlainAuthRefused.
    """
    if not dry_run:
        settings.signing_keys()
        transport_from_settings(settings)
    url = settings.database_url
    engine = ensure_database(url)
    timer = BeatTimer()
    earlier = superseded_by(engine, flow=FLOW_NAME, as_of=as_of, dry_run=dry_run)
    with recorded_run(
        engine,
        flow=FLOW_NAME,
        as_of=as_of,
        dry_run=dry_run,
        rules_hash=nurture_rules_hash(rules),
    ) as run:
        outcome = NurtureOutcome(
            as_of=as_of,
            dry_run=dry_run,
            run_id=run.run_id,
            read={},
            decisions=NurtureDecisions(as_of=as_of),
            beat_seconds=timer.seconds,
            superseded_by=earlier.as_of.isoformat() if earlier else None,
        )
        if earlier is None:
            with timer.beat("read"):
                frames = read_nurture(url, opaque(rules), as_of)
            with timer.beat("decide"):
                outcome.read = frame_sizes(frames)
                outcome.decisions = decide(opaque(frames), opaque(rules), as_of, opaque(settings))
        if not dry_run and earlier is None:
            now = effective_now(as_of, clock=clock, now=utc_now())
            with timer.beat("apply"):
                outcome.applied = apply(url, opaque(outcome.decisions), run.run_id, now)
            with timer.beat("dispatch"):
                outcome.dispatch, outcome.transport, outcome.deliveries = send(
                    opaque(settings), opaque(rules), now
                )
        run.summary = outcome.summary()
    return outcome
