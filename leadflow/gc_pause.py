"""Pausing Python's cyclic garbage collector while a block builds many small objects."""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

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
