"""One recycling hour — read → decide → apply → dispatch — the only way it runs.

The `lead-recycling` flow, the CLI (through the flow) and the tests all call
`recycle_hour`, so the tests exercise what production runs.
"""

from datetime import datetime

from leadflow.db import ensure_database
from leadflow.runs import recorded_run, superseded_by
from leadflow.settings import Settings
from leadflow.timeutil import utc_now
from models.messages import OutboxMessage
from models.rules import Rules
from tasks.beats import BeatTimer, database_beat, opaque, plain_beat
from tasks.clock import Clock
from tasks.dispatch import drain_staff_messages
from tasks.recycling.apply import AppliedRecycling, apply_recycling
from tasks.recycling.decide import decide_recycling
from tasks.recycling.decisions import RecyclingDecisions
from tasks.recycling.frames import RecyclingFrames
from tasks.recycling.read import read_recycling_frames
from tasks.recycling.reminders import compose_retry_reminders
from tasks.recycling.report import RecyclingOutcome

FLOW_NAME = "lead-recycling"


@database_beat("read-recycling-frames")
def read_recycling(database_url: str, rules: Rules, as_of: datetime) -> RecyclingFrames:
    """Read the candidates of every recycling rule with their facts at as_of."""
    with ensure_database(database_url).connect() as conn:
        return read_recycling_frames(conn, as_of=as_of, lost_stages=rules.deals.lost_names(),
                                     recycling=rules.recycling)


@plain_beat("decide-recycling")
def decide_recycles(
    frames: RecyclingFrames, rules: Rules, as_of: datetime, settings: Settings
) -> tuple[RecyclingDecisions, list[OutboxMessage]]:
    """Decide recycles, disqualifications, re-nurtures and retry reminders, and compose
    the reminder messages (pure). Input rows failing their schema are quarantined."""
    decisions = decide_recycling(
        frames, rules=rules, as_of=as_of, tz=settings.tz,
        max_bad_row_share=settings.max_bad_row_share,
    )
    messages = compose_retry_reminders(
        decisions, frames, language=rules.sla.language, tz=settings.tz
    )
    return decisions, messages


@database_beat("apply-recycling")
def apply_recycles(
    database_url: str,
    decisions: RecyclingDecisions,
    messages: list[OutboxMessage],
    rules: Rules,
    run_id: str,
) -> AppliedRecycling:
    """Write status changes, stage moves, owners, reminders and quarantine rows in one
    transaction."""
    return apply_recycling(
        ensure_database(database_url), decisions, messages, rules=rules, run_id=run_id,
        now=utc_now(),
    )


def recycle_hour(
    *, settings: Settings, rules: Rules, as_of: datetime, dry_run: bool = False,
    clock: Clock = Clock.LIVE,
) -> RecyclingOutcome:
    """Recycle, disqualify, re-nurture and remind for one hour, then drain the outbox.

    An hour at or before the latest applied hour does nothing at all: it was decided
    already. Records the run in the run ledger; `dry_run` stops after decide and sends
    nothing. `clock` dates the
    sends (`tasks.clock`).
    """
    url = settings.database_url
    engine = ensure_database(url)
    timer = BeatTimer()
    earlier = superseded_by(engine, flow=FLOW_NAME, as_of=as_of, dry_run=dry_run)
    with recorded_run(
        engine, flow=FLOW_NAME, as_of=as_of, dry_run=dry_run,
        rules_hash=rules.fingerprint("recycling"),
    ) as run:
        candidates = 0
        decisions = RecyclingDecisions(as_of=as_of)
        messages: list[OutboxMessage] = []
        if earlier is None:
            with timer.beat("read"):
                frames = read_recycling(url, opaque(rules), as_of)
            with timer.beat("decide"):
                candidates = len(frames.contacts)
                decisions, messages = decide_recycles(
                    opaque(frames), opaque(rules), as_of, opaque(settings)
                )
        applied = slack = email = None
        if not dry_run and earlier is None:
            with timer.beat("apply"):
                applied = apply_recycles(
                    url, opaque(decisions), opaque(messages), opaque(rules), run.run_id
                )
            with timer.beat("dispatch"):
                slack, email = drain_staff_messages(
                    settings, rules, as_of=as_of, clock=clock
                )
        outcome = RecyclingOutcome(
            run_id=run.run_id,
            as_of=as_of,
            dry_run=dry_run,
            candidates=candidates,
            decisions=decisions,
            messages=len(messages),
            applied=applied,
            slack=slack,
            email=email,
            beat_seconds=timer.seconds,
            superseded_by=earlier.as_of.isoformat() if earlier else None,
        )
        run.summary = outcome.summary()
    return outcome
