"""`add_hourly_activity`: one more hour of behaviour, for benchmarks of a steady hour."""

from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.synthetic.calendars import _email_calendar
from app.synthetic.dataset import HourlyActivity
from app.synthetic.events import _draw_by_tier, _pick_scheduled
from app.synthetic.vocab import (
    _CLICK,
    _DAY_S,
    _FORM,
    _FORM_P,
    _HOUR_S,
    _OPEN,
    _PAGE,
    _PAGE_P,
    _SHOW,
    _TYPE_P,
    _WEBINAR,
    EVENT_TYPES,
)
from models.enums import FORM_KINDS, PAGE_CATEGORIES
from models.tables import Contact, Event

# Contacts active in a given hour skew engaged compared with the whole base.
_HOURLY_TIER_P = (0.60, 0.28, 0.12)


def add_hourly_activity(engine: Engine, *, share: float, at: datetime, seed: int) -> HourlyActivity:
    """Append events for `share` of the contacts, inside the hour before `at`.

    Only contacts created by `at` take part; each gets one or more events (page views,
    email opens and clicks of recent emails, forms), ingested at `at`. Source ids derive
    from `seed` and `at`, so repeating the same call adds nothing.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError("share must be between 0 and 1")
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    at = at.astimezone(UTC)
    at_s = int(at.timestamp())
    rng = np.random.default_rng([seed, at_s])
    with engine.connect() as conn:
        ids = np.asarray(
            conn.execute(select(Contact.id).where(Contact.created_at <= at)).scalars().all(),
            dtype=np.int64,
        )
    chosen_count = min(len(ids), round(share * len(ids)))
    if chosen_count == 0:
        return HourlyActivity(contacts=0, events=0)
    chosen = np.sort(rng.choice(ids, size=chosen_count, replace=False))
    per_contact = rng.geometric(0.4, chosen_count)
    contact = np.repeat(chosen, per_contact)
    tier = np.repeat(rng.choice(3, size=chosen_count, p=_HOURLY_TIER_P), per_contact).astype(
        np.int8
    )
    kind = _draw_by_tier(rng, _TYPE_P, tier)
    # Webinars and shows happen on their own calendar, not in an arbitrary hour.
    kind[(kind == _WEBINAR) | (kind == _SHOW)] = _PAGE
    emails = _email_calendar(at_s - 21 * _DAY_S, at_s)
    if not len(emails.at):
        kind[(kind == _OPEN) | (kind == _CLICK)] = _PAGE
    page = _draw_by_tier(rng, _PAGE_P, tier)
    form = _draw_by_tier(rng, _FORM_P, tier)
    email, _ = _pick_scheduled(
        rng, emails, np.full(len(kind), at_s - 21 * _DAY_S), np.full(len(kind), 2.0)
    )
    occurred = at_s - rng.integers(0, _HOUR_S, len(kind))
    prefix = f"syn{seed}-h{at:%Y%m%dT%H%M}-"
    rows: list[dict[str, Any]] = []
    for n in range(len(kind)):
        code = int(kind[n])
        if code == _PAGE:
            detail = PAGE_CATEGORIES[page[n]]
        elif code == _FORM:
            detail = FORM_KINDS[form[n]]
        else:
            detail = emails.ids[email[n]]
        rows.append(
            {
                "source_event_id": f"{prefix}{n:06d}",
                "contact_id": int(contact[n]),
                "type": EVENT_TYPES[code],
                "detail": detail,
                "occurred_at": datetime.fromtimestamp(int(occurred[n]), UTC),
                "ingested_at": at,
            }
        )
    events_t = Event.__table__
    assert isinstance(events_t, Table)
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(events_t)
        .on_conflict_do_nothing(index_elements=["source_event_id"])
        .returning(events_t.c.id)
    )
    # RETURNING counts what was really added; executemany rowcounts differ by driver.
    with engine.begin() as conn:
        inserted = len(conn.execute(statement, rows).all())
    return HourlyActivity(contacts=chosen_count, events=inserted)
