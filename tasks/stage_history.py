"""Recording stage moves: the contact's stage, a stage-history row each, company roll-ups.

Every flow that moves a stage applies its decided `Transition`s here, inside its own
apply transaction, so a rerun or a concurrent run changes nothing twice.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from leadflow.db import in_chunks, insert_ignoring_conflicts
from leadflow.timeutil import utc_now
from models.enums import LeadStatus, Stage
from models.lifecycle import InvalidTransition, TransitionKind, is_allowed
from models.tables import Company, Contact, LeadStatusHistory, StageHistory
from tasks.transitions import Transition, company_stage

# Keeps IN lists well below every driver's bound-parameter limit.
KEY_CHUNK = 2_000


@dataclass(frozen=True)
class AppliedTransitions:
    """What `apply_transitions` wrote: the moves that took effect and the companies rolled up."""

    transitions: list[Transition]
    companies: dict[int, Stage | None]


def apply_transitions(
    conn: Connection,
    transitions: Sequence[Transition],
    *,
    run_id: str | None,
    lead_status_on: Mapping[Stage, LeadStatus] | None = None,
) -> AppliedTransitions:
    """Write transitions in the caller's transaction, keyed by (contact, to, at).

    A move takes effect only if the contact is still in its `from_stage` (so a rerun or
    a concurrent run changes nothing twice); each effective move gets a stage-history
    row, the lead status `lead_status_on` names for its target (with a lead-status
    history row, source "promotion", whenever that changes the status), and
    recycle/re-nurture clear the hot-lead mark. Touched companies are rolled up afterwards.
    """
    checked: set[tuple[str | None, Stage, TransitionKind]] = set()
    for transition in transitions:
        move = (transition.from_stage, transition.to_stage, transition.kind)
        if move in checked:
            continue
        checked.add(move)
        if not is_allowed(transition.from_stage, transition.to_stage, transition.kind):
            raise InvalidTransition(
                f"contact {transition.contact_id}: {transition.from_stage} → "
                f"{transition.to_stage} is not allowed as {transition.kind}"
            )
    statuses = lead_status_on or {}
    previous = _lead_statuses(
        conn, [t.contact_id for t in transitions if t.to_stage in statuses]
    )
    took = _move_contacts(conn, transitions, statuses=statuses)
    status_rows: list[dict[str, object]] = []
    applied: list[Transition] = []
    for index, transition in enumerate(transitions):
        if index not in took:
            continue
        applied.append(transition)
        status = statuses.get(transition.to_stage)
        before = previous.get(transition.contact_id)
        if status is not None and before != status.value:
            status_rows.append(_promotion_status_row(transition, before, status, run_id))
            previous[transition.contact_id] = status.value
    insert_ignoring_conflicts(
        conn,
        LeadStatusHistory.__table__,  # type: ignore[arg-type]
        status_rows,
        keys=["contact_id", "to_status", "at"],
    )
    insert_ignoring_conflicts(
        conn,
        StageHistory.__table__,  # type: ignore[arg-type]
        [
            {
                "contact_id": t.contact_id,
                "from_stage": t.from_stage,
                "to_stage": t.to_stage.value,
                "at": t.at,
                "rule": t.rule,
                "kind": t.kind.value,
                "reason": t.reason,
                "run_id": run_id,
            }
            for t in applied
        ],
        keys=["contact_id", "to_stage", "at"],
    )
    companies = refresh_company_stages(conn, contact_ids=[t.contact_id for t in applied])
    return AppliedTransitions(transitions=applied, companies=companies)


def _rounds(transitions: Sequence[Transition]) -> list[list[int]]:
    """Positions of `transitions` in rounds that name each contact at most once, a
    contact's later moves in later rounds (an imported deal history moves one contact
    several times, each move from the stage the previous one left)."""
    seen: dict[int, int] = {}
    rounds: list[list[int]] = []
    for index, transition in enumerate(transitions):
        level = seen.get(transition.contact_id, 0)
        seen[transition.contact_id] = level + 1
        if level == len(rounds):
            rounds.append([])
        rounds[level].append(index)
    return rounds


def _move_contacts(
    conn: Connection,
    transitions: Sequence[Transition],
    *,
    statuses: Mapping[Stage, LeadStatus],
) -> set[int]:
    """Set each contact's new stage where it is still in the move's `from_stage`; returns
    the positions of the moves that took effect.

    One UPDATE … RETURNING per (from, to, values) group and slice of ids instead of one
    per contact: a first hour moves ~180k contacts at 1M.
    """
    took: set[int] = set()
    for positions in _rounds(transitions):
        groups: dict[tuple[str | None, Stage, bool], list[int]] = {}
        for index in positions:
            transition = transitions[index]
            clears_hot = transition.kind in (TransitionKind.RECYCLE, TransitionKind.RENURTURE)
            key = (transition.from_stage, transition.to_stage, clears_hot)
            groups.setdefault(key, []).append(index)
        for (source, target, clears_hot), members in groups.items():
            values: dict[str, object] = {"lifecycle_stage": target.value}
            if target in statuses:
                values["lead_status"] = statuses[target].value
            if clears_hot:
                values["hot_at"] = None
            current = (
                Contact.lifecycle_stage.is_(None)
                if source is None
                else Contact.lifecycle_stage == source
            )
            by_contact = {transitions[index].contact_id: index for index in members}
            for part in in_chunks(sorted(by_contact), KEY_CHUNK):
                moved = conn.execute(
                    update(Contact)
                    .where(Contact.id.in_(part), current)
                    .values(**values)
                    .returning(Contact.id)
                ).scalars()
                took.update(by_contact[contact_id] for contact_id in moved)
    return took


def _lead_statuses(conn: Connection, contact_ids: Sequence[int]) -> dict[int, str | None]:
    ids = sorted(set(contact_ids))
    statuses: dict[int, str | None] = {}
    for part in in_chunks(ids, KEY_CHUNK):
        for contact_id, status in conn.execute(
            select(Contact.id, Contact.lead_status).where(Contact.id.in_(part))
        ):
            statuses[contact_id] = status
    return statuses


def _promotion_status_row(
    transition: Transition, before: str | None, status: LeadStatus, run_id: str | None
) -> dict[str, object]:
    return {
        "contact_id": transition.contact_id, "from_status": before, "to_status": status.value,
        "at": transition.at, "source": "promotion", "retry_at": None, "run_id": run_id,
        "reason": f"lifecycle {transition.from_stage or '-'} → {transition.to_stage.value} "
        f"({transition.rule})",
        "created_at": utc_now(),
    }


def refresh_company_stages(
    conn: Connection, *, contact_ids: Sequence[int]
) -> dict[int, Stage | None]:
    """Recompute the stage of the companies of these contacts; returns company → stage."""
    if not contact_ids:
        return {}
    # In slices: a first run at 1M contacts moves ~180k at once, past PostgreSQL's 65,535
    # bound parameters per statement.
    company_ids = sorted(
        {
            cid
            for part in in_chunks(sorted(set(contact_ids)), KEY_CHUNK)
            for cid in conn.execute(
                select(Contact.company_id).where(Contact.id.in_(part))
            ).scalars()
            if cid is not None
        }
    )
    if not company_ids:
        return {}
    stages: dict[int, list[str | None]] = {cid: [] for cid in company_ids}
    for part in in_chunks(company_ids, KEY_CHUNK):
        for company_id, contact_stage in conn.execute(
            select(Contact.company_id, Contact.lifecycle_stage).where(
                Contact.company_id.in_(part)
            )
        ):
            if company_id is not None:
                stages[company_id].append(contact_stage)
    rolled = {cid: company_stage(values) for cid, values in stages.items()}
    by_stage: dict[Stage | None, list[int]] = {}
    for company_id, rolled_stage in rolled.items():
        by_stage.setdefault(rolled_stage, []).append(company_id)
    # One UPDATE per stage and slice, not per company (a first hour touches ~100k).
    for rolled_stage, members in by_stage.items():
        for part in in_chunks(members, KEY_CHUNK):
            conn.execute(
                update(Company)
                .where(Company.id.in_(part))
                .values(lifecycle_stage=None if rolled_stage is None else rolled_stage.value)
            )
    return rolled
