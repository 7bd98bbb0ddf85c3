"""Sharded and batched scoring: one hour split by contact-id range.

Sharded (shards > 1): the ranges run over a Dask cluster. Batched (more candidates than
LEADFLOW_SCORING_BATCH_CONTACTS): the ranges run one after another in this process, each
read while the one before it is decided and applied (tasks.scoring.batches), so a big
hour holds at most two ranges' frames at a time.

Each shard is one mapped Prefect task that reads, decides and applies its own range of
contacts; a contact's score depends on that contact's rows only, so the shards' outcomes
add up to what one process would have produced. The mapped tasks run in the
`score-shards` subflow, whose task runner is a `DaskTaskRunner`: on the cluster at
LEADFLOW_DASK_ADDRESS, else on a temporary local cluster.

LEADFLOW_MAX_BAD_ROW_SHARE is checked on the hour's combined counts, so a split hour
passes or fails exactly when one unsplit run would; the one difference is that a failing
split hour has already stored what its ranges decided (each applies as soon as it has
decided): correct scores and quarantine rows, under a run recorded as failed, so the
next hour still works from the last completed one.
"""

import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from prefect import flow, unmapped
from prefect.task_runners import TaskRunner
from pydantic import SecretStr
from sqlalchemy import Connection, func, select

from leadflow.db import engine_for
from leadflow.runs import previous_run
from models.rules import Rules
from models.tables import Contact
from tasks.beats import BeatTimer, database_beat, opaque
from tasks.scoring.batches import decide_and_apply, score_in_turn
from tasks.scoring.ranges import split_ids
from tasks.scoring.read import ScoringScope, read_scope, scoring_scope
from tasks.scoring.report import ScoringOutcome
from tasks.validation import check_bad_row_share


@dataclass(frozen=True)
class ShardPlan:
    """How one hour is split: one scope per shard, each an id range (with its candidates)."""

    scopes: list[ScoringScope]


def _candidate_count(conn: Connection, scope: ScoringScope) -> int:
    if scope.candidates is not None:
        return len(scope.candidates)
    return int(conn.execute(select(func.count()).select_from(Contact)).scalar_one())


@database_beat("plan-scoring-shards")
def plan_shards(
    database_url: str,
    rules: Rules,
    as_of: datetime,
    flow_name: str,
    full: bool,
    shards: int,
    batch_contacts: int = 0,
) -> ShardPlan:
    """Split this hour's candidates (every contact on a full run) into id ranges: `shards`
    of them, more if that leaves a range with over `batch_contacts` (0: no limit).

    The scope (full or incremental, the candidates) is decided once, here, so every range
    works on the same one. One range needs no id list: its scope is the hour's own.
    """
    with engine_for(database_url).connect() as conn:
        previous = previous_run(conn, flow=flow_name, before=as_of)
        scope = scoring_scope(conn, rules=rules, as_of=as_of, previous=previous, full=full)
        batched = 0 < batch_contacts < _candidate_count(conn, scope)
        if shards == 1 and not batched:
            return ShardPlan(scopes=[scope])
        ids = scope.candidates
        if ids is None:
            ids = [int(i) for i in conn.execute(select(Contact.id).order_by(Contact.id)).scalars()]
    ranges = max(shards, -(-len(ids) // batch_contacts) if batched else 1)
    return ShardPlan(scopes=[scope.narrowed(within) for within in split_ids(ids, ranges)])


@database_beat("score-shard")
def score_shard(
    database_url: SecretStr,
    rules: Rules,
    as_of: datetime,
    scope: ScoringScope,
    run_id: str,
    dry_run: bool,
) -> ScoringOutcome:
    """Read → decide → apply for the contacts in `scope` on a Dask worker; its share of
    the hour's outcome (`decide_and_apply`)."""
    engine = engine_for(database_url.get_secret_value())
    timer = BeatTimer()
    with timer.beat("read"), engine.connect() as conn:
        inputs = read_scope(conn, rules=rules, as_of=as_of, scope=scope)
    return decide_and_apply(
        engine, inputs=inputs, rules=rules, run_id=run_id, dry_run=dry_run, timer=timer
    )


@flow(name="score-shards", validate_parameters=False, persist_result=False)
def score_shards(
    database_url: SecretStr,
    rules: Rules,
    as_of: datetime,
    plan: ShardPlan,
    run_id: str,
    dry_run: bool,
) -> list[ScoringOutcome]:
    """Score every shard of `plan` as one mapped task on this flow's task runner.

    The database URL is a SecretStr: flow run parameters are shown in the Prefect UI.
    """
    futures = score_shard.map(
        database_url=unmapped(database_url), rules=unmapped(rules),
        as_of=unmapped(as_of), scope=plan.scopes, run_id=unmapped(run_id),
        dry_run=unmapped(dry_run),
    )
    return [future.result() for future in futures]


def shard_task_runner(dask_address: str | None, shards: int) -> TaskRunner[Any]:
    """A DaskTaskRunner on the cluster at `dask_address`, else on a temporary local one.

    The local cluster has one single-threaded worker process per shard, up to one per
    CPU: scoring is pandas and database work that holds the GIL.
    """
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as error:
        raise RuntimeError(
            "sharded scoring needs prefect-dask: pip install 'leadflow[dask]'"
        ) from error
    if dask_address:
        return DaskTaskRunner(address=dask_address)
    workers = max(1, min(shards, len(os.sched_getaffinity(0))))
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers, "threads_per_worker": 1, "processes": True,
            "dashboard_address": None,
        }
    )


