"""Signal facts: per contact and behaviour signal, how many units count and the latest one.

Stage one is SQL: one row per (contact, event type, detail) that some signal can count,
with the latest event time (epoch seconds), the event count and what each recency window
needs. Repeated events of one detail (the same email opened five times) collapse there.
Which signals count a group depends only on its type and detail: stage one sends that as
a bit mask (one CASE per group row instead of one per signal), and stage two folds the
rows per contact with numpy (`fold_signal_facts`).
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from models.rules import BehaviourSignal, Rules
from models.tables import Event
from tasks.scoring.ranges import EVERY_CONTACT, ContactRange


class EpochSeconds(FunctionElement[int]):
    """A timestamp as whole UTC seconds since 1970 (floored; NULL stays NULL)."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(EpochSeconds, "sqlite")
def _sqlite_epoch_seconds(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    # Cut the stored text to whole seconds first: strftime rounds to milliseconds, so
    # 00:00:00.9999 would come back as the next second.
    stamp = compiler.process(element.clauses, **kw)
    return f"CAST(strftime('%s', substr({stamp}, 1, 19)) AS INTEGER)"


@compiles(EpochSeconds, "postgresql")
def _postgresql_epoch_seconds(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    stamp = compiler.process(element.clauses, **kw)
    return f"CAST(floor(extract(epoch FROM {stamp})) AS BIGINT)"


def _event_windows(rules: Rules) -> list[int]:
    """Windows (days) of `per: event` signals: those need in-window counts per group."""
    return sorted(
        {
            s.window_days
            for s in rules.scoring.behaviour.signals
            if s.per == "event" and s.window_days is not None
        }
    )


def _detail_windows(rules: Rules) -> list[int]:
    """Windows (days) of `per: detail` signals: a detail counts when its latest event is in."""
    return sorted(
        {
            s.window_days
            for s in rules.scoring.behaviour.signals
            if s.per == "detail" and s.window_days is not None
        }
    )


def counted_events_filter(rules: Rules) -> ColumnElement[bool]:
    """Only events some signal counts: one of its types, and one of its details when it
    names them (a blog page view under rules that only pay for pricing views is skipped)."""
    any_detail: set[str] = set()
    named: dict[str, set[str]] = {}
    for signal in rules.scoring.behaviour.signals:
        for event_type in signal.events:
            if signal.details is None:
                any_detail.add(event_type.value)
            else:
                named.setdefault(event_type.value, set()).update(signal.details)
    branches: list[ColumnElement[bool]] = []
    if any_detail:
        branches.append(Event.type.in_(sorted(any_detail)))
    for type_name, details in sorted(named.items()):
        if type_name not in any_detail:
            branches.append(and_(Event.type == type_name, Event.detail.in_(sorted(details))))
    return or_(*branches) if branches else false()


def grouped_events_query(
    rules: Rules, as_of: datetime, within: ContactRange = EVERY_CONTACT
) -> Select[Any]:
    """Stage one: one row per (contact, type, detail) some signal counts.

    Columns: contact_id, last (latest event, epoch seconds, else NO_TIME), n (events),
    `mask_<k>` (the signals that count the group, as bits: `signal_mask`), `n_<d>d`
    (events inside each `per: event` window) and `in_<d>d` (1 when the latest event is
    inside each `per: detail` window). The covering index (contact_id, type, detail,
    occurred_at) lets the database walk it in order instead of sorting the whole table.
    """
    latest = func.max(Event.occurred_at)
    columns: list[ColumnElement[Any]] = [
        Event.contact_id.label("contact_id"),
        func.coalesce(EpochSeconds(latest), NO_TIME).label("last"),
        func.count().label("n"),
    ]
    signals = len(rules.scoring.behaviour.signals)
    for part in range(max(1, -(-signals // MASK_BITS))):
        columns.append(signal_mask(rules, part).label(f"mask_{part}"))
    for days in _event_windows(rules):
        since = as_of - timedelta(days=days)
        columns.append(func.sum(case((Event.occurred_at >= since, 1), else_=0)).label(f"n_{days}d"))
    for days in _detail_windows(rules):
        since = as_of - timedelta(days=days)
        columns.append(case((latest >= since, 1), else_=0).label(f"in_{days}d"))
    return (
        select(*columns)
        .where(
            Event.occurred_at <= as_of,
            counted_events_filter(rules),
            *within.clauses(Event.contact_id),
        )
        .group_by(Event.contact_id, Event.type, Event.detail)
    )


# `last` of a group whose stored time does not parse (SQLite text): every column of stage
# one stays a plain integer.
NO_TIME = -(2**62)

# Signals per mask column: bit i of `mask_<k>` is signal 62·k + i (BIGINT stays positive).
MASK_BITS = 62


def _signal_masks(signals: Sequence[BehaviourSignal], type_name: str) -> dict[str | None, int]:
    """For one event type: the signal bits a detail sets, keyed by each detail a signal
    names, None (no detail) and "" (any other detail)."""
    named = sorted(
        {d for s in signals if type_name in {e.value for e in s.events} for d in s.details or []}
    )
    masks: dict[str | None, int] = {}
    for key in [*named, None, ""]:
        bits = 0
        for bit, signal in enumerate(signals):
            if type_name not in {e.value for e in signal.events}:
                continue
            if signal.details is not None:
                hit = key in signal.details
            else:
                hit = key is not None or signal.per == "event"
            bits |= (1 << bit) if hit else 0
        masks[key] = bits
    return masks


def signal_mask(rules: Rules, part: int) -> ColumnElement[int]:
    """Per (type, detail) group: which of signals 62·part … 62·part + 61 count it, as bits."""
    signals = rules.scoring.behaviour.signals[part * MASK_BITS : (part + 1) * MASK_BITS]
    types = sorted({e.value for s in signals for e in s.events})
    by_type: dict[Any, ColumnElement[int]] = {}
    for type_name in types:
        masks = _signal_masks(signals, type_name)
        other = masks.pop("")
        without = masks.pop(None)
        named = {d: bits for d, bits in masks.items() if bits != other}
        by_detail: ColumnElement[int] = (
            case(named, value=Event.detail, else_=other) if named else literal(other)
        )
        by_type[type_name] = case((Event.detail.is_(None), without), else_=by_detail)
    return case(by_type, value=Event.type, else_=0) if by_type else literal(0)


def fold_signal_facts(groups: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Stage two (pure): per contact, `<signal>__units` and `<signal>__last` (Int64 epoch
    seconds, NA when nothing counts) from the stage-one rows, contacts in id order.

    A `per: detail` signal counts the groups whose bit it has set (inside its window:
    whose latest event is), a `per: event` one sums their event counts (inside its window:
    `n_<d>d`); the latest time is the newest among the groups counted.
    """
    contact_ids, contact = np.unique(
        groups["contact_id"].to_numpy(dtype=np.int64), return_inverse=True
    )
    size = len(contact_ids)
    last = groups["last"].to_numpy(dtype=np.int64).astype(np.float64)
    last[last == NO_TIME] = np.nan
    frame: dict[str, Any] = {"contact_id": contact_ids}
    for index, signal in enumerate(rules.scoring.behaviour.signals):
        part, bit = divmod(index, MASK_BITS)
        masks = groups[f"mask_{part}"].to_numpy(dtype=np.int64)
        counted = (masks >> bit) & 1 == 1
        if signal.per == "detail":
            if signal.window_days is not None:
                counted &= groups[f"in_{signal.window_days}d"].to_numpy(dtype=np.int64) > 0
            weight = None
        else:
            column = "n" if signal.window_days is None else f"n_{signal.window_days}d"
            weight = groups[column].to_numpy(dtype=np.int64)
            counted &= weight > 0
            weight = weight[counted]
        who = contact[counted]
        units = np.bincount(who, weights=weight, minlength=size)
        latest = np.full(size, np.nan)
        np.fmax.at(latest, who, last[counted])
        known = ~np.isnan(latest)
        frame[f"{signal.name}__units"] = units.astype(np.int64)
        frame[f"{signal.name}__last"] = pd.arrays.IntegerArray(
            np.where(known, latest, 0).astype(np.int64), ~known
        )
    return pd.DataFrame(frame)
