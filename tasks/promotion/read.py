"""Read beat of promotion: candidates with their score as of the hour, events, owners.

Only contacts that some transition rule could still move are read, and of those only
the ones whose decision can have changed since the previous run (`read_scope`), with
only the events after each one's latest stage change (inside the rules' lookback) of
the types the rules look at, so a run never reads the whole ledger. The hand-off
context of the contacts that moved is a second, narrow read (`read_handoff`).
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import ColumnElement, Connection, and_, false, func, or_, select

from leadflow.db import among
from models.enums import Stage
from models.promotion_rules import EmailDomainRule, EventMatch, EventRule, SequenceRule
from models.rules import Rules
from models.tables import Contact, Event, Owner, OwnerAssignment
from tasks.promotion.decide import UNOWNED_COLUMNS, PromotionInputs
from tasks.promotion.read_contacts import (
    CONTACT_COLUMNS,
    frame,
    last_stage_change,
    late_condition,
    scored_contacts,
)
from tasks.promotion.read_scope import PromotionScope, late_ids_query
from tasks.scoring.read import MAX_LISTED_CANDIDATES
from tasks.transitions import is_allowed, kind_for

__all__ = ["CONTACT_COLUMNS", "frame", "read_promotion_inputs"]

EVENT_COLUMNS = ["contact_id", "type", "detail", "occurred_at"]
OWNER_COLUMNS = ["owner_id", "name", "email", "team", "active", "weight", "slack_user_id"]
ASSIGNMENT_COLUMNS = ["contact_id", "owner_id", "team", "at"]


def movable_stages(rules: Rules) -> list[str]:
    """Stages from which at least one transition rule could move a contact, or hot-mark it."""
    targets = [rule.to for rule in rules.promotion.transitions]
    stages = {
        stage.value
        for stage in Stage
        if any(is_allowed(stage, target, kind_for(target)) for target in targets)
    }
    return sorted(stages | {stage.value for stage in rules.promotion.hot_stages})


def _match_condition(match: EventMatch) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = Event.type.in_([e.value for e in match.events])
    if match.details is not None:
        condition = and_(condition, Event.detail.in_(match.details))
    return condition


def _domain_condition(domains: list[str]) -> ColumnElement[bool]:
    email = func.lower(Contact.email)
    return or_(
        *[email.like(f"%@{d.lower()}") for d in domains],
        *[email.like(f"%.{d.lower()}") for d in domains],
    )


def relevant_events_condition(rules: Rules) -> ColumnElement[bool]:
    """Only events some transition rule can use: its types, details and (for domain rules)
    senders, so the read never carries page views a rule would ignore."""
    conditions: list[ColumnElement[bool]] = []
    for rule in rules.promotion.transitions:
        if isinstance(rule, EmailDomainRule):
            conditions.append(and_(_match_condition(rule), _domain_condition(rule.domains)))
        elif isinstance(rule, EventRule):
            conditions.append(_match_condition(rule))
        elif isinstance(rule, SequenceRule):
            conditions.extend(_match_condition(step) for step in rule.steps)
    return or_(*conditions) if conditions else false()


def _relevant_types(rules: Rules) -> list[str]:
    """The event types some transition rule looks at."""
    matches: list[EventMatch] = []
    for rule in rules.promotion.transitions:
        if isinstance(rule, EventRule | EmailDomainRule):
            matches.append(rule)
        elif isinstance(rule, SequenceRule):
            matches.extend(rule.steps)
    return sorted({event.value for match in matches for event in match.events})


def _listed(ids: list[int] | None) -> list[int] | None:
    """`ids` when short enough to list in SQL; None (read all, filter after) otherwise."""
    return ids if ids is not None and len(ids) <= MAX_LISTED_CANDIDATES else None


def _only(frame_: pd.DataFrame, ids: list[int] | None, listed: list[int] | None) -> pd.DataFrame:
    """The rows of `ids` when they were read unlisted (a long candidate list)."""
    if ids is None or listed is not None:
        return frame_
    return frame_[frame_["contact_id"].isin(ids)].reset_index(drop=True)


def _events(
    conn: Connection,
    *,
    rules: Rules,
    as_of: datetime,
    stages: list[str],
    ids: Sequence[int] | None,
) -> pd.DataFrame:
    """The rule-relevant events of candidates in `stages` (of `ids` when given) since
    their latest stage change, inside the lookback."""
    # When the run that made the latest change started: events ingested after it were
    # never seen by any rule, even if they occurred before the change (late imports).
    dialect = conn.dialect.name
    last_stage = last_stage_change(ids, dialect)
    since = as_of - timedelta(days=rules.promotion.event_lookback_days)
    # Wrapped so SQLite seeks the (contact, type, detail, occurred) covering index by
    # contact and type instead of walking each contact's every event by time.
    occurred = func.coalesce(Event.occurred_at, Event.occurred_at)
    query = (
        select(Event.contact_id, Event.type, Event.detail, Event.occurred_at, Event.id)
        .join(Contact, Contact.id == Event.contact_id)
        .outerjoin(last_stage, last_stage.c.contact_id == Event.contact_id)
        .where(
            Event.type.in_(_relevant_types(rules)),
            relevant_events_condition(rules),
            occurred <= as_of,
            occurred > since,
            or_(
                last_stage.c.last_at.is_(None),
                Event.occurred_at > last_stage.c.last_at,
                Event.ingested_at > last_stage.c.recorded_at,
            ),
            or_(Contact.lifecycle_stage.in_(stages), Contact.lifecycle_stage.is_(None)),
        )
    )
    if ids is not None:
        query = query.where(among(Event.contact_id, ids, dialect))
    # Sorted here: an ORDER BY in SQL makes SQLite pick the (contact, occurred) index to
    # avoid a sort, and walk every event of each contact.
    events = frame(conn.execute(query).all(), [*EVENT_COLUMNS, "id"])
    ordered = events.sort_values(["contact_id", "occurred_at", "id"], kind="stable")
    return ordered[EVENT_COLUMNS].reset_index(drop=True)


def read_promotion_inputs(
    conn: Connection, *, rules: Rules, as_of: datetime, scope: PromotionScope | None = None
) -> PromotionInputs:
    """Load candidates, their events since their latest stage change, owners and history,
    and the late-assignment candidates of the assign stages (unowned, or moved there by a
    lead status).

    `scope` (`promotion_scope`) limits the candidates to those whose decision can have
    changed since the previous run; None reads every candidate. Late-assignment
    candidates are always all read: a narrow SQL filter finds them.
    """
    candidates = scope.candidates if scope is not None else None
    listed = _listed(candidates)
    stages = movable_stages(rules)
    contacts = _only(
        scored_contacts(
            conn,
            as_of=as_of,
            where=lambda _: or_(
                Contact.lifecycle_stage.in_(stages), Contact.lifecycle_stage.is_(None)
            ),
            ids=listed,
        ),
        candidates,
        listed,
    )
    events = _only(
        _events(conn, rules=rules, as_of=as_of, stages=stages, ids=listed), candidates, listed
    )
    late_query = late_ids_query(rules, as_of=as_of)
    late_ids = sorted(int(cid) for cid in conn.execute(late_query).scalars())
    late_listed = _listed(late_ids)
    unowned = _only(
        scored_contacts(
            conn,
            as_of=as_of,
            where=lambda last_stage: late_condition(last_stage, rules=rules, as_of=as_of),
            ids=late_listed,
        ),
        late_ids,
        late_listed,
    )[UNOWNED_COLUMNS]
    owners = frame(
        conn.execute(
            select(
                Owner.id,
                Owner.name,
                Owner.email,
                Owner.team,
                Owner.active,
                Owner.weight,
                Owner.slack_user_id,
            ).order_by(Owner.id)
        ).all(),
        OWNER_COLUMNS,
    )
    # The whole history: the rotation of a team replays every pick it made.
    assignments = frame(
        conn.execute(
            select(
                OwnerAssignment.contact_id,
                OwnerAssignment.owner_id,
                OwnerAssignment.team,
                OwnerAssignment.at,
            ).order_by(OwnerAssignment.at, OwnerAssignment.id)
        ).all(),
        ASSIGNMENT_COLUMNS,
    )
    return PromotionInputs(
        as_of=as_of,
        contacts=contacts,
        events=events,
        owners=owners,
        assignments=assignments,
        unowned=unowned,
    )