def combine_outcomes(
    parts: list[ScoringOutcome],
    *,
    run_id: str,
    max_bad_row_share: float,
    plan_seconds: float,
    shards_seconds: float,
) -> ScoringOutcome:
    """The hour's one outcome from its shards' (in id-range order).

    Counts, score bands and quarantined rows add up; `beat_seconds` holds each beat summed
    over the shards, plus `plan` and `shards` (the wall time of all shards together).
    Raises TooManyBadRows, as one process would, when the hour's share of bad rows
    passes `max_bad_row_share`.
    """
    first = parts[0]
    distribution: dict[str, int] = {}
    beats: dict[str, float] = {"plan": round(plan_seconds, 3)}
    for part in parts:
        for band, count in part.score_distribution.items():
            distribution[band] = distribution.get(band, 0) + count
        for beat, seconds in part.beat_seconds.items():
            beats[beat] = round(beats.get(beat, 0.0) + seconds, 3)
    beats["shards"] = round(shards_seconds, 3)
    changed = [part.changed for part in parts if not part.changed.empty]
    # Contacts' records first, then events', as decide_scoring lists them.
    quarantined = sorted(
        (record for part in parts for record in part.quarantined),
        key=lambda record: record.source != "contacts",
    )
    candidates = sum(part.candidates for part in parts)
    check_bad_row_share(
        what="candidate contacts",
        bad=len({(record.source, record.row_number) for record in quarantined}),
        total=candidates,
        limit=max_bad_row_share,
        first=quarantined[0] if quarantined else None,
    )
    return ScoringOutcome(
        run_id=run_id,
        as_of=first.as_of,
        dry_run=first.dry_run,
        full=first.full,
        reason=first.reason,
        candidates=candidates,
        scored=sum(part.scored for part in parts),
        snapshots_written=sum(part.snapshots_written for part in parts),
        contacts_updated=sum(part.contacts_updated for part in parts),
        quarantined=quarantined,
        score_distribution=distribution,
        changed=pd.concat(changed, ignore_index=True) if changed else first.changed,
        beat_seconds=beats,
    )


def score_planned(
    plan: ShardPlan,
    *,
    database_url: str,
    dask_address: str | None,
    rules: Rules,
    as_of: datetime,
    shards: int,
    run_id: str,
    max_bad_row_share: float,
    dry_run: bool,
    plan_seconds: float,
) -> ScoringOutcome:
    """Score the ranges of `plan` on Dask (shards > 1), else one after another in this
    process (batches; also a quiet hour with one range), and combine their outcomes."""
    started = time.perf_counter()
    if shards == 1 or len(plan.scopes) == 1:
        # No cluster for one range; batches run in turn, each read while the one before
        # it is decided and applied, so at most two ranges are in memory.
        parts = score_in_turn(
            plan.scopes, database_url=database_url, rules=rules, as_of=as_of,
            run_id=run_id, dry_run=dry_run,
        )
    else:
        runner = shard_task_runner(dask_address, min(shards, len(plan.scopes)))
        parts = score_shards.with_options(task_runner=runner)(
            database_url=SecretStr(database_url), rules=rules, as_of=as_of, plan=plan,
            run_id=run_id, dry_run=dry_run,
        )
    return combine_outcomes(
        parts, run_id=run_id, max_bad_row_share=max_bad_row_share,
        plan_seconds=plan_seconds, shards_seconds=time.perf_counter() - started,
    )


def score_sharded(
    *,
    database_url: str,
    dask_address: str | None,
    rules: Rules,
    as_of: datetime,
    flow_name: str,
    full: bool,
    shards: int,
    run_id: str,
    max_bad_row_share: float,
    dry_run: bool,
    batch_contacts: int = 0,
) -> ScoringOutcome:
    """Plan the ranges (at least `shards`), score them on Dask, combine."""
    started = time.perf_counter()
    plan: ShardPlan = plan_shards(
        database_url, opaque(rules), as_of, flow_name, full, shards, batch_contacts
    )
    return score_planned(
        plan, database_url=database_url, dask_address=dask_address, rules=rules, as_of=as_of,
        shards=shards, run_id=run_id, max_bad_row_share=max_bad_row_share, dry_run=dry_run,
        plan_seconds=time.perf_counter() - started,
    )
