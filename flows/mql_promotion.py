"""Deployment `mql-promotion`: lifecycle promotion, owner assignment and the hand-off
(Slack and the owner's email)."""

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
from tasks.promotion.hour import FLOW_NAME, promote_hour

ARTIFACT_KEY = f"{FLOW_NAME}-summary"


@flow(
    name=FLOW_NAME,
    flow_run_name=run_name_with_as_of,
    log_prints=True,
    on_failure=[notify_failure],
    on_crashed=[notify_failure],
)
def mql_promotion(
    as_of: datetime | None = None,
    dry_run: bool = False,
    rules_path: str | None = None,
) -> dict[str, object] | State[Any]:
    """Promote leads by the rules, assign owners and hand them to sales on Slack and by email.

    Reads the contacts some transition rule could move (score as of the hour, events
    since their latest stage change) and the unowned contacts of the assign stages;
    decides transitions (forward only; demo request → sql; competitor domain → other),
    hot leads and owners — late ones too, for leads promoted while their team had no
    active owner, and the hand-over to field sales of leads sales marked sales_ready;
    recycled leads score their way back only after `promotion.recycle_cooldown_days`;
    writes them with the Slack messages and the owners' hand-off emails to
    the outbox in one transaction; then drains the outbox. A rerun of the same hour
    changes nothing and sends nothing twice. Ends with the `mql-promotion-summary`
    artifact. A run whose Slack or email dispatch could not work (no token, SMTP login
    refused, every send failed) ends Failed with the reason as its state message; its
    messages stay pending in the outbox for the next run.

    Args:
        as_of: The hour to run, floored to the hour. Empty means now. A time without a
            UTC offset is read in the business time zone (LEADFLOW_BUSINESS_TIMEZONE,
            default Asia/Tokyo); the UI's date picker sends UTC.
        dry_run: Decide only: report the moves and messages, write and send nothing.
            The result then lists each decision (`decisions`), as does the
            `mql-promotion-dry-run-decisions` artifact.
        rules_path: A rules YAML file to use instead of the configured default.
    """
    hour = resolve_as_of(as_of)
    outcome = promote_hour(
        settings=get_settings(), rules=resolve_rules(rules_path), as_of=hour, dry_run=dry_run
    )
    return report_step(CycleStep.PROMOTION, outcome, dry_run=dry_run)
