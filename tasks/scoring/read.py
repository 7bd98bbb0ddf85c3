"""Read beat of scoring: which contacts need rescoring, their attributes and signal facts.

The per-signal aggregation starts in SQL: one pass over the events table collapses them
to one row per contact, type and detail that some signal counts; numpy then folds those
per contact and signal (tasks.scoring.facts). Python never sees raw events.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Connection, Select, and_, false, func, select, union

from leadflow.db import among
from leadflow.memory import gc_paused
from leadflow.runs import PreviousRun, previous_run
from models.rules import Rules
from models.tables import Company, Contact, Event, ScoreSnapshot
from tasks.scoring.decide import ScoringInputs
from tasks.scoring.facts import fold_signal_facts, grouped_events_query
from tasks.scoring.ranges import EVERY_CONTACT, ContactRange

ATTRIBUTE_COLUMNS = ["contact_id", "email", "job_title", "industry", "employee_count", "region"]


def relevant_events_filter(rules: Rules) -> ColumnElement[bool]:
    """Only event types some signal looks at can change a score."""
    types = sorted({e.value for s in rules.scoring.behaviour.signals for e in s.events})
    return Event.type.in_(types) if types else false()


def candidate_ids_query(rules: Rules, as_of: datetime, previous: PreviousRun) -> Select[Any]:
    """Contacts whose score can have changed since `previous`.

    New events (by event time inside (previous.as_of, as_of], or loaded since the previous
    run started), changed attributes, never-scored contacts, and contacts with an event
    leaving a recency window during the hour. Each branch is a separate SELECT so every
    one of them can use its own index.
    """
    since = previous.as_of
    relevant = relevant_events_filter(rules)
    parts: list[Select[Any]] = [
        select(Event.contact_id).where(
            relevant, Event.occurred_at > since, Event.occurred_at <= as_of
        ),
        # No `occurred_at <= as_of` here: with it SQLite scans the occurred_at index over
        # the whole history; a contact whose late event is still in the future is merely
        # rescored to the same result.
        select(Event.contact_id).where(relevant, Event.ingested_at > previous.started_at),
        select(Contact.id).where(Contact.updated_at > previous.started_at),
        select(Contact.id).where(Contact.scored_at.is_(None)),
    ]
    windows = sorted({s.window_days for s in rules.scoring.behaviour.signals if s.window_days})
    for days in windows:
        window = timedelta(days=days)
        windowed = [s for s in rules.scoring.behaviour.signals if s.window_days == days]
        types = sorted({e.value for s in windowed for e in s.events})
        parts.append(
            select(Event.contact_id).where(
                Event.type.in_(types),
                Event.occurred_at < as_of - window,
                Event.occurred_at >= since - window,
            )
        )
    return union(*parts)  # type: ignore[return-value]


# Past this many candidates one full pass over the tables beats index lookups (and stays
# under SQLite's bound-parameter limit).
MAX_LISTED_CANDIDATES = 20000


def _plain(rows: Sequence[Any]) -> list[tuple[Any, ...]]:
    # pandas probes each Row for attributes it does not have; plain tuples skip ~2 s/100k rows.
    return [tuple(row) for row in rows]


def read_contacts(
    conn: Connection,
    ids: Sequence[int] | Select[Any] | None,
    within: ContactRange = EVERY_CONTACT,
) -> pd.DataFrame:
    """Scoring attributes per contact; company values fill in what the contact lacks."""
    query = (
        select(
            Contact.id.label("contact_id"),
            Contact.email,
            Contact.job_title,
            func.coalesce(Contact.industry, Company.industry).label("industry"),
            func.coalesce(Contact.employee_count, Company.employee_count).label("employee_count"),
            func.coalesce(Contact.region, Company.region).label("region"),
        )
        .select_from(Contact)
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(*within.clauses(Contact.id))
    )
    if ids is not None:
        query = query.where(among(Contact.id, ids, conn.dialect.name))
    result = conn.execute(query.order_by(Contact.id))
    with gc_paused():
        try:
            # The driver's own tuples: these columns have no result processing to skip.
            rows = result.cursor.fetchall()
        finally:
            result.close()
        frame = pd.DataFrame.from_records(rows, columns=ATTRIBUTE_COLUMNS)
        del rows
    frame["contact_id"] = frame["contact_id"].astype("int64")
    frame["employee_count"] = pd.to_numeric(frame["employee_count"]).astype("Int64")
    return frame


def _integer_columns(conn: Connection, query: Select[Any]) -> pd.DataFrame:
    """Run `query` (integer columns only, no NULLs) and build its frame straight from the
    driver's tuples: no SQLAlchemy Row per result row, no pandas type inference."""
    result = conn.execute(query)
    names = list(result.keys())
    layout = np.dtype([(name, np.int64) for name in names])
    with gc_paused():
        try:
            table = np.fromiter(iter(result.cursor.fetchall()), dtype=layout)
        finally:
            result.close()
    return pd.DataFrame({name: table[name] for name in names})


