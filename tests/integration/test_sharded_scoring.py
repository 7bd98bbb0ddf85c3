"""Sharded scoring on a real Dask cluster gives exactly what one process gives."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import LocalCluster
from prefect import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from sqlalchemy import Engine, select

from flows.hourly_scoring import hourly_scoring
from leadflow.db import ensure_database
from leadflow.settings import Settings
from models.rules import load_rules
from models.tables import Run
from tasks.cycle import CycleStep, run_cycle_hour
from tasks.scoring.hour import score_hour
from tasks.validation import TooManyBadRows
from tests.support.hours import inside_one_flow
from tests.support.scoring_state import (
    HOUR,
    T0,
    assert_same_changes,
    comparable,
    forget_scoring,
    runs_at,
    scoring_state,
    seed_dataset,
)
from tests.support.seeding import Seeder
from tests.support.settings import settings_for

pytestmark = pytest.mark.usefixtures("prefect_harness")

RULES = load_rules(Path(__file__).resolve().parents[2] / "rules" / "default.yaml")


@pytest.fixture(scope="module")
def dask_address() -> Iterator[str]:
    """An existing two-worker Dask cluster on loopback, as LEADFLOW_DASK_ADDRESS names one."""
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        host="127.0.0.1",
    )
    yield cluster.scheduler_address
    cluster.close()


def shard_flow_parameters() -> list[dict[str, Any]]:
    """The parameters of every score-shards flow run, as the Prefect API (and UI) has them."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["score-shards"]))
        )
    assert runs
    return [run.parameters for run in runs]


@inside_one_flow
def test_four_shards_on_a_dask_cluster_score_the_same_as_one_process(
    engine: Engine, settings: Settings, dask_address: str
) -> None:
    seed_dataset(engine)
    single_full = score_hour(settings=settings, rules=RULES, as_of=T0)
    after_full = scoring_state(engine)
    single_next = score_hour(settings=settings, rules=RULES, as_of=T0 + HOUR)
    after_next = scoring_state(engine)
    assert single_full.quarantined and not single_next.full

    forget_scoring(engine)
    sharded = settings.model_copy(update={"dask_address": dask_address})
    full = score_hour(settings=sharded, rules=RULES, as_of=T0, shards=4)
    assert scoring_state(engine) == after_full
    assert comparable(full) == comparable(single_full)
    assert_same_changes(full, single_full)
    assert runs_at(engine, T0) == 1
    assert set(full.beat_seconds) >= {"plan", "read", "decide", "apply", "shards"}
    assert settings.database_url not in str(shard_flow_parameters())

    rerun = score_hour(settings=sharded, rules=RULES, as_of=T0, shards=4)
    assert rerun.snapshots_written == 0
    assert rerun.changed.empty
    assert scoring_state(engine) == after_full

    following = score_hour(settings=sharded, rules=RULES, as_of=T0 + HOUR, shards=4)
    assert scoring_state(engine) == after_next
    assert comparable(following) == comparable(single_next)
    assert_same_changes(following, single_next)


def test_the_flow_with_shards_and_no_dask_address_scores_on_a_temporary_local_cluster(
    sqlite_database_url: str, use_settings: Callable[[Settings], Settings]
) -> None:
    settings = use_settings(settings_for(sqlite_database_url))
    engine = ensure_database(settings.database_url)
    seed_dataset(engine)
    sharded = hourly_scoring(as_of=T0, shards=2)
    after_sharded = scoring_state(engine)
    forget_scoring(engine)
    single = hourly_scoring(as_of=T0)
    assert scoring_state(engine) == after_sharded
    assert sharded["snapshots_written"] == single["snapshots_written"] == 298
    assert sharded["quarantined"] == single["quarantined"] == 2


@pytest.mark.parametrize(("bad", "fails"), [(6, False), (7, True)])
def test_bad_rows_bunched_in_one_shard_fail_the_hour_only_when_they_would_fail_one_process(
    sqlite_engine: Engine, sqlite_database_url: str, dask_address: str, bad: int, fails: bool
) -> None:
    seed = Seeder(sqlite_engine)
    ids = [seed.contact(email=f"b{i}@example.com") for i in range(30)]
    for contact_id in ids[:bad]:  # all in the first of four shards: 6 of its 8 rows
        seed.update_contact(contact_id, employee_count=-1)
    settings = settings_for(sqlite_database_url, dask_address=dask_address)
    if not fails:  # 6 of 30 is 20%, at the limit
        assert len(score_hour(settings=settings, rules=RULES, as_of=T0, shards=4).quarantined) == 6
        return
    with pytest.raises(TooManyBadRows, match="7 of 30 candidate contacts"):
        score_hour(settings=settings, rules=RULES, as_of=T0, shards=4)
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(Run.status)).scalar_one() == "failed"


@inside_one_flow
def test_a_quiet_hour_with_one_candidate_is_scored_without_a_cluster(
    engine: Engine, settings: Settings
) -> None:
    seed = Seeder(engine)
    ids = [seed.contact(email=f"q{i}@example.com") for i in range(3)]
    score_hour(settings=settings, rules=RULES, as_of=T0)
    seed.event(contact_id=ids[1], type="email_open", detail="nl-1", occurred_at=T0 + HOUR / 2)
    # No dask_address and no prefect-dask cluster start: one range runs in this process.
    outcome = score_hour(settings=settings, rules=RULES, as_of=T0 + HOUR, shards=4)
    assert outcome.candidates == 1
    assert outcome.snapshots_written == 1
    assert "shards" in outcome.beat_seconds


@inside_one_flow
def test_the_lead_cycle_scores_on_the_configured_shards_as_one_process_would(
    engine: Engine, settings: Settings, dask_address: str
) -> None:
    seed_dataset(engine)
    single = score_hour(settings=settings, rules=RULES, as_of=T0)
    expected = scoring_state(engine)
    forget_scoring(engine)
    sharded = settings.model_copy(update={"dask_address": dask_address, "scoring_shards": 3})
    outcome = run_cycle_hour(
        settings=sharded, rules=RULES, as_of=T0, steps={CycleStep.SCORING}
    ).scoring
    assert outcome is not None
    assert "shards" in outcome.beat_seconds
    assert comparable(outcome) == comparable(single)
    assert scoring_state(engine) == expected
