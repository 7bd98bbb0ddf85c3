"""Contact-id ranges: how a sharded scoring run splits its contacts (pure, no I/O)."""

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any


@dataclass(frozen=True)
class ContactRange:
    """Contact ids from `start` (inclusive) up to `stop` (exclusive); None is open-ended."""

    start: int | None = None
    stop: int | None = None

    def clauses(self, column: Any) -> list[Any]:
        """Conditions that keep `column` (a contact id column) inside the range."""
        conditions: list[Any] = []
        if self.start is not None:
            conditions.append(column >= self.start)
        if self.stop is not None:
            conditions.append(column < self.stop)
        return conditions

    def holds(self, contact_id: int) -> bool:
        """Whether `contact_id` falls inside the range."""
        return (self.start is None or contact_id >= self.start) and (
            self.stop is None or contact_id < self.stop
        )


EVERY_CONTACT = ContactRange()


def split_ids(ids: Sequence[int], shards: int) -> list[ContactRange]:
    """Cut sorted `ids` into at most `shards` ranges holding about as many ids each.

    The cuts sit at quantiles of the ids themselves, so gaps in the id sequence do not
    unbalance the shards. The first and last ranges are open-ended: together the ranges
    cover every possible id exactly once, including contacts created after the split.
    """
    if shards < 1:
        raise ValueError("shards must be at least 1")
    if not ids:
        return [EVERY_CONTACT]
    cuts = sorted({ids[len(ids) * k // shards] for k in range(1, shards)} - {ids[0]})
    bounds: list[int | None] = [None, *cuts, None]
    return [ContactRange(start, stop) for start, stop in pairwise(bounds)]
