"""One scoring hour — read → decide → apply as Prefect tasks — the only way scoring runs.

The `hourly-scoring` flow, the lead cycle, the CLI, backfills, the demo, the benchmarks
and the tests all call `score_hour`, so what the tests prove is what production runs.
"""

from datetime import datetime

from leadflow.db import ensure_database
from leadflow.runs import recorded_run
from leadflow.settings import Settings
from leadflow.timeutil import utc_now
from models.rules import Rules
from tasks.beats import BeatTimer, database_beat, opaque, plain_beat
from tasks.scoring.apply import AppliedScores, apply_decision
from tasks.scoring.decide import ScoringDecision, ScoringInputs, decide_scoring
from tasks.scoring.read import ScoringScope, read_scope
from tasks.scoring.report import ScoringOutcome, outcome_of
from tasks.scoring.shards import plan_shards, score_planned, score_sharded

FLOW_NAME = "hourly-scoring"


@database_beat("read-scoring-inputs")
def read_scoring(
    database_url: str, rules: Rules, as_of: datetime, scope: ScoringScope
) -> ScoringInputs:
    """Read the candidates' attributes, per-signal event facts and previous snapshots."""
    with ensure_database(database_url).connect() as conn:
        return read_scope(conn, rules=rules, as_of=as_of, scope=scope)


@plain_beat("decide-scores")
def decide_scores(inputs: ScoringInputs, rules: Rules, max_bad_row_share: float) -> ScoringDecision:
    """Validate inputs, score every candidate with its breakdown, keep what changed."""
    return decide_scoring(inputs, rules=rules, max_bad_row_share=max_bad_row_share)


@database_beat("apply-scores")
def apply_scores(
    database_url: str, decision: ScoringDecision, run_id: str, rules_hash: str
) -> AppliedScores:
    """Write snapshots, current scores and quarantine rows in one transaction."""
    with ensure_database(database_url).begin() as conn:
        return apply_decision(
            conn, decision, run_id=run_id, rules_hash=rules_hash, now=utc_now()
        )


def score_hour(
    *,
    settings: Settings,
    rules: Rules,
    as_of: datetime,
    dry_run: bool = False,
    full: bool = False,
    shards: int = 1,
) -> ScoringOutcome:
    """Score every contact whose score can have changed at `as_of` (all of them if `full`).

    Records the run in the run ledger, so the next hour knows what changed since.
    `dry_run` stops after decide and writes nothing but the ledger row. `shards` > 1
    splits the contacts into that many id ranges scored in parallel on Dask
    (tasks.scoring.shards; the cluster at LEADFLOW_DASK_ADDRESS, else a local one): the
    same scores, snapshots and quarantine, still one ledger row. An hour with more
    candidates than `settings.scoring_batch_contacts` is scored the same way in id ranges
    of about that size, one after another in this process, to bound its memory.
    """
    if shards < 1:
        raise ValueError("shards must be at least 1")
    url = settings.database_url
    timer = BeatTimer()
    with recorded_run(
        ensure_database(url), flow=FLOW_NAME, as_of=as_of, dry_run=dry_run,
        rules_hash=rules.fingerprint("scoring"),
    ) as run:
        if shards > 1:
            outcome = score_sharded(
                database_url=url, dask_address=settings.dask_address, rules=rules,
                as_of=as_of, flow_name=FLOW_NAME, full=full, shards=shards, run_id=run.run_id,
                max_bad_row_share=settings.max_bad_row_share, dry_run=dry_run,
                batch_contacts=settings.scoring_batch_contacts,
            )
            run.summary = outcome.summary()
            return outcome
        with timer.beat("plan"):
            plan = plan_shards(
                url, opaque(rules), as_of, FLOW_NAME, full, 1, settings.scoring_batch_contacts
            )
        if len(plan.scopes) > 1:
            outcome = score_planned(
                plan, database_url=url, dask_address=None, rules=rules, as_of=as_of,
                shards=1, run_id=run.run_id, max_bad_row_share=settings.max_bad_row_share,
                dry_run=dry_run, plan_seconds=timer.seconds["plan"],
            )
            run.summary = outcome.summary()
            return outcome
        with timer.beat("read"):
            inputs = read_scoring(url, opaque(rules), as_of, opaque(plan.scopes[0]))
        with timer.beat("decide"):
            decision = decide_scores(opaque(inputs), opaque(rules), settings.max_bad_row_share)
        applied = None
        if not dry_run:
            with timer.beat("apply"):
                applied = apply_scores(
                    url, opaque(decision), run.run_id, rules.fingerprint("scoring")
                )
        outcome = outcome_of(
            decision, run_id=run.run_id, dry_run=dry_run, rules=rules, applied=applied,
            beat_seconds=timer.seconds,
        )
        run.summary = outcome.summary()
    return outcome
