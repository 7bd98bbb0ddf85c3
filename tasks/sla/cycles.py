"""Hand-offs and MQL cycles (pure): when sales starts owing a lead, and when that ends.

A hand-off is a stage-history row entering mql, or entering sql/opportunity from a
stage before mql (a demo request skips mql and still owes a first touch), whatever its
kind (`import` rows of `leadflow import contacts` too). The n-th hand-off of a contact
opens its cycle n, which ends at the contact's next hand-off or at its next recycle /
disqualify / re-nurture move (an imported move out of the funnel or back before mql
counts as one); the SLA clocks of a cycle that are not satisfied by then close then.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.enums import Stage
from models.lifecycle import TransitionKind

# Stages sales is handed a lead into; entering sql/opportunity counts only from before mql.
HANDOFF_STAGE = Stage.MQL.value
DIRECT_HANDOFF_STAGES = (Stage.SQL.value, Stage.OPPORTUNITY.value)
# Known stages at or past mql (or outside the funnel): moving on from them is no hand-off.
NOT_BEFORE_MQL = tuple(
    s.value for s in Stage if s not in (Stage.SUBSCRIBER, Stage.LEAD)
)
ENDING_KINDS = (
    TransitionKind.RECYCLE.value,
    TransitionKind.DISQUALIFY.value,
    TransitionKind.RENURTURE.value,
)
# The kind of the stage-history rows `leadflow import contacts` writes: moves as HubSpot
# recorded them, forward or not.
IMPORT_KIND = "import"
# Kinds whose move into a decided stage is the SQL decision.
DECIDING_KINDS = (TransitionKind.FORWARD.value, IMPORT_KIND)
# An imported move into one of these took the lead away from sales: its cycle ends.
IMPORT_ENDING_STAGES = (
    Stage.SUBSCRIBER.value, Stage.LEAD.value, Stage.OTHER.value, Stage.LOST_RENURTURE.value,
)
# A forward (or imported) move into one of these decides the lead for sales.
DECIDED_STAGES = (
    Stage.SQL.value, Stage.OPPORTUNITY.value, Stage.CUSTOMER.value, Stage.EVANGELIST.value,
)


def is_handoff(from_stage: str | None, to_stage: str) -> bool:
    """Whether a move `from_stage` → `to_stage` hands the lead to sales."""
    if to_stage == HANDOFF_STAGE:
        return True
    return to_stage in DIRECT_HANDOFF_STAGES and (
        from_stage is None or from_stage not in NOT_BEFORE_MQL
    )


@dataclass(frozen=True)
class Cycle:
    """The n-th hand-off of a contact: from `started_at` until `ended_at` (None: open)."""

    contact_id: int
    cycle: int
    started_at: datetime
    to_stage: str
    ended_at: datetime | None


@dataclass(frozen=True)
class StageRow:
    """One stage-history row as the SLA reads it."""

    from_stage: str | None
    to_stage: str
    at: datetime
    kind: str


def stage_rows(records: Iterable[Mapping[str, Any]]) -> list[StageRow]:
    """Stage-history records (from_stage, to_stage, at, kind) as rows, oldest first."""
    rows = [
        StageRow(
            from_stage=None if _missing(r["from_stage"]) else str(r["from_stage"]),
            to_stage=str(r["to_stage"]),
            at=_instant(r["at"]),
            kind=str(r["kind"]),
        )
        for r in records
    ]
    return sorted(rows, key=lambda row: row.at)


def ends_cycle(row: "StageRow") -> bool:
    """Whether a stage-history row (not a hand-off) ends the cycle it falls in."""
    return row.kind in ENDING_KINDS or (
        row.kind == IMPORT_KIND and row.to_stage in IMPORT_ENDING_STAGES
    )


def contact_cycles(contact_id: int, rows: list[StageRow], *, as_of: datetime) -> list[Cycle]:
    """The contact's cycles from its stage history (oldest first), facts up to `as_of`."""
    known = [row for row in rows if row.at <= as_of]
    starts = [row for row in known if is_handoff(row.from_stage, row.to_stage)]
    cycles: list[Cycle] = []
    for number, start in enumerate(starts, start=1):
        ends = [
            row.at
            for row in known
            if row.at > start.at
            and (ends_cycle(row) or is_handoff(row.from_stage, row.to_stage))
        ]
        cycles.append(
            Cycle(
                contact_id=contact_id,
                cycle=number,
                started_at=start.at,
                to_stage=start.to_stage,
                ended_at=min(ends) if ends else None,
            )
        )
    return cycles


def decided_at(rows: list[StageRow], *, start: datetime, end: datetime | None) -> datetime | None:
    """The first forward or imported move into sql or beyond at/after `start` and before
    `end`."""
    for row in rows:
        if (
            row.at >= start
            and (end is None or row.at < end)
            and row.kind in DECIDING_KINDS
            and row.to_stage in DECIDED_STAGES
        ):
            return row.at
    return None


def moved_at(
    rows: list[StageRow], *, kinds: tuple[str, ...], start: datetime, end: datetime | None
) -> datetime | None:
    """The first move of one of `kinds` at/after `start` and at/before `end` (the move
    that ends a cycle is still part of it)."""
    return next(
        (row.at for row in rows
         if row.kind in kinds and row.at >= start and (end is None or row.at <= end)),
        None,
    )


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _instant(value: object) -> datetime:
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {value!r}")
    return value
