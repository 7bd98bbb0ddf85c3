"""Batched scoring reads the next contact range on a thread while this one is scored."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from models.rules import load_rules
from tasks.scoring.batches import read_ahead
from tasks.scoring.ranges import split_ids
from tasks.scoring.read import ScoringScope, read_scope
from tests.support.scoring_state import T0, seed_dataset

RULES = load_rules(Path(__file__).resolve().parents[2] / "rules" / "default.yaml")


def ranges_of(engine: Engine, count: int) -> list[ScoringScope]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id FROM contacts ORDER BY id").scalars()
        ids = [int(i) for i in rows]
    whole = ScoringScope(True, "requested", None)
    return [whole.narrowed(within) for within in split_ids(ids, count)]


@pytest.fixture
def statement_threads(engine: Engine) -> Iterator[list[str]]:
    """The name of the thread that ran each statement on `engine`, in order."""
    names: list[str] = []

    def record(*_: Any) -> None:
        names.append(threading.current_thread().name)

    event.listen(engine, "before_cursor_execute", record)
    yield names
    event.remove(engine, "before_cursor_execute", record)


def reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("scoring-read")]


def test_each_range_is_read_as_on_its_own_in_range_order(engine: Engine) -> None:
    seed_dataset(engine)
    scopes = ranges_of(engine, 4)
    ahead = list(read_ahead(engine, RULES, T0, scopes))
    assert len(ahead) == 4
    for read, scope in zip(ahead, scopes, strict=True):
        with engine.connect() as conn:
            alone = read_scope(conn, rules=RULES, as_of=T0, scope=scope)
        assert read.inputs.contacts.equals(alone.contacts)
        assert read.inputs.facts.equals(alone.facts)
        assert read.inputs.previous.equals(alone.previous)
        assert read.seconds > 0


def test_the_next_range_is_read_on_the_reader_thread_while_the_caller_holds_this_one(
    engine: Engine, statement_threads: list[str]
) -> None:
    seed_dataset(engine)
    scopes = ranges_of(engine, 3)
    statement_threads.clear()
    reads = read_ahead(engine, RULES, T0, scopes)
    next(reads)
    # The caller has not asked for the second range; the reader fetches it anyway.
    deadline = time.monotonic() + 30
    while len(statement_threads) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    # Three statements a range (attributes, facts, previous scores): two ranges read.
    assert len(statement_threads) >= 6
    assert all(name.startswith("scoring-read") for name in statement_threads)
    assert len(list(reads)) == 2


def test_a_caller_that_stops_early_leaves_no_reader_thread_behind(engine: Engine) -> None:
    seed_dataset(engine)
    reads = read_ahead(engine, RULES, T0, ranges_of(engine, 3))
    next(reads)
    reads.close()
    assert reader_threads() == []


def test_no_ranges_read_nothing(engine: Engine) -> None:
    assert list(read_ahead(engine, RULES, T0, [])) == []
