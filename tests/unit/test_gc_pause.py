"""gc_paused: the cyclic collector is off inside the block and back as it was after."""

import gc
import threading
from collections.abc import Iterator

import pytest

from leadflow.gc_pause import gc_paused


@pytest.fixture(autouse=True)
def collector_running() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_paused_inside_the_block_and_resumes_after() -> None:
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_resumes_after_a_block_that_raised() -> None:
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_nested_blocks_resume_the_collector_only_when_the_outer_one_ends() -> None:
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_paused_before_the_block_stays_paused_after_it() -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_overlapping_blocks_on_two_threads_resume_the_collector_when_the_last_ends() -> None:
    inside, release = threading.Event(), threading.Event()

    def other_thread() -> None:
        with gc_paused():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=other_thread)
    with gc_paused():
        worker.start()
        inside.wait(5)
    assert not gc.isenabled()
    release.set()
    worker.join(5)
    assert gc.isenabled()
