"""Deployment `mql-promotion`: lifecycle promotion, owner assignment and the Slack hand-off."""

from datetime import datetime

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.common import (
    is_transient_db_error,
    opaque,
    resolve_as_of,
    resolve_rules,
    run_name_with_as_of,
)
from leadflow.adapters.slack import SlackNotConfigured, slack_sender
from leadflow.db import ensure_database
from leadflow.runs import recorded_run
from leadflow.settings import get_settings
from leadflow.timeutil import utc_now
from models.rules import Rules
from tasks.handoff import SLACK_CHANNEL, SlackTemplates, compose_handoff_messages
from tasks.outbox import OutboxMessage, count_by_status, dispatch
from tasks.promotion_apply import AppliedPromotions, apply_promotions
from tasks.promotion_decide import PromotionDecisions, decide_promotions
from tasks.promotion_read import PromotionInputs, read_handoff_context, read_promotion_inputs
from tasks.promotion_report import DispatchSummary, PromotionOutcome, promotion_markdown

FLOW_NAME = "mql-promotion"
ARTIFACT_KEY = "mql-promotion-summary"


@task(
    name="read-promotion-inputs",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=is_transient_db_error,
)
def read_promotion_inputs_task(database_url: str, rules: Rules, as_of: datetime) -> PromotionInputs:
    """Read candidates with their score as of the hour, their recent events, owners, history."""
    with ensure_database(database_url).connect() as conn:
        return read_promotion_inputs(conn, rules=rules, as_of=as_of)


@task(name="decide-promotions", cache_policy=NO_CACHE)
def decide_promotions_task(
    inputs: PromotionInputs, rules: Rules, as_of: datetime, max_bad_row_share: float
) -> PromotionDecisions:
    """Validate candidates, then decide stage transitions, hot leads and owners (pure)."""
    return decide_promotions(inputs, rules, as_of=as_of, max_bad_row_share=max_bad_row_share)


@task(
    name="compose-handoff-messages",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=is_transient_db_error,
)
def compose_handoff_messages_task(
    database_url: str, decisions: PromotionDecisions, inputs: PromotionInputs, rules: Rules
) -> list[OutboxMessage]:
    """Read the moved contacts' context and render their Slack hand-off messages."""
    contact_ids = [t.contact_id for t in decisions.transitions] + [
        h.contact_id for h in decisions.hot
    ]
    with ensure_database(database_url).connect() as conn:
        context = read_handoff_context(
            conn,
            contact_ids=contact_ids,
            as_of=decisions.as_of,
            latest=rules.promotion.slack.latest_activities,
        )
    return compose_handoff_messages(
        decisions,
        inputs=inputs,
        context=context,
        rules=rules,
        templates=SlackTemplates.load(),
        tz=get_settings().tz,
    )


@task(
    name="apply-promotions",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=is_transient_db_error,
)
def apply_promotions_task(
    database_url: str,
    decisions: PromotionDecisions,
    messages: list[OutboxMessage],
    rules: Rules,
    run_id: str,
) -> AppliedPromotions:
    """Write transitions, hot marks, owners and outbox messages in one transaction."""
    return apply_promotions(
        ensure_database(database_url),
        decisions,
        messages,
        rules=rules,
        run_id=run_id,
        now=utc_now(),
    )


@task(name="dispatch-slack", cache_policy=NO_CACHE)
def dispatch_slack_task(database_url: str, limit: int) -> DispatchSummary:
    """Drain due Slack messages from the outbox; what fails stays pending for the next run."""
    engine = ensure_database(database_url)
    logger = get_run_logger()
    error: str | None = None
    report = None
    try:
        sender = slack_sender(get_settings())
    except SlackNotConfigured as missing:
        error = str(missing)
        logger.error(error)
    else:
        report = dispatch(engine, channel=SLACK_CHANNEL, sender=sender, now=utc_now(), limit=limit)
        for line in report.errors:
            logger.warning("slack: %s", line)
    with engine.connect() as conn:
        pending = count_by_status(conn, channel=SLACK_CHANNEL).get("pending", 0)
    if report is None:
        return DispatchSummary(pending=pending, error=error)
    return DispatchSummary(
        sent=report.sent,
        retried=report.retried,
        failed=report.failed,
        deferred=report.deferred,
        pending=pending,
        errors=report.errors,
    )


def promote_hour(*, rules: Rules, as_of: datetime, dry_run: bool = False) -> PromotionOutcome:
    """Read → decide → apply → dispatch promotion for one hour as Prefect tasks.

    Call inside a flow (this one, or a lead-cycle flow after scoring). Records the run
    in the run ledger; `dry_run` stops after decide and sends nothing.
    """
    settings = get_settings()
    engine = ensure_database(settings.database_url)
    with recorded_run(
        engine, flow=FLOW_NAME, as_of=as_of, dry_run=dry_run,
        rules_hash=rules.fingerprint("promotion"),
    ) as run:
        inputs = read_promotion_inputs_task(settings.database_url, opaque(rules), as_of)
        decisions = decide_promotions_task(
            opaque(inputs), opaque(rules), as_of, settings.max_bad_row_share
        )
        messages = compose_handoff_messages_task(
            settings.database_url, opaque(decisions), opaque(inputs), opaque(rules)
        )
        applied = None
        dispatched = None
        if not dry_run:
            applied = apply_promotions_task(
                settings.database_url, opaque(decisions), opaque(messages), opaque(rules),
                run.run_id,
            )
            dispatched = dispatch_slack_task(
                settings.database_url, rules.promotion.slack.max_messages_per_run
            )
        outcome = PromotionOutcome(
            run_id=run.run_id,
            as_of=as_of,
            dry_run=dry_run,
            candidates=len(inputs.contacts),
            decisions=decisions,
            messages=len(messages),
            applied=applied,
            dispatch=dispatched,
        )
        run.summary = outcome.summary()
    return outcome


@flow(name=FLOW_NAME, flow_run_name=run_name_with_as_of, log_prints=True)
def mql_promotion(
    as_of: datetime | None = None,
    dry_run: bool = False,
    rules_path: str | None = None,
) -> dict[str, object]:
    """Promote leads by the rules, assign owners and hand them to sales on Slack.

    Reads the contacts some transition rule could move (score as of the hour, events
    since their latest stage change); decides transitions (forward only; demo request →
    sql; competitor domain → other), hot leads and owners; writes them with the Slack
    messages to the outbox in one transaction; then drains the outbox. `as_of` defaults
    to now floored to the hour (UTC); `dry_run` stops after decide. A rerun of the same
    hour changes nothing and sends nothing twice. Ends with the `mql-promotion-summary`
    artifact.
    """
    hour = resolve_as_of(as_of)
    outcome = promote_hour(rules=resolve_rules(rules_path), as_of=hour, dry_run=dry_run)
    create_markdown_artifact(
        key=ARTIFACT_KEY,
        markdown=promotion_markdown(outcome),
        description=f"MQL promotion at {hour.isoformat()}",
    )
    summary = outcome.summary()
    print(
        f"promotion at {hour.isoformat()}: {summary['decided']}"
        + (" (dry run: nothing written)" if dry_run else f", applied {summary['promoted']}")
    )
    return summary
