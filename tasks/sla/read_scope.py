"""Which contacts one SLA run reads: every unsettled contact, or only those whose clocks
can have changed since the previous applied run.

A contact's SLA decisions (clocks to write, ladder levels firing, follow-up tasks) depend
on its stage history, sales touches, lead statuses and owner assignments, and on the
clock. If none of its facts changed since the previous run decided (and applied what it
decided), only the passage of time can change them: a clock's due time passing (a
breach), or a ladder level coming due. Both are read from the stored clocks: the due time
is stored, and a level of `after` d comes due inside (since, as_of] exactly for the clocks
that started inside one window of instants, because adding business time never goes
backwards. Everything else that moves with the clock only shrinks what fires (the
`max_escalation_age` cut-off).

"Changed" means written since the previous run read (a row id above the highest it saw:
ids only grow) or dated inside (since, as_of] (a replay of history loaded in advance).
The previous run records the highest ids it saw in its summary (`read_ids`).
"""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Select, and_, func, or_, select, union

from leadflow.runs import PreviousRun, previous_run
from models.rules import Rules
from models.sla_rules import SlaDuration
from models.tables import Activity, LeadStatusHistory, OwnerAssignment, Run, SlaClock, StageHistory
from tasks.sla.business_time import FrameCalendar

# The fact tables an SLA decision reads, with the instant that dates each row.
FACT_TABLES: dict[str, tuple[Any, Any]] = {
    "stage_history": (StageHistory, StageHistory.at),
    "activities": (Activity, Activity.occurred_at),
    "lead_status_history": (LeadStatusHistory, LeadStatusHistory.at),
    "owner_assignments": (OwnerAssignment, OwnerAssignment.at),
}
SUMMARY_KEY = "read_ids"
NS = 1
MICRO_NS = 1_000
# How far back a level window is searched for: no SLA duration spans more.
LONGEST_SPAN = timedelta(days=3 * 366)
# Where the zone's UTC offset changes, wall-time arithmetic can step back by the change.
ZONE_SHIFT_MARGIN = timedelta(hours=3)


@dataclass(frozen=True)
class SlaScope:
    """Which contacts an SLA run reads: every unsettled one (`full`), else `candidates`.

    `read_ids`: the highest row id of each fact table when the run read, for the next run.
    """

    full: bool
    reason: str
    candidates: list[int] | None = None
    read_ids: dict[str, int] = field(default_factory=dict)


def sla_rules_hash(rules: Rules, tz: tzinfo | str) -> str:
    """The rules hash an SLA run records: its own section, the business calendar and the
    business time zone, which place every due time."""
    parts = rules.fingerprint("sla") + rules.fingerprint("calendar") + str(tz)
    return hashlib.sha256(parts.encode()).hexdigest()[:16]


def highest_ids(conn: Connection) -> dict[str, int]:
    """The highest row id of each fact table now (0 when empty)."""
    return {
        name: int(conn.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one())
        for name, (model, _) in FACT_TABLES.items()
    }


def _ns(instant: datetime) -> int:
    return int(pd.Timestamp(instant).as_unit("ns").value)


def _instant(ns: int) -> datetime:
    return pd.Timestamp(ns, unit="ns", tz=UTC).to_pydatetime(warn=False)


