"""Deployment `hourly-scoring`: rescore every contact whose score can have changed."""

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
from tasks.scoring.hour import FLOW_NAME, score_hour


@flow(
    name=FLOW_NAME,
    flow_run_name=run_name_with_as_of,
    log_prints=True,
    on_failure=[notify_failure],
    on_crashed=[notify_failure],
)
def hourly_scoring(
    as_of: datetime | None = None,
    dry_run: bool = False,
    rules_path: str | None = None,
    full: bool = False,
    shards: int = 1,
) -> dict[str, Any] | State[Any]:
    """Score behaviour + fit for every contact whose score can have changed at `as_of`.

    A rerun of the same hour writes nothing new. Ends with the `hourly-scoring-summary`
    artifact.

    Args:
        as_of: The hour to score, floored to the hour. Empty means now. A time without a
            UTC offset is read in the business time zone (LEADFLOW_BUSINESS_TIMEZONE,
            default Asia/Tokyo); the UI's date picker sends UTC.
        dry_run: Decide only: report what would be written, write nothing. The result
            then lists each changed score (`decisions`), as does the
            `hourly-scoring-dry-run-decisions` artifact.
        rules_path: A rules YAML file to use instead of the configured default.
        full: Rescore every contact, not only those whose score can have changed.
        shards: Split the contacts into this many contact-id ranges scored in parallel
            on Dask: the cluster at LEADFLOW_DASK_ADDRESS, else a temporary local one.
            Same result as 1; worth it on multi-core workers with PostgreSQL.
    """
    hour = resolve_as_of(as_of)
    outcome = score_hour(
        settings=get_settings(),
        rules=resolve_rules(rules_path),
        as_of=hour,
        dry_run=dry_run,
        full=full,
        shards=shards,
    )
    return report_step(CycleStep.SCORING, outcome, dry_run=dry_run)
