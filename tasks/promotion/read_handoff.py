"""Read the hand-off context: names, company, score reasons and latest touches.

A narrow read for only the contacts this run hands off (moved, hot or late-assigned).
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Connection, and_, func, literal, select, union_all

from leadflow.db import in_chunks
from models.tables import Activity, Company, Contact, Event, ScoreSnapshot
from tasks.promotion.handoff_facts import HandoffContext
from tasks.promotion.read import frame

# Contacts per query: a first run at 1M contacts hands off ~200k at once, far past the
# number of bound parameters a statement may carry.
CONTEXT_CHUNK = 5_000
COLUMNS = [
        "contact_id",
        "email",
        "first_name",
        "last_name",
        "job_title",
        "lead_source",
        "company_name",
        "company_domain",
]
ACTIVITY_COLUMNS = ["contact_id", "source", "type", "detail", "at"]
# Stands for "no bound" when a contact has fewer events than the message shows.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


def read_handoff_context(
    conn: Connection, *, contact_ids: Sequence[int], as_of: datetime, latest: int
) -> HandoffContext:
    """Names, company, score breakdown and the latest events/activities of these contacts."""
    ids = sorted(set(contact_ids))
    parts = [
        _read_part(conn, part, as_of=as_of, latest=latest)
        for part in in_chunks(ids, CONTEXT_CHUNK)
    ]
    if not parts:
        return HandoffContext(
            contacts=pd.DataFrame(columns=COLUMNS),
            reasons={},
            activities=pd.DataFrame(columns=ACTIVITY_COLUMNS),
        )
    reasons: dict[int, list[dict[str, object]]] = {}
    for part in parts:
        reasons.update(part.reasons)
    return HandoffContext(
        contacts=pd.concat([part.contacts for part in parts], ignore_index=True),
        reasons=reasons,
        activities=pd.concat([part.activities for part in parts], ignore_index=True),
    )


def _read_part(
    conn: Connection, ids: Sequence[int], *, as_of: datetime, latest: int
) -> HandoffContext:
    contacts = frame(
        conn.execute(
            select(
                Contact.id,
                Contact.email,
                Contact.first_name,
                Contact.last_name,
                Contact.job_title,
                Contact.lead_source,
                Company.name,
                Company.domain,
            )
            .outerjoin(Company, Company.id == Contact.company_id)
            .where(Contact.id.in_(ids))
            .order_by(Contact.id)
        ).all(),
        COLUMNS,
    )
    latest_snapshot = (
        select(ScoreSnapshot.contact_id, func.max(ScoreSnapshot.as_of).label("snap_at"))
        .where(ScoreSnapshot.as_of <= as_of, ScoreSnapshot.contact_id.in_(ids))
        .group_by(ScoreSnapshot.contact_id)
        .subquery()
    )
    reasons: dict[int, list[dict[str, object]]] = {}
    for contact_id, breakdown in conn.execute(
        select(ScoreSnapshot.contact_id, ScoreSnapshot.breakdown).join(
            latest_snapshot,
            and_(
                latest_snapshot.c.contact_id == ScoreSnapshot.contact_id,
                latest_snapshot.c.snap_at == ScoreSnapshot.as_of,
            ),
        )
    ):
        signals = breakdown.get("signals", []) if isinstance(breakdown, dict) else []
        reasons[contact_id] = [s for s in signals if isinstance(s, dict)]

    # Each contact's `latest`-th newest event bounds the events worth ranking: a promoted
    # lead has ~100 events, and ranking all of them cost more than the rest of the read.
    # Ties at the bound are all kept, so the ranking below sees every possible winner.
    bound = (
        select(Event.occurred_at)
        .where(Event.contact_id == Contact.id, Event.occurred_at <= as_of)
        .order_by(Event.occurred_at.desc())
        .limit(1)
        .offset(max(latest, 1) - 1)
        .correlate(Contact)
        .scalar_subquery()
    )
    bounds = select(Contact.id.label("contact_id"), bound.label("since")).where(
        Contact.id.in_(ids)
    ).subquery()
    touches = union_all(
        select(
            Event.contact_id,
            literal("event").label("source"),
            Event.type,
            Event.detail,
            Event.occurred_at.label("at"),
        )
        .join(bounds, bounds.c.contact_id == Event.contact_id)
        .where(
            Event.occurred_at <= as_of,
            Event.occurred_at
            >= func.coalesce(bounds.c.since, literal(EARLIEST, Event.occurred_at.type)),
        ),
        select(
            Activity.contact_id,
            literal("activity").label("source"),
            Activity.type,
            Activity.outcome.label("detail"),
            Activity.occurred_at.label("at"),
        ).where(Activity.contact_id.in_(ids), Activity.occurred_at <= as_of),
    ).subquery()
    latest_first = (touches.c.at.desc(), touches.c.source, touches.c.type, touches.c.detail)
    ranked = select(
        touches,
        func.row_number()
        # Ties (an event and a call in the same second) fall in a fixed order, so the
        # message names the same touches however the rows were read.
        .over(partition_by=touches.c.contact_id, order_by=latest_first)
        .label("rank"),
    ).subquery()
    activity_rows = conn.execute(
        select(ranked.c.contact_id, ranked.c.source, ranked.c.type, ranked.c.detail, ranked.c.at)
        .where(ranked.c.rank <= latest)
        .order_by(ranked.c.contact_id, ranked.c.at.desc(), ranked.c.source, ranked.c.type,
                  ranked.c.detail)
    ).all()
    activities = frame(activity_rows, ACTIVITY_COLUMNS)
    return HandoffContext(contacts=contacts, reasons=reasons, activities=activities)
