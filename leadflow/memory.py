"""The process's memory: pausing the cyclic garbage collector while a block builds many
small objects, and handing freed memory back to the operating system between steps."""

import ctypes
import ctypes.util
import gc
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


def release_free_memory() -> bool:
    """Collect cyclic garbage, then hand the pages the C allocator keeps free back to the
    operating system (glibc's `malloc_trim`; elsewhere only the collection). Returns
    whether pages could be handed back.

    numpy and pandas free their arrays, but glibc keeps freed heap pages for reuse: after
    the first hour's promotion at 1M contacts the cycle's process still held 1.5 GB, and
    the SLA step's frames came on top of it. Called between the cycle's steps, so each
    step starts from what is really alive.
    """
    gc.collect()
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
