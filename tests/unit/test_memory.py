"""gc_paused: the cyclic collector is off inside the block and back as it was after.
release_free_memory: cyclic garbage is gone and glibc hands its free pages back."""

import gc
import platform
import threading
import weakref
from collections.abc import Iterator

import pytest

from leadflow.memory import gc_paused, release_free_memory


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


class Node:
    """Refers to itself: only the cyclic collector can free it."""

    def __init__(self) -> None:
        self.me = self


def test_releasing_free_memory_frees_cyclic_garbage_even_with_the_collector_paused() -> None:
    node = Node()
    alive = weakref.ref(node)
    del node

    with gc_paused():
        release_free_memory(above_mb=0)

    assert alive() is None


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_on_glibc_free_pages_are_handed_back_to_the_operating_system() -> None:
    assert release_free_memory(above_mb=0) is True


def test_a_process_below_the_threshold_skips_the_release() -> None:
    node = Node()
    alive = weakref.ref(node)
    del node

    with gc_paused():
        assert release_free_memory(above_mb=10**9) is False
        assert alive() is not None
