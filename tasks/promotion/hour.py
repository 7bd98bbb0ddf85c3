"""One promotion hour — read → decide → apply → dispatch — the only way it runs.

The `mql-promotion` flow, backfills, the CLI, the demo and the tests all call
`promote_hour`, so the tests exercise what production runs. The hand-off messages are
composed (pure rendering) inside the apply transaction a slice of contacts at a time
(`tasks.promotion.handoff_slices`), so their time counts in the "apply" beat.
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
from tasks.internal_email import INTERNAL_EMAIL_CHANNEL
from tasks.promotion.apply import AppliedPromotions, apply_promotions
from tasks.promotion.decide import PromotionDecisions, PromotionInputs, decide_promotions
from tasks.promotion.handoff_slices import HANDOFF_SLICE, HandoffComposer
from tasks.promotion.read import read_promotion_inputs
from tasks.promotion.read_scope import promotion_rules_hash, promotion_scope
from tasks.promotion.report import PromotionOutcome

FLOW_NAME = "mql-promotion"


@database_beat("read-promotion-inputs")
def read_promotion(
    database_url: str, rules: Rules, as_of: datetime, full: bool = False
) -> PromotionInputs:
    """Read the candidates whose decision can have changed since the previous run (all of
    them when `full`, on the first run or after a rules change) with their score as of the
    hour and recent events, the late-assignment candidates, owners and history."""
    with ensure_database(database_url).connect() as conn:
        scope = promotion_scope(conn, flow=FLOW_NAME, rules=rules, as_of=as_of, full=full)
        return read_promotion_inputs(conn, rules=rules, as_of=as_of, scope=scope)


@plain_beat("decide-promotions")
def decide_promotion(
    inputs: PromotionInputs, rules: Rules, as_of: datetime, max_bad_row_share: float
) -> PromotionDecisions:
    """Validate candidates, then decide stage transitions, hot leads and owners, late ones
    too (pure)."""
    return decide_promotions(inputs, rules, as_of=as_of, max_bad_row_share=max_bad_row_share)


@database_beat("compose-handoff-messages")
def compose_handoffs(
    database_url: str,
    decisions: PromotionDecisions,
    inputs: PromotionInputs,
    rules: Rules,
    settings: Settings,
) -> list[OutboxMessage]:
    """Every Slack message and owner email of the hour's hand-offs at once, in the
    slices `promote_hour` composes them in (for small hours: the list is the whole hour)."""
    composer = HandoffComposer.load(inputs, rules=rules, tz=settings.tz)
    with ensure_database(database_url).connect() as conn:
        return [m for part in composer.in_slices(conn, decisions) for m in part]


@database_beat("count-handoff-messages")
def count_handoffs(
    database_url: str, decisions: PromotionDecisions, composer: HandoffComposer, slice_size: int
) -> tuple[int, int]:
    """Compose the hand-offs slice by slice as apply would, keeping only how many Slack
    messages and owner emails there are (a dry run)."""
    messages = emails = 0
    with ensure_database(database_url).connect() as conn:
        for part in composer.in_slices(conn, decisions, size=slice_size):
            emails += sum(1 for m in part if m.channel == INTERNAL_EMAIL_CHANNEL)
            messages += sum(1 for m in part if m.channel != INTERNAL_EMAIL_CHANNEL)
    return messages, emails


@database_beat("apply-promotions")
def apply_promotion(
    database_url: str,
    decisions: PromotionDecisions,
    composer: HandoffComposer,
    run_id: str,
    slice_size: int,
) -> AppliedPromotions:
    """Write transitions, hot marks, owners and, composed slice by slice, the hand-off
    messages in one transaction."""
    return apply_promotions(
        ensure_database(database_url),
        decisions,
        lambda conn: composer.in_slices(conn, decisions, size=slice_size),
        rules=composer.rules,
        run_id=run_id,
        now=utc_now(),
    )


def promote_hour(
    *, settings: Settings, rules: Rules, as_of: datetime, dry_run: bool = False,
    clock: Clock = Clock.LIVE, full: bool = False, handoff_slice: int = HANDOFF_SLICE,
) -> PromotionOutcome:
    """Promote, assign (late too) and hand off for one hour, then drain Slack and email.

    An hour at or before the latest applied hour does nothing at all: it was decided
    already, and what it owes goes out with the next new hour. Records the run in the
    run ledger; `dry_run` stops after decide and sends nothing. `clock` dates the
    sends (`tasks.clock`). `full` reads every candidate instead of only those whose
    decision can have changed since the previous run (the same decisions, slower).
    `handoff_slice`: handed-off contacts whose messages are composed and enqueued at a
    time (the same messages whatever the size; memory grows with it).
    """
    url = settings.database_url
    engine = ensure_database(url)
    timer = BeatTimer()
    earlier = superseded_by(engine, flow=FLOW_NAME, as_of=as_of, dry_run=dry_run)
    with recorded_run(
        engine, flow=FLOW_NAME, as_of=as_of, dry_run=dry_run,
        rules_hash=promotion_rules_hash(rules),
    ) as run:
        candidates = 0
        decisions = PromotionDecisions(as_of=as_of)
        composer: HandoffComposer | None = None
        messages = emails = 0
        if earlier is None:
            with timer.beat("read"):
                inputs = read_promotion(url, opaque(rules), as_of, full)
                composer = HandoffComposer.load(inputs, rules=rules, tz=settings.tz)
            with timer.beat("decide"):
                candidates = len(inputs.contacts)
                decisions = decide_promotion(
                    opaque(inputs), opaque(rules), as_of, settings.max_bad_row_share
                )
                if dry_run:
                    messages, emails = count_handoffs(
                        url, opaque(decisions), opaque(composer), handoff_slice
                    )
        applied = None
        dispatched = None
        emailed = None
        if not dry_run and composer is not None:
            with timer.beat("apply"):
                applied = apply_promotion(
                    url, opaque(decisions), opaque(composer), run.run_id, handoff_slice
                )
                messages, emails = applied.composed, applied.emails_composed
            with timer.beat("dispatch"):
                dispatched, emailed = drain_staff_messages(
                    settings, rules, as_of=as_of, clock=clock
                )
        outcome = PromotionOutcome(
            run_id=run.run_id,
            as_of=as_of,
            dry_run=dry_run,
            candidates=candidates,
            decisions=decisions,
            messages=messages,
            emails=emails,
            applied=applied,
            dispatch=dispatched,
            email_dispatch=emailed,
            beat_seconds=timer.seconds,
            superseded_by=earlier.as_of.isoformat() if earlier else None,
        )
        run.summary = outcome.summary()
    return outcome