def read_facts(
    conn: Connection,
    rules: Rules,
    as_of: datetime,
    ids: Sequence[int] | Select[Any] | None,
    within: ContactRange = EVERY_CONTACT,
) -> pd.DataFrame:
    """One row per contact with counted events: units and latest time (epoch seconds) per
    behaviour signal (tasks.scoring.facts)."""
    query = grouped_events_query(rules, as_of, within)
    if ids is not None:
        query = query.where(among(Event.contact_id, ids, conn.dialect.name))
    groups = _integer_columns(conn, query)
    return fold_signal_facts(groups, rules)


def read_previous_scores(
    conn: Connection,
    as_of: datetime,
    ids: Sequence[int] | Select[Any] | None,
    within: ContactRange = EVERY_CONTACT,
) -> pd.DataFrame:
    """Each contact's latest snapshot at or before as_of (what a new snapshot is compared to)."""
    latest = (
        select(ScoreSnapshot.contact_id, func.max(ScoreSnapshot.as_of).label("as_of"))
        .where(ScoreSnapshot.as_of <= as_of, *within.clauses(ScoreSnapshot.contact_id))
        .group_by(ScoreSnapshot.contact_id)
    )
    if ids is not None:
        latest = latest.where(among(ScoreSnapshot.contact_id, ids, conn.dialect.name))
    latest_sq = latest.subquery()
    query = select(
        ScoreSnapshot.contact_id,
        ScoreSnapshot.as_of.label("previous_as_of"),
        ScoreSnapshot.engagement_score.label("previous_engagement"),
        ScoreSnapshot.fit_score.label("previous_fit"),
        ScoreSnapshot.score.label("previous_score"),
    ).join(
        latest_sq,
        and_(
            ScoreSnapshot.contact_id == latest_sq.c.contact_id,
            ScoreSnapshot.as_of == latest_sq.c.as_of,
        ),
    )
    rows = conn.execute(query).all()
    return pd.DataFrame.from_records(
        _plain(rows),
        columns=["contact_id", "previous_as_of", "previous_engagement", "previous_fit",
                 "previous_score"],
    )


@dataclass(frozen=True)
class ScoringScope:
    """Which contacts one scoring run reads: every contact in `within` on a full run,
    else the listed candidates (sorted)."""

    full: bool
    reason: str
    candidates: list[int] | None
    within: ContactRange = EVERY_CONTACT

    def narrowed(self, within: ContactRange) -> "ScoringScope":
        """The part of this scope inside `within`: one shard's (tasks.scoring.shards)."""
        candidates = self.candidates
        if candidates is not None:
            candidates = [cid for cid in candidates if within.holds(cid)]
        return ScoringScope(self.full, self.reason, candidates, within)


def scoring_scope(
    conn: Connection,
    *,
    rules: Rules,
    as_of: datetime,
    previous: PreviousRun | None,
    full: bool = False,
) -> ScoringScope:
    """Full or incremental, and why; an incremental run lists its candidates."""
    if full:
        return ScoringScope(True, "requested", None)
    if previous is None:
        return ScoringScope(True, "no run of an earlier hour", None)
    if previous.rules_hash != rules.fingerprint("scoring"):
        return ScoringScope(True, "rules changed since the previous run", None)
    candidates = sorted(
        int(cid) for cid in conn.execute(candidate_ids_query(rules, as_of, previous)).scalars()
    )
    return ScoringScope(False, f"incremental since {previous.as_of.isoformat()}", candidates)


def read_scope(
    conn: Connection, *, rules: Rules, as_of: datetime, scope: ScoringScope
) -> ScoringInputs:
    """Load the frames of the contacts in `scope`."""
    candidates, within = scope.candidates, scope.within
    listed = candidates if candidates is None or len(candidates) <= MAX_LISTED_CANDIDATES else None
    contacts = read_contacts(conn, listed, within)
    facts = read_facts(conn, rules, as_of, listed, within)
    previous_scores = read_previous_scores(conn, as_of, listed, within)
    if candidates is not None and listed is None:
        wanted = set(candidates)
        contacts = contacts[contacts["contact_id"].isin(wanted)].reset_index(drop=True)
        facts = facts[facts["contact_id"].isin(wanted)].reset_index(drop=True)
        previous_scores = previous_scores[previous_scores["contact_id"].isin(wanted)]
    return ScoringInputs(
        as_of=as_of, full=scope.full, reason=scope.reason, contacts=contacts, facts=facts,
        previous=previous_scores.reset_index(drop=True),
    )


def read_scoring_inputs(
    conn: Connection,
    *,
    rules: Rules,
    as_of: datetime,
    previous: PreviousRun | None,
    full: bool = False,
) -> ScoringInputs:
    """Load the frames for one scoring run: all contacts on a full run, else the candidates."""
    scope = scoring_scope(conn, rules=rules, as_of=as_of, previous=previous, full=full)
    return read_scope(conn, rules=rules, as_of=as_of, scope=scope)


def read_for_run(
    conn: Connection, *, flow: str, rules: Rules, as_of: datetime, full: bool
) -> ScoringInputs:
    """Read beat: the frames one scoring run needs, incremental since `flow`'s previous run."""
    previous = previous_run(conn, flow=flow, before=as_of)
    return read_scoring_inputs(conn, rules=rules, as_of=as_of, previous=previous, full=full)
