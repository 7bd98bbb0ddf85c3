"""Giving contacts an owner outside promotion: SLA reassignment, recycling, late assignment.

One wiring for "the next owner of a team": the weighted rotation of
`tasks.promotion.assignment`, replayed from the team's stored assignment history, so
every flow that hands a lead to someone shares the same fair rotation.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from leadflow.db import in_chunks, insert_ignoring_conflicts
from models.enums import Team
from models.tables import Contact, Owner, OwnerAssignment
from tasks.promotion.assignment import weighted_round_robin

# Keeps IN lists well below every driver's bound-parameter limit.
KEY_CHUNK = 2_000


@dataclass(frozen=True)
class OwnerRequest:
    """A contact that needs an owner from `team`, never `skip` (the owner who let it lapse)."""

    contact_id: int
    team: Team
    reason: str
    skip: int | None = None


@dataclass(frozen=True)
class OwnerPick:
    """The owner chosen for a request (None: the team has no other active owner)."""

    contact_id: int
    team: Team
    owner_id: int | None
    reason: str


def pick_owners(conn: Connection, requests: Sequence[OwnerRequest]) -> list[OwnerPick]:
    """Choose owners for `requests` in order, continuing each team's rotation."""
    picks: list[OwnerPick] = []
    state: dict[Team, tuple[dict[int, float], list[int]]] = {}
    for request in requests:
        if request.team not in state:
            state[request.team] = _team_rotation(conn, request.team)
        weights, history = state[request.team]
        eligible = {o: w for o, w in weights.items() if o != request.skip}
        chosen = weighted_round_robin(eligible, history=history, count=1)
        owner_id = chosen[0] if chosen else None
        if owner_id is not None:
            history.append(owner_id)
        picks.append(OwnerPick(request.contact_id, request.team, owner_id, request.reason))
    return picks


def record_owners(
    conn: Connection, picks: Sequence[OwnerPick], *, at: datetime, run_id: str | None
) -> int:
    """Store the picks (assignment history + the contact's owner); a None owner clears it.

    Returns how many assignment rows were added; (contact, at) keeps reruns from adding
    a second one.
    """
    owned = [p for p in picks if p.owner_id is not None]
    added = insert_ignoring_conflicts(
        conn,
        OwnerAssignment.__table__,  # type: ignore[arg-type]
        [
            {"contact_id": p.contact_id, "owner_id": p.owner_id, "team": p.team.value, "at": at,
             "reason": _fit(p.reason), "run_id": run_id}
            for p in owned
        ],
        keys=["contact_id", "at"],
    )
    # A contact's last pick wins, as if written one by one; then one UPDATE per owner
    # and slice of contacts (a first hour assigns ~180k at 1M).
    final = {pick.contact_id: pick.owner_id for pick in picks}
    by_owner: dict[int | None, list[int]] = {}
    for contact_id, owner_id in final.items():
        by_owner.setdefault(owner_id, []).append(contact_id)
    for owner_id, contact_ids in by_owner.items():
        for part in in_chunks(sorted(contact_ids), KEY_CHUNK):
            conn.execute(
                update(Contact).where(Contact.id.in_(part)).values(owner_id=owner_id)
            )
    return added


def _fit(reason: str) -> str:
    # A reason can quote a person's free text (set-status --reason): cut it to the column.
    limit = int(getattr(OwnerAssignment.__table__.c.reason.type, "length", None) or len(reason))
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


def _team_rotation(conn: Connection, team: Team) -> tuple[dict[int, float], list[int]]:
    weights = {
        int(owner_id): float(weight)
        for owner_id, weight in conn.execute(
            select(Owner.id, Owner.weight).where(Owner.team == team.value, Owner.active.is_(True))
        )
    }
    history = [
        int(owner_id)
        for owner_id in conn.execute(
            select(OwnerAssignment.owner_id)
            .where(OwnerAssignment.team == team.value)
            .order_by(OwnerAssignment.at, OwnerAssignment.id)
        ).scalars()
    ]
    return weights, history
