"""Reading lead statuses: each contact's current status and when it was set, and the
re-approach date of a lead at retry."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, func, select

from models.enums import LeadStatus
from models.status_rules import LeadStatusRules
from models.tables import Contact, LeadStatusHistory
from tasks.status.decide import CurrentStatus

# Keeps IN lists well below every driver's bound-parameter limit.
KEY_CHUNK = 2_000


def read_current_statuses(
    conn: Connection,
    contact_ids: Iterable[int],
    *,
    movable_under: LeadStatusRules | None = None,
) -> dict[int, CurrentStatus]:
    """contact id → (lead status, latest status-history instant) for these contacts.

    With `movable_under`, only contacts whose status can still move under those rules
    are read (a contact without a status, or at sales_ready, recycle or unqualified,
    has nothing an activity could change).
    """
    ids = sorted(set(contact_ids))
    since = (
        select(func.max(LeadStatusHistory.at))
        .where(LeadStatusHistory.contact_id == Contact.id)
        .scalar_subquery()
    )
    statement = select(Contact.id, Contact.lead_status, since)
    if movable_under is not None:
        movable = [status.value for status, moves in movable_under.moves.items() if moves]
        statement = statement.where(Contact.lead_status.in_(movable))
    current: dict[int, CurrentStatus] = {}
    for start in range(0, len(ids), KEY_CHUNK):
        part = ids[start : start + KEY_CHUNK]
        for contact_id, status, since in conn.execute(statement.where(Contact.id.in_(part))):
            current[int(contact_id)] = CurrentStatus(status, since)
    return current


def read_retry_at(conn: Connection, contact_id: int) -> datetime | None:
    """The re-approach date of the contact's latest move to retry (None: there is none)."""
    return conn.execute(
        select(LeadStatusHistory.retry_at)
        .where(LeadStatusHistory.contact_id == contact_id,
               LeadStatusHistory.to_status == LeadStatus.RETRY.value)
        .order_by(LeadStatusHistory.at.desc())
        .limit(1)
    ).scalar_one_or_none()
