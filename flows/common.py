"""What every leadflow flow shares: parameter resolution, run names, the dry-run
decision table."""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Failed

from leadflow.settings import get_settings
from leadflow.timeutil import floor_to_hour, to_utc, utc_now
from models.rules import Rules, load_rules
from tasks.cycle_outcome import STEP_FLOWS, CycleStep, StepOutcome
from tasks.cycle_report import step_artifact, step_decision_rows
from tasks.decision_names import read_decision_people
from tasks.decision_rows import DecisionNames, DecisionRow, as_records
from tasks.narration import SENTENCES
from tasks.scoring.report import ScoringOutcome

AS_OF_HELP = (
    "The hour to run, floored to the hour. Empty means now. A time without a UTC offset "
    "is read in the business time zone (LEADFLOW_BUSINESS_TIMEZONE, default Asia/Tokyo); "
    "the UI's date picker sends UTC."
)


def resolve_as_of(as_of: datetime | None) -> datetime:
    """The hour a run covers: `as_of` floored to the hour, or now; always UTC.

    A naive `as_of` is business time, the same rule as the CLI's `--as-of`.
    """
    if as_of is None:
        return floor_to_hour(utc_now())
    return floor_to_hour(to_utc(as_of, naive_tz=get_settings().tz))


def resolve_rules(rules_path: str | None) -> Rules:
    """Load the rules file given, or the configured default."""
    return load_rules(Path(rules_path) if rules_path else get_settings().rules_path)


def run_name_with_as_of() -> str:
    """Flow run name carrying the hour, e.g. `hourly-scoring 2026-11-22T09:00Z`."""
    parameters: dict[str, Any] = flow_run.parameters or {}
    as_of = resolve_as_of(parameters.get("as_of"))
    suffix = " dry-run" if parameters.get("dry_run") else ""
    return f"{flow_run.flow_name} {as_of:%Y-%m-%dT%H:%MZ}{suffix}"


class DispatchStopped(RuntimeError):
    """A run did its work but could not dispatch its messages; carries the run's summary.

    The flow ends `Failed` with this as its result, so the UI shows the run as not OK with
    the reason as its state message; calling the flow directly raises it.
    """

    def __init__(self, message: str, summary: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.summary: dict[str, Any] = summary or {}


def dispatch_stopped(problem: str, summary: dict[str, Any]) -> State[Any]:
    """A `Failed` final state saying why dispatch stopped, carrying the run's summary."""
    return Failed(message=problem, data=DispatchStopped(problem, summary))


def finish(summary: dict[str, Any], *, problem: str | None) -> dict[str, Any] | State[Any]:
    """The flow's return value: `summary`, or a `Failed` state saying why dispatch stopped."""
    return summary if problem is None else dispatch_stopped(problem, summary)


# A table artifact this long is already more than anyone scrolls; the flow's result keeps
# every row.
DECISIONS_ARTIFACT_MAX_ROWS = 10_000


def decisions_artifact_key(flow_name: str) -> str:
    """The key of a dry run's decision table artifact, e.g. `lead-cycle-dry-run-decisions`."""
    return f"{flow_name}-dry-run-decisions"


@dataclass(frozen=True)
class DecisionTable:
    """A dry run's decisions twice: `rows` for people (the contact's address, owner names),
    `artifact` for the UI (ids only: artifacts carry no personal data)."""

    rows: list[dict[str, object]]
    artifact: list[dict[str, object]]


def decision_table(
    build: Callable[[DecisionNames], list[DecisionRow]],
    *,
    as_of: datetime,
    scored: Collection[int] = (),
    stamp_as_of: bool = False,
) -> DecisionTable:
    """Read who the decisions' ids are, then build the rows with `build` (pure).

    `scored`: the contacts whose score changed (their previous score is read);
    `stamp_as_of`: put the hour in every row (a backfill's rows span many hours).
    """
    contact_ids = {row.contact_id for row in build(DecisionNames())}
    people = read_decision_people(
        get_settings().database_url, contact_ids=contact_ids, scored_ids=scored, as_of=as_of
    )
    hour = as_of if stamp_as_of else None
    return DecisionTable(
        rows=as_records(build(people.names), emails=people.emails, as_of=hour),
        artifact=as_records(build(people.names.without_owner_names()), as_of=hour),
    )


def scored_contacts(scoring: ScoringOutcome | None) -> list[int]:
    """The contacts whose score a scoring step changed (none when it did not run)."""
    return [] if scoring is None else [int(c) for c in scoring.changed["contact_id"]]


def publish_decisions(*, key: str, records: list[dict[str, object]], description: str) -> None:
    """The decision table artifact (its first `DECISIONS_ARTIFACT_MAX_ROWS` rows)."""
    shown = records[:DECISIONS_ARTIFACT_MAX_ROWS]
    more = (
        f" (first {len(shown)} of {len(records)} decisions)" if len(shown) < len(records) else ""
    )
    if not records:
        description += ": no decisions, nothing would change"
    create_table_artifact(key=key, table=shown, description=description + more)


def with_decisions(
    summary: dict[str, Any], table: DecisionTable, *, flow_name: str, as_of: datetime
) -> dict[str, Any]:
    """A dry run's summary with its `decisions` rows and the key of their artifact, which
    this publishes."""
    key = decisions_artifact_key(flow_name)
    publish_decisions(
        key=key, records=table.artifact,
        description=f"{flow_name} at {as_of.isoformat()}: decisions of a dry run, not applied",
    )
    return {**summary, "decisions": table.rows, "decisions_artifact": key}


def report_step(
    step: CycleStep, outcome: StepOutcome, *, dry_run: bool
) -> dict[str, Any] | State[Any]:
    """What a single-step flow does once its step ran, the same for every step: its
    `<flow>-summary` artifact, its sentence in the log, on a dry run its decision table
    (`decisions` and the artifact), and the result: the summary, or `Failed` saying why
    dispatch stopped."""
    artifact = step_artifact(step, outcome)
    create_markdown_artifact(
        key=artifact.key, markdown=artifact.markdown, description=artifact.description
    )
    summary = outcome.summary()
    print(SENTENCES[step.value](summary, get_settings().tz))
    if isinstance(outcome, ScoringOutcome):
        scored, problem = scored_contacts(outcome), None
    else:
        scored, problem = [], outcome.dispatch_problem()
    if dry_run:
        table = decision_table(
            lambda names: step_decision_rows(outcome, names), as_of=outcome.as_of, scored=scored
        )
        summary = with_decisions(summary, table, flow_name=STEP_FLOWS[step], as_of=outcome.as_of)
    return finish(summary, problem=problem)
