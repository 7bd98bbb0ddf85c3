"""Deployment `lead-recycling`: leads sales cannot work go back to marketing, with a reason."""

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
from tasks.recycling.hour import FLOW_NAME, recycle_hour

ARTIFACT_KEY = f"{FLOW_NAME}-summary"


@flow(
    name=FLOW_NAME,
    flow_run_name=run_name_with_as_of,
    log_prints=True,
    on_failure=[notify_failure],
    on_crashed=[notify_failure],
)
def lead_recycling(
    as_of: datetime | None = None,
    dry_run: bool = False,
    rules_path: str | None = None,
) -> dict[str, object] | State[Any]:
    """Recycle unreachable leads, apply recycle/unqualified statuses, re-nurture lost
    deals and remind owners of today's re-approach dates.

    Per hour, with facts at or before it: an MQL/SQL at status new or attempting with N
    unreachable calls (no_answer, voicemail; rules `recycling`) since its hand-off and no
    connection since goes back to lead with reason `unreachable` (status recycle, owner
    back to marketing, then the `recycled` nurture program); a recycle status moves the
    lifecycle back to lead with its reason, an unqualified one to other; a lost deal
    sends its contact to lost_renurture (the lost_deal program); a retry date due today
    sends the owner a Slack DM and an internal email, once. A rerun of the same hour
    changes nothing. Ends with the `lead-recycling-summary` artifact. A run whose
    reminders could not be dispatched (no Slack token, every send failed) ends Failed
    with the reason; the messages stay pending in the outbox for the next run.

    Args:
        as_of: The hour to run, floored to the hour. Empty means now. A time without a
            UTC offset is read in the business time zone (LEADFLOW_BUSINESS_TIMEZONE,
            default Asia/Tokyo); the UI's date picker sends UTC.
        dry_run: Decide only: report the moves and reminders, write and send nothing.
            The result then lists each decision (`decisions`), as does the
            `lead-recycling-dry-run-decisions` artifact.
        rules_path: A rules YAML file to use instead of the configured default.
    """
    hour = resolve_as_of(as_of)
    outcome = recycle_hour(
        settings=get_settings(), rules=resolve_rules(rules_path), as_of=hour, dry_run=dry_run
    )
    return report_step(CycleStep.RECYCLING, outcome, dry_run=dry_run)
