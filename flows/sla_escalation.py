"""Deployment `sla-escalation`: sales SLA clocks, escalation ladders and follow-up tasks."""

from datetime import datetime
from typing import Any

from prefect import flow
from prefect.client.schemas.objects import State

from flows.common import (
    report_step,
    resolve_as_of,
    resolve_rules,
    run_name_with_as_of,
)
from flows.notify import notify_failure
from leadflow.settings import get_settings
from tasks.cycle_outcome import CycleStep
from tasks.sla.hour import FLOW_NAME, sla_hour

ARTIFACT_KEY = f"{FLOW_NAME}-summary"


@flow(
    name=FLOW_NAME,
    flow_run_name=run_name_with_as_of,
    log_prints=True,
    on_failure=[notify_failure],
    on_crashed=[notify_failure],
)
def sla_escalation(
    as_of: datetime | None = None,
    dry_run: bool = False,
    rules_path: str | None = None,
) -> dict[str, object] | State[Any]:
    """Open, close and escalate the sales SLA clocks of every handed-over lead.

    Per hour, with facts at or before it: each hand-off (entering mql, or sql straight
    from lead) opens one clock per policy in the rules `sla` (first_touch, follow_ups,
    sql_decision, stale_new by default), due by the business calendar (weekdays, 09:00–
    18:00, Japanese holidays, year-end closure). A clock is satisfied by its stop
    condition (touches logged, a lead status) or closed when the cycle ends (recycle,
    disqualification, a new hand-off). Each ladder level fires once per contact, cycle,
    policy and level: a Slack DM and an internal email to the owner, the manager, or the
    team channel, and at the reassign level a new owner from the team's rotation. Levels
    that came due longer ago than `sla.max_escalation_age` never fire (imported history
    pages nobody). Follow-up tasks (day 0/3/7) are stored and marked done by the touches.
    A rerun of the same hour changes nothing and sends nothing twice. Ends with the
    `sla-escalation-summary` artifact. A run whose messages could not be dispatched (no
    Slack token, every send failed) ends Failed with the reason; the messages stay
    pending in the outbox for the next run.

    Args:
        as_of: The hour to run, floored to the hour. Empty means now. A time without a
            UTC offset is read in the business time zone (LEADFLOW_BUSINESS_TIMEZONE,
            default Asia/Tokyo); the UI's date picker sends UTC.
        dry_run: Decide only: report clocks, escalations and messages, write and send
            nothing.
            The result then lists each decision (`decisions`), as does the
            `sla-escalation-dry-run-decisions` artifact.
        rules_path: A rules YAML file to use instead of the configured default.
    """
    hour = resolve_as_of(as_of)
    outcome = sla_hour(
        settings=get_settings(), rules=resolve_rules(rules_path), as_of=hour, dry_run=dry_run
    )
    return report_step(CycleStep.SLA, outcome, dry_run=dry_run)
