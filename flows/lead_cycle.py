"""Deployment `lead-cycle/hourly`: the whole hourly lead cycle as one ordered run."""

from datetime import datetime
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import State

from flows.common import (
    decision_table,
    finish,
    resolve_as_of,
    resolve_rules,
    run_name_with_as_of,
    scored_contacts,
    with_decisions,
)
from flows.notify import notify_failure
from leadflow.settings import get_settings
from tasks.clock import Clock
from tasks.cycle import run_cycle_hour
from tasks.cycle_report import cycle_decision_rows, cycle_markdown, step_artifacts
from tasks.narration import SENTENCES, when

FLOW_NAME = "lead-cycle"
ARTIFACT_KEY = "lead-cycle-summary"


@flow(
    name=FLOW_NAME,
    flow_run_name=run_name_with_as_of,
    log_prints=True,
    on_failure=[notify_failure],
    on_crashed=[notify_failure],
)
def lead_cycle(
    as_of: datetime | None = None,
    dry_run: bool = False,
    rules_path: str | None = None,
) -> dict[str, Any] | State[Any]:
    """Run the hour's lead cycle: scoring → promotion → recycling → nurture → SLA escalation.

    Each step starts when the previous one finished, so promotion judges this hour's
    scores, a lead recycled this hour is enrolled in nurture this hour (recycling runs
    before nurture for that reason), and the SLA clocks see this hour's hand-offs. Each
    step is the same hour its own flow runs (and is recorded under that flow's name), and
    drains its own messages from the outbox. A rerun of an hour already applied changes
    nothing and sends nothing. Ends with the `lead-cycle-summary` artifact (each step's
    headline counts and beat times, and the dispatch problems) plus each step's own
    artifact. When a step could not dispatch its messages (no Slack token, SMTP
    unreachable) the later steps still run, then the run ends Failed with the reason; the
    messages stay pending in the outbox for the next run.

    Args:
        as_of: The hour to run, floored to the hour. Empty means now. A time without a
            UTC offset is read in the business time zone (LEADFLOW_BUSINESS_TIMEZONE,
            default Asia/Tokyo); the UI's date picker sends UTC.
        dry_run: Decide only: report what every step would do, write and send nothing.
            Scores are not written either, so promotion judges the scores already stored.
            The result then lists every step's decisions in cycle order (`decisions`),
            as does the `lead-cycle-dry-run-decisions` artifact.
        rules_path: A rules YAML file to use instead of the configured default.
    """
    hour = resolve_as_of(as_of)
    settings = get_settings()
    print(
        f"Lead cycle for {when(hour, settings.tz)}: scoring → promotion → recycling → "
        "nurture → SLA escalation, each step after the previous one"
        + (" (dry run: deciding only, nothing is written or sent)" if dry_run else "")
    )
    outcome = run_cycle_hour(
        settings=settings,
        rules=resolve_rules(rules_path),
        as_of=hour,
        dry_run=dry_run,
        clock=Clock.LIVE,
        after_step=lambda step, done: print(SENTENCES[step.value](done.summary(), settings.tz)),
        on_decided=lambda step, latest: print(
            SENTENCES[step.value]({"as_of": hour, "superseded_by": latest}, settings.tz)
        ),
    )
    for artifact in step_artifacts(outcome):
        create_markdown_artifact(
            key=artifact.key, markdown=artifact.markdown, description=artifact.description
        )
    problem = outcome.dispatch_problem()
    create_markdown_artifact(
        key=ARTIFACT_KEY,
        markdown=cycle_markdown(outcome),
        description=(f"{problem} — " if problem else "") + f"Lead cycle at {hour.isoformat()}",
    )
    if problem:
        print(f"Some messages could not go out; they wait in the outbox: {problem}")
    summary = outcome.summary()
    if dry_run:
        table = decision_table(
            lambda names: cycle_decision_rows(outcome, names),
            as_of=hour,
            scored=scored_contacts(outcome.scoring),
        )
        summary = with_decisions(summary, table, flow_name=FLOW_NAME, as_of=hour)
    return finish(summary, problem=problem)
