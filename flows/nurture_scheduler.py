"""Deployment `nurture-scheduler`: enrol, advance, branch, and send nurture emails hourly."""

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
from tasks.nurture.hour import FLOW_NAME, nurture_hour


@flow(
    name=FLOW_NAME,
    flow_run_name=run_name_with_as_of,
    log_prints=True,
    on_failure=[notify_failure],
    on_crashed=[notify_failure],
)
def nurture_scheduler(
    as_of: datetime | None = None,
    dry_run: bool = False,
    rules_path: str | None = None,
) -> dict[str, object] | State[Any]:
    """Run the nurture programs for one hour.

    Exits enrollments whose contact became MQL/SQL, replied, booked a meeting,
    unsubscribed or bounced; advances due ones (waits count from the actual send);
    evaluates branches on what is known at `as_of`; enrols new contacts; enqueues each
    email once under the key (enrollment, step); and sends due emails, checking consent,
    suppression, the send window and the frequency cap at send time. Ends with the
    `nurture-scheduler-summary` artifact. A run whose email transport could not send
    anything due ends Failed with the reason as its state message; the emails stay
    pending in the outbox for the next run.

    Args:
        as_of: The hour to run, floored to the hour. Empty means now. A time without a
            UTC offset is read in the business time zone (LEADFLOW_BUSINESS_TIMEZONE,
            default Asia/Tokyo); the UI's date picker sends UTC.
        dry_run: Decide only: report enrollments and emails, write and send nothing.
            The result then lists each decision (`decisions`), as does the
            `nurture-scheduler-dry-run-decisions` artifact.
        rules_path: A rules YAML file to use instead of the configured default.
    """
    hour = resolve_as_of(as_of)
    outcome = nurture_hour(
        settings=get_settings(), rules=resolve_rules(rules_path), as_of=hour, dry_run=dry_run
    )
    return report_step(CycleStep.NURTURE, outcome, dry_run=dry_run)