def _bracket(
    calendar: FrameCalendar,
    duration: SlaDuration,
    low: int,
    bound: int,
) -> tuple[int, int]:
    """(l, h), h - l = 1 µs, around the first start whose due time passes `bound`:
    add(l) <= bound < add(h), both whole microseconds. Needs add(low) <= bound for a
    whole-microsecond `low`; add(s) > bound for s > bound holds as adding never goes
    back."""
    high = -(-(bound + NS) // MICRO_NS) * MICRO_NS
    while high - low > MICRO_NS:
        middle = (low + high) // 2 // MICRO_NS * MICRO_NS
        if calendar.add(np.array([middle], dtype=np.int64), duration)[0] > bound:
            high = middle
        else:
            low = middle
    return low, high


def start_window(
    calendar: FrameCalendar,
    duration: SlaDuration,
    *,
    since: datetime,
    as_of: datetime,
) -> tuple[datetime | None, datetime] | None:
    """The first and last start s (whole microseconds, as stored) whose s + `duration`
    falls inside (since, as_of], or None when none does; the first is None when the
    search found no lower bound. Widened where the zone's offset changes."""
    since_ns, as_of_ns = _ns(since), _ns(as_of)
    span = _ns_of(timedelta(days=1))
    while calendar.add(np.array([since_ns - span], dtype=np.int64), duration)[0] > since_ns:
        span *= 2
        if span > _ns_of(LONGEST_SPAN):
            return None, as_of
    margin = 0 if calendar.fixed_offset else _ns_of(ZONE_SHIFT_MARGIN)
    _, first = _bracket(calendar, duration, since_ns - span, since_ns)
    last, _ = _bracket(calendar, duration, since_ns - span, as_of_ns)
    if first > last and not margin:
        return None
    return _instant(first - margin), _instant(last + margin)


def _ns_of(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1) * MICRO_NS


def timed_ids_query(
    rules: Rules, calendar: FrameCalendar, *, since: datetime, as_of: datetime
) -> Select[Any]:
    """Contacts with an open clock that the passage of (since, as_of] alone can change:
    its due time passes, or one of its policy's ladder levels comes due."""
    reasons = [and_(SlaClock.due_at > since, SlaClock.due_at <= as_of)]
    for policy in rules.sla.policies:
        for after in sorted({level.after for level in policy.ladder}, key=str):
            found = start_window(calendar, after, since=since, as_of=as_of)
            if found is None:
                continue
            first, last = found
            window = [SlaClock.policy == policy.name, SlaClock.started_at <= last]
            if first is not None:
                window.append(SlaClock.started_at >= first)
            reasons.append(and_(*window))
    return select(SlaClock.contact_id).where(
        SlaClock.satisfied_at.is_(None), SlaClock.closed_at.is_(None), or_(*reasons)
    )


def changed_ids_queries(
    *, since: datetime, as_of: datetime, read_ids: dict[str, int]
) -> list[Select[Any]]:
    """Per fact table: contacts with a row written since the previous run read (an id
    above the highest it saw: the primary key finds them) and contacts with a row dated
    inside (since, as_of] (a scan until the table has an index on its date)."""
    queries: list[Select[Any]] = []
    for name, (model, dated) in FACT_TABLES.items():
        queries.append(select(model.contact_id).where(model.id > read_ids[name]))
        queries.append(select(model.contact_id).where(dated > since, dated <= as_of))
    return queries


def ids_seen_by(conn: Connection, *, flow: str, previous: PreviousRun) -> dict[str, int] | None:
    """The highest ids the run that decided `previous.as_of` read (a rerun of that hour,
    which reads nothing, is recorded too), or None when it recorded none."""
    summaries = conn.execute(
        select(Run.summary)
        .where(
            Run.flow == flow,
            Run.as_of == previous.as_of,
            Run.status == "completed",
            Run.dry_run.is_(False),
        )
        .order_by(Run.started_at)
    ).scalars()
    for summary in summaries:
        seen = (summary or {}).get(SUMMARY_KEY)
        if isinstance(seen, dict) and set(seen) == set(FACT_TABLES):
            return {name: int(seen[name]) for name in FACT_TABLES}
    return None


def sla_scope(
    conn: Connection,
    *,
    flow: str,
    rules: Rules,
    as_of: datetime,
    tz: tzinfo | str,
    full: bool = False,
) -> SlaScope:
    """Full or incremental since `flow`'s previous applied run, and why; an incremental
    run lists its candidates (sorted). Either way the highest fact ids are taken first,
    so a row written while this run reads is new to the next one."""
    read_ids = highest_ids(conn)
    if full:
        return SlaScope(True, "requested", None, read_ids)
    previous = previous_run(conn, flow=flow, before=as_of)
    if previous is None:
        return SlaScope(True, "no run of an earlier hour", None, read_ids)
    if previous.rules_hash != sla_rules_hash(rules, tz):
        return SlaScope(True, "rules changed since the previous run", None, read_ids)
    seen = ids_seen_by(conn, flow=flow, previous=previous)
    if seen is None:
        return SlaScope(True, "the previous run recorded no read ids", None, read_ids)
    since = previous.as_of
    calendar = FrameCalendar.covering(
        rules.calendar,
        str(tz),
        np.array([_ns(since - LONGEST_SPAN), _ns(as_of)], dtype=np.int64),
    )
    query = union(
        *changed_ids_queries(since=since, as_of=as_of, read_ids=seen),
        timed_ids_query(rules, calendar, since=since, as_of=as_of),
    )
    candidates = sorted(int(cid) for cid in conn.execute(query).scalars())
    return SlaScope(False, f"incremental since {since.isoformat()}", candidates, read_ids)
