"""Batched scoring in one process: the next range is read while this one is scored.

A full run at scale scores its contacts in id ranges, one after another, so only a range's
frames are in memory at a time (tasks.scoring.shards plans them). Each range is read →
decide → apply; alone, the database idles while Python decides and Python idles while the
database reads or writes. Here a reader thread with its own connection reads range k + 1
while range k is decided and applied: the database's half of the read (scanning and
grouping the events) runs in the database, or in SQLite's C code with the GIL released,
beside Python's work on the range before it.

At most two ranges' inputs are alive at once: the one being scored and the one read ahead.
Ranges are disjoint and a contact's score depends on its own rows only, so reading the
next range before this one's apply has committed reads exactly what it would read after.
"""

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from pydantic import SecretStr
from sqlalchemy import Connection, Engine

from leadflow.db import engine_for
from leadflow.timeutil import utc_now
from models.rules import Rules
from tasks.beats import BeatTimer, database_beat, opaque
from tasks.scoring.apply import apply_decision
from tasks.scoring.decide import ScoringInputs, decide_scoring
from tasks.scoring.read import ScoringScope, read_scope
from tasks.scoring.report import ScoringOutcome, outcome_of


@dataclass(frozen=True)
class ReadRange:
    """One range's inputs and the wall seconds its read took (on the reader thread)."""

    inputs: ScoringInputs
    seconds: float


def _read(engine: Engine, rules: Rules, as_of: datetime, scope: ScoringScope) -> ReadRange:
    started = time.perf_counter()
    with engine.connect() as conn:
        inputs = read_scope(conn, rules=rules, as_of=as_of, scope=scope)
    return ReadRange(inputs, time.perf_counter() - started)


def read_ahead(
    engine: Engine, rules: Rules, as_of: datetime, scopes: Sequence[ScoringScope]
) -> Iterator[ReadRange]:
    """Each scope's inputs in order; while the caller works on one, the next is read.

    A failed read raises here, when the caller asks for that range; the ranges before it
    have been handed over (and applied by the caller) already.
    """
    if not scopes:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scoring-read") as reader:
        pending: Future[ReadRange] = reader.submit(_read, engine, rules, as_of, scopes[0])
        for index in range(len(scopes)):
            current = pending.result()
            if index + 1 < len(scopes):
                pending = reader.submit(_read, engine, rules, as_of, scopes[index + 1])
            yield current
            del current


@contextmanager
def shard_transaction(engine: Engine) -> Iterator[Connection]:
    """One shard's apply transaction, safe while other shards write to the same tables."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            with conn.begin():
                # Take the write lock up front: a deferred transaction that read before
                # another shard committed cannot write at all (SQLITE_BUSY_SNAPSHOT), and
                # busy_timeout does not wait that out.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
            return
        # The apply beat counts its snapshots before and after inserting; under READ
        # COMMITTED another shard's commit in between would be counted as ours.
        isolated = conn.execution_options(isolation_level="REPEATABLE READ")
        with isolated.begin():
            yield isolated


def decide_and_apply(
    engine: Engine,
    *,
    inputs: ScoringInputs,
    rules: Rules,
    run_id: str,
    dry_run: bool,
    timer: BeatTimer,
) -> ScoringOutcome:
    """Decide and apply one range's inputs: its share of the hour's outcome.

    Bad rows are quarantined but never fail a range: the share limit is the hour's, checked
    on all ranges together (tasks.scoring.shards.combine_outcomes).
    """
    with timer.beat("decide"):
        decision = decide_scoring(inputs, rules=rules, max_bad_row_share=1.0)
    applied = None
    if not dry_run:
        with timer.beat("apply"), shard_transaction(engine) as conn:
            applied = apply_decision(
                conn, decision, run_id=run_id, rules_hash=rules.fingerprint("scoring"),
                now=utc_now(),
            )
    return outcome_of(
        decision, run_id=run_id, dry_run=dry_run, rules=rules, applied=applied,
        beat_seconds=timer.seconds,
    )


@database_beat("score-batch")
def score_batch(
    database_url: SecretStr, rules: Rules, read: ReadRange, run_id: str, dry_run: bool
) -> ScoringOutcome:
    """Decide → apply one range read ahead of it (`read_ahead`); its share of the outcome."""
    timer = BeatTimer()
    timer.seconds["read"] = round(read.seconds, 3)
    return decide_and_apply(
        engine_for(database_url.get_secret_value()), inputs=read.inputs, rules=rules,
        run_id=run_id, dry_run=dry_run, timer=timer,
    )


def score_in_turn(
    scopes: Sequence[ScoringScope],
    *,
    database_url: str,
    rules: Rules,
    as_of: datetime,
    run_id: str,
    dry_run: bool,
) -> list[ScoringOutcome]:
    """Score the ranges one after another in this process, each read while the one before
    it is decided and applied; their outcomes in range order."""
    url = SecretStr(database_url)
    engine = engine_for(database_url)
    return [
        score_batch(url, opaque(rules), opaque(read), run_id, dry_run)
        for read in read_ahead(engine, rules, as_of, scopes)
    ]
