"""One promotion hour — read → decide → compose → apply → dispatch — the only way it runs.

The `mql-promotion` flow, backfills, the CLI, the demo and the tests all call
`promote_hour`, so the tests exercise what production runs.
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
from tasks.promotion.handoff import SlackTemplates, compose_handoff_messages
from tasks.promotion.handoff_email import InternalTemplates, compose_handoff_emails
from tasks.promotion.handoff_facts import HandoffFacts
from tasks.promotion.read import read_promotion_inputs
from tasks.promotion.read_handoff import read_handoff_context
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
    """Read the handed-off contacts' context; render their Slack messages and owner emails."""
    contact_ids = [
        *(t.contact_id for t in decisions.transitions),
        *(h.contact_id for h in decisions.hot),
        *(a.contact_id for a in decisions.assignments if a.late),
    ]
    with ensure_database(database_url).connect() as conn:
        context = read_handoff_context(
            conn,
            contact_ids=contact_ids,
            as_of=decisions.as_of,
            latest=rules.promotion.slack.latest_activities,
        )
    # One set of facts for both channels, built from the handed-off contacts' rows only.
    facts = HandoffFacts(decisions, inputs=inputs, context=context, rules=rules, tz=settings.tz)
    slack = compose_handoff_messages(
        decisions,
        inputs=inputs,
        context=context,
        rules=rules,
        templates=SlackTemplates.load(),
        tz=settings.tz,
        facts=facts,
    )
    emails = compose_handoff_emails(
        decisions,
        inputs=inputs,
        context=context,
        rules=rules,
        templates=InternalTemplates.load(),
        tz=settings.tz,
        facts=facts,
    )
    return [*slack, *emails]


@database_beat("apply-promotions")
def apply_promotion(
    database_url: str,
    decisions: PromotionDecisions,
    messages: list[OutboxMessage],
    rules: Rules,
    run_id: str,
) -> AppliedPromotions:
    """Write transitions, hot marks, owners and outbox messages in one transaction."""
    return apply_promotions(
        ensure_database(database_url), decisions, messages, rules=rules, run_id=run_id,
        now=utc_now(),
    )


def promote_hour(
    *, settings: Settings, rules: Rules, as_of: datetime, dry_run: bool = False,
    clock: Clock = Clock.LIVE, full: bool = False,
) -> PromotionOutcome:
    """Promote, assign (late too) and hand off for one hour, then drain Slack and email.

    An hour at or before the latest applied hour does nothing at all: it was decided
    already, and what it owes goes out with the next new hour. Records the run in the
    run ledger; `dry_run` stops after decide and sends nothing. `clock` dates the
    sends (`tasks.clock`). `full` reads every candidate instead of only those whose
    decision can have changed since the previous run (the same decisions, slower).
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
        messages: list[OutboxMessage] = []
        if earlier is None:
            with timer.beat("read"):
                inputs = read_promotion(url, opaque(rules), as_of, full)
            with timer.beat("decide"):
                candidates = len(inputs.contacts)
                decisions = decide_promotion(
                    opaque(inputs), opaque(rules), as_of, settings.max_bad_row_share
                )
                messages = compose_handoffs(
                    url, opaque(decisions), opaque(inputs), opaque(rules), opaque(settings)
                )
        applied = None
        dispatched = None
        emailed = None
        if not dry_run and earlier is None:
            with timer.beat("apply"):
                applied = apply_promotion(
                    url, opaque(decisions), opaque(messages), opaque(rules), run.run_id
                )
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
            messages=sum(1 for m in messages if m.channel != INTERNAL_EMAIL_CHANNEL),
            emails=sum(1 for m in messages if m.channel == INTERNAL_EMAIL_CHANNEL),
            applied=applied,
            dispatch=dispatched,
            email_dispatch=emailed,
            beat_seconds=timer.seconds,
            superseded_by=earlier.as_of.isoformat() if earlier else None,
        )
        run.summary = outcome.summary()
    return outcome
