"""Which contacts one promotion run reads: every candidate, or only those whose decision
can have changed since the previous applied run.

A contact's decision depends on its row, its latest score snapshot, its latest stage
change and its events. If none of those changed since the previous run decided (which
read the same data an hour earlier and acted on it), the decision can only change with
the clock: a snapshot or event dated inside the new hour, or a recycle cool-down ending.
Everything else that moves with the clock only shrinks what matches (the event lookback,
the late-assignment window). Late-assignment candidates depend on the owners too, so
they are always read (a narrow SQL filter, `late_ids_query`).
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, and_, func, or_, select, type_coerce, union

from leadflow.runs import PreviousRun, previous_run
from models.lifecycle import TransitionKind
from models.rules import Rules
from models.tables import (
    Contact,
    Event,
    LeadStatusHistory,
    Run,
    ScoreSnapshot,
    StageHistory,
    UTCDateTime,
)
from tasks.promotion.assignment import LEAD_STATUS_RULE_PREFIX

BACK_TO_MARKETING = [TransitionKind.RECYCLE.value, TransitionKind.RENURTURE.value]


@dataclass(frozen=True)
class PromotionScope:
    """Which contacts a promotion run reads: all (`full`), else the listed candidates."""

    full: bool
    reason: str
    candidates: list[int] | None


def promotion_rules_hash(rules: Rules) -> str:
    """The rules hash a promotion run records: its own section and scoring's, whose
    thresholds (the MQL and hot lines) and score range its decisions use too."""
    both = rules.fingerprint("promotion") + rules.fingerprint("scoring")
    return hashlib.sha256(both.encode()).hexdigest()[:16]


def decided_since(conn: Connection, *, flow: str, previous: PreviousRun) -> datetime:
    """When the run that decided `previous.as_of` started.

    A rerun of an hour already decided is recorded too (it decides nothing) and starts
    later; what was written between the two starts must still count as new.
    """
    first = conn.execute(
        select(type_coerce(func.min(Run.started_at), UTCDateTime)).where(
            Run.flow == flow,
            Run.as_of == previous.as_of,
            Run.status == "completed",
            Run.dry_run.is_(False),
        )
    ).scalar_one_or_none()
    return first if first is not None else previous.started_at


def changed_ids_query(
    rules: Rules, as_of: datetime, previous: PreviousRun, *, started: datetime
) -> Select[Any]:
    """Contacts whose promotion decision can have changed since `previous` (started at
    `started`).

    Written since (by wall clock or by a run started since): events, score snapshots,
    stage moves (with the runs that made them, a lead status, an import), contact rows.
    Dated inside (previous.as_of, as_of]: events and snapshots. And contacts whose
    recycle cool-down ends inside the hour. Each branch is a separate SELECT so every one
    can use its own index.
    """
    since = previous.as_of
    recent_runs = select(Run.id).where(Run.started_at >= started)
    cooldown = timedelta(days=rules.promotion.recycle_cooldown_days)
    parts: list[Select[Any]] = [
        # Any event type: a contact sent back to marketing waits for any new behaviour.
        select(Event.contact_id).where(Event.occurred_at > since, Event.occurred_at <= as_of),
        select(Event.contact_id).where(Event.ingested_at > started),
        select(ScoreSnapshot.contact_id).where(
            ScoreSnapshot.as_of > since, ScoreSnapshot.as_of <= as_of
        ),
        # A scoring rerun of an earlier hour: only the hours runs since then scored.
        select(ScoreSnapshot.contact_id).where(
            ScoreSnapshot.as_of.in_(select(Run.as_of).where(Run.started_at >= started)),
            ScoreSnapshot.as_of <= as_of,
            ScoreSnapshot.run_id.in_(recent_runs),
        ),
        # No index serves these: one pass over the stage history for all of them.
        select(StageHistory.contact_id).where(
            or_(
                StageHistory.run_id.in_(recent_runs),
                StageHistory.at > since,
                and_(
                    StageHistory.kind.in_(BACK_TO_MARKETING),
                    StageHistory.at > since - cooldown,
                    StageHistory.at <= as_of - cooldown,
                ),
            )
        ),
        # Lead-status moves of the CLI and of imported activities carry no run.
        select(LeadStatusHistory.contact_id).where(LeadStatusHistory.created_at >= started),
        select(Contact.id).where(Contact.updated_at >= started),
    ]
    return union(*parts)  # type: ignore[return-value]


def late_ids_query(rules: Rules, *, as_of: datetime) -> Select[Any]:
    """A superset of the late-assignment candidates: unowned contacts of the assign stages,
    and contacts a lead status moved (inside the late-assignment window)."""
    status_moves = select(StageHistory.contact_id).where(
        StageHistory.rule.like(f"{LEAD_STATUS_RULE_PREFIX}%")
    )
    window = rules.promotion.late_assignment_within_days
    if window is not None:
        status_moves = status_moves.where(StageHistory.at >= as_of - timedelta(days=window))
    unowned = select(Contact.id).where(
        Contact.owner_id.is_(None),
        Contact.lifecycle_stage.in_([s.value for s in rules.promotion.assign_stages]),
    )
    return union(unowned, status_moves)  # type: ignore[return-value]


def promotion_scope(
    conn: Connection, *, flow: str, rules: Rules, as_of: datetime, full: bool = False
) -> PromotionScope:
    """Full or incremental since `flow`'s previous applied run, and why; an incremental
    run lists its candidates (sorted)."""
    if full:
        return PromotionScope(True, "requested", None)
    previous = previous_run(conn, flow=flow, before=as_of)
    if previous is None:
        return PromotionScope(True, "no run of an earlier hour", None)
    if previous.rules_hash != promotion_rules_hash(rules):
        return PromotionScope(True, "rules changed since the previous run", None)
    started = decided_since(conn, flow=flow, previous=previous)
    query = changed_ids_query(rules, as_of, previous, started=started)
    candidates = sorted(int(cid) for cid in conn.execute(query).scalars())
    return PromotionScope(False, f"incremental since {previous.as_of.isoformat()}", candidates)
