"""The process's memory: pausing the cyclic garbage collector while a block builds many
small objects, and handing freed memory back to the operating system between steps."""

import ctypes
import ctypes.util
import gc
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector paused; it resumes afterwards.

    Building 100k+ small objects (a driver's result tuples, one breakdown per contact)
    makes the collector walk every live object again and again: in a process holding
    pandas, SQLAlchemy and Prefect that was most of such a block's time (scoring 100k
    contacts: ~1 s of CPU). Reference counting still frees everything as usual; only
    cycles wait for the collector's next pass after the block. Blocks may nest or run
    on several threads at once: the collector resumes when the last one ends, and only
    if it was running when the first began.
    """
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()


@lru_cache(maxsize=1)
def _glibc() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


# Below this resident size a release is not worth its full garbage collection (0.1–1 s in
# a process holding many modules), which a backfill would pay five times an hour.
RELEASE_ABOVE_MB = 1024


def resident_mb() -> float | None:
    """The process's resident memory in MiB now (Linux; None where it cannot be read)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def release_free_memory(*, above_mb: float = RELEASE_ABOVE_MB) -> bool:
    """When the process holds at least `above_mb` MiB: collect cyclic garbage, then hand
    the pages the C allocator keeps free back to the operating system (glibc's
    `malloc_trim`). Returns whether pages were handed back.

    numpy and pandas free their arrays, but glibc keeps freed heap pages for reuse: after
    the first hour's promotion at 1M contacts the cycle's process still held 1.4 GB, and
    the SLA step's frames came on top of it. Called between the cycle's steps, so a big
    step's successor starts from what is really alive; small hours skip it.
    """
    size = resident_mb()
    if size is None or size < above_mb:
        return False
    gc.collect()
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
