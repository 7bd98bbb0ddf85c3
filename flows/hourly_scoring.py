"""Deployment `hourly-scoring`: rescore every contact whose score can have changed."""

from datetime import datetime

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.common import (
    is_transient_db_error,
    opaque,
    resolve_as_of,
    resolve_rules,
    run_name_with_as_of,
)
from leadflow.db import ensure_database
from leadflow.runs import recorded_run
from leadflow.settings import get_settings
from models.rules import Rules
from tasks.scoring import (
    FLOW_NAME,
    ScoringDecision,
    ScoringOutcome,
    apply_decision,
    decide_scoring,
    outcome_of,
    read_for_run,
)
from tasks.scoring_apply import AppliedScores
from tasks.scoring_read import ScoringInputs
from tasks.scoring_report import scoring_markdown


@task(name="read-scoring-inputs", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5,
      retry_condition_fn=is_transient_db_error)
def read_scoring_inputs_task(
    database_url: str, rules: Rules, as_of: datetime, full: bool
) -> ScoringInputs:
    """Read the candidates' attributes, per-signal event facts and previous snapshots."""
    return read_for_run(ensure_database(database_url), rules=rules, as_of=as_of, full=full)


@task(name="decide-scores", cache_policy=NO_CACHE)
def decide_scores_task(
    inputs: ScoringInputs, rules: Rules, max_bad_row_share: float
) -> ScoringDecision:
    """Validate inputs, score every candidate with its breakdown, keep what changed."""
    return decide_scoring(inputs, rules=rules, max_bad_row_share=max_bad_row_share)


@task(name="apply-scores", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5,
      retry_condition_fn=is_transient_db_error)
def apply_scores_task(
    database_url: str, decision: ScoringDecision, run_id: str, rules: Rules
) -> AppliedScores:
    """Write snapshots, current scores and quarantine rows in one transaction."""
    applied, _ = apply_decision(ensure_database(database_url), decision, run_id=run_id, rules=rules)
    return applied


def score_hour(
    *, rules: Rules, as_of: datetime, dry_run: bool = False, full: bool = False
) -> tuple[ScoringOutcome, ScoringDecision]:
    """Read → decide → apply scoring for one hour as Prefect tasks (call inside a flow).

    Records the run in the run ledger, so the next hour knows what changed since.
    """
    settings = get_settings()
    engine = ensure_database(settings.database_url)
    with recorded_run(
        engine, flow=FLOW_NAME, as_of=as_of, dry_run=dry_run,
        rules_hash=rules.fingerprint("scoring"),
    ) as run:
        inputs = read_scoring_inputs_task(settings.database_url, opaque(rules), as_of, full)
        decision = decide_scores_task(opaque(inputs), opaque(rules), settings.max_bad_row_share)
        applied = (
            None
            if dry_run
            else apply_scores_task(
                settings.database_url, opaque(decision), run.run_id, opaque(rules)
            )
        )
        outcome = outcome_of(decision, run_id=run.run_id, dry_run=dry_run, rules=rules,
                             applied=applied)
        run.summary = outcome.summary()
    return outcome, decision


@flow(name=FLOW_NAME, flow_run_name=run_name_with_as_of, log_prints=True)
def hourly_scoring(
    as_of: datetime | None = None,
    dry_run: bool = False,
    rules_path: str | None = None,
    full: bool = False,
) -> dict[str, object]:
    """Score behaviour + fit for every contact whose score can have changed at `as_of`.

    `as_of` defaults to now, floored to the hour (UTC). `dry_run` stops after decide and
    reports what would be written. `full` rescores every contact. A rerun of the same
    hour writes nothing new. Ends with the `hourly-scoring-summary` artifact.
    """
    hour = resolve_as_of(as_of)
    rules = resolve_rules(rules_path)
    outcome, decision = score_hour(rules=rules, as_of=hour, dry_run=dry_run, full=full)
    create_markdown_artifact(
        key="hourly-scoring-summary",
        markdown=scoring_markdown(outcome, decision.quarantined),
        description=f"Scoring at {hour.isoformat()}",
    )
    print(
        f"scored {outcome.scored} of {outcome.candidates} candidates at {hour.isoformat()}: "
        f"{outcome.snapshots_written} new snapshots"
        + (" (dry run: nothing written)" if dry_run else "")
    )
    return outcome.summary()
