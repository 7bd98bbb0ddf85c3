"""Hypothesis strategies: small random promotion inputs and recycling frames.

Values come from short lists and instants from a coarse grid around `AS_OF`, so ties
(same instant, same score as a threshold, same credit in the rotation), empty frames,
unknown contacts and rows that fail validation all turn up often.
"""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from hypothesis import strategies as st

from models.enums import ActivityOutcome
from tasks.promotion.decide import UNOWNED_COLUMNS, PromotionInputs
from tasks.promotion.read import (
    ASSIGNMENT_COLUMNS,
    CONTACT_COLUMNS,
    EVENT_COLUMNS,
    OWNER_COLUMNS,
)
from tasks.recycling.frames import (
    ACTIVITY_COLUMNS,
    DEAL_COLUMNS,
    STATUS_COLUMNS,
    RecyclingFrames,
)
from tasks.recycling.frames import CONTACT_COLUMNS as RECYCLING_CONTACT_COLUMNS
from tasks.recycling.frames import OWNER_COLUMNS as RECYCLING_OWNER_COLUMNS

AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")
STAGES = [None, "subscriber", "lead", "mql", "sql", "opportunity", "customer", "other",
          "lost_renurture"]
STATUSES = [None, "new", "attempting", "connected", "sales_ready", "retry", "recycle",
            "unqualified"]


def _at(*, days_before: int = 40, days_after: int = 2) -> st.SearchStrategy[datetime]:
    """An instant on a 6-hour grid around AS_OF, in UTC or Tokyo time."""
    hours = st.integers(-days_before * 4, days_after * 4).map(lambda q: timedelta(hours=6 * q))
    zone = st.sampled_from([UTC, TOKYO])
    return st.builds(lambda d, z: (AS_OF + d).astimezone(z), hours, zone)


def _instant(*, days_before: int = 40, days_after: int = 2) -> st.SearchStrategy[Any]:
    """None or an instant of `_at`."""
    return st.one_of(st.none(), _at(days_before=days_before, days_after=days_after))


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


@st.composite
def promotion_worlds(draw: st.DrawFn) -> PromotionInputs:
    """Candidates, events, owners, history and late candidates of one promotion hour."""
    ids = draw(st.lists(st.integers(1, 30), min_size=2, max_size=18, unique=True))
    emails = st.sampled_from([
        "a@example.com", "b@competitor.example", "c@sub.competitor.example",
        "d@COMPETITOR.example ", "e@notcompetitor.example", "f@x@competitor.example",
        "g@buyer.co.jp",
    ])
    sources = st.sampled_from([None, "web", " Trade_Show ", "referral", "seminar"])
    scores = st.one_of(st.none(), st.sampled_from([0.0, 10.0, 49.5, 50.0, 60.0, 69.9, 70.0,
                                                   80.0, 100.0]))
    contacts = []
    for cid in ids:
        contacts.append({
            "contact_id": cid,
            "email": draw(st.sampled_from([draw(emails)] * 15 + ["no-at-sign"])),
            "company_id": 1,
            "lifecycle_stage": draw(st.sampled_from(STAGES)),
            "lead_status": None,
            "owner_id": draw(st.one_of(st.none(), st.integers(1, 7))),
            "lead_source": draw(sources),
            "hot_at": draw(st.one_of(st.none(), _instant())) if draw(st.booleans()) else None,
            "score": draw(st.sampled_from([draw(scores)] * 20 + [250.0])),
            "last_stage_at": draw(_instant(days_before=60, days_after=0)),
            "last_stage_kind": draw(st.sampled_from([None, "forward", "recycle", "renurture"])),
            "last_stage_rule": draw(st.sampled_from([None, "mql_score",
                                                     "lead_status:sales_ready"])),
            "awaiting_reengagement": draw(st.sampled_from([None, True, False])),
        })
    event_ids = st.sampled_from([*ids, 99]) if ids else st.just(99)
    events = draw(st.lists(st.fixed_dictionaries({
        "contact_id": event_ids,
        "type": st.sampled_from(["form_submit", "form_submit", "page_view"]),
        "detail": st.sampled_from(["demo_request", "document_download", "service", "contact"]),
        "occurred_at": _at(days_before=40, days_after=0),
    }), max_size=30))
    # Some contacts walk the sequence rule's path: a download, then service pages.
    for cid in draw(st.lists(st.sampled_from(ids), max_size=4, unique=True)) if ids else []:
        start = draw(_at(days_before=30, days_after=0))
        events.append({"contact_id": cid, "type": "form_submit",
                       "detail": "document_download", "occurred_at": start})
        for step in draw(st.lists(st.integers(-2, 60), min_size=1, max_size=3)):
            events.append({"contact_id": cid, "type": "page_view", "detail": "service",
                           "occurred_at": start + timedelta(hours=6 * step)})
    owners = [
        {"owner_id": oid, "name": f"O{oid}", "email": f"o{oid}@example.com",
         "team": draw(st.sampled_from(["is", "fs", "is", "fs", "cs"])),
         "active": draw(st.sampled_from([True, True, False])),
         "weight": draw(st.sampled_from([1.0, 2.0, 0.5, 3.0, 0.0])), "slack_user_id": None}
        for oid in draw(st.lists(st.integers(1, 7), max_size=6, unique=True))
    ]
    history = draw(st.lists(st.fixed_dictionaries({
        "contact_id": st.integers(1, 30), "owner_id": st.integers(1, 8),
        "team": st.sampled_from(["is", "fs", "cs"]), "at": st.just(AS_OF),
    }), max_size=10))
    unowned = []
    for cid in draw(st.lists(st.integers(1, 40), max_size=8, unique=True)):
        unowned.append({
            "contact_id": cid, "email": draw(emails),
            "lifecycle_stage": draw(st.sampled_from(["mql", "sql", "lead"])),
            "owner_id": draw(st.one_of(st.none(), st.integers(1, 8))),
            "lead_source": draw(sources), "hot_at": None, "score": draw(scores),
            "last_stage_at": draw(_instant(days_before=20, days_after=0)),
            "last_stage_rule": draw(st.sampled_from([None, "mql_score",
                                                     "lead_status:sales_ready"])),
        })
    return PromotionInputs(
        as_of=AS_OF,
        contacts=_frame(contacts, CONTACT_COLUMNS),
        events=_frame(events, EVENT_COLUMNS),
        owners=_frame(owners, OWNER_COLUMNS),
        assignments=_frame(history, ASSIGNMENT_COLUMNS),
        unowned=_frame(unowned, UNOWNED_COLUMNS),
    )


@st.composite
def recycling_worlds(draw: st.DrawFn) -> RecyclingFrames:
    """Candidates, touches, status history, deals and owners of one recycling hour."""
    ids = draw(st.lists(st.integers(1, 25), min_size=2, max_size=15, unique=True))
    contacts = [
        {
            "contact_id": cid,
            "email": draw(st.sampled_from([f"c{cid}@example.com"] * 20 + ["broken"])),
            "first_name": "花子", "last_name": "山田", "company_name": "Acme",
            "lifecycle_stage": draw(st.sampled_from(STAGES)),
            "lead_status": draw(st.sampled_from(STATUSES)),
            "owner_id": draw(st.one_of(st.none(), st.integers(1, 5))),
            "last_stage_at": draw(_instant(days_before=30, days_after=0)),
            "handoff_at": draw(_instant(days_before=30, days_after=0)),
            "renurtured_at": draw(_instant(days_before=30, days_after=0)),
        }
        for cid in ids
    ]
    of_contact = st.sampled_from([*ids, 77]) if ids else st.just(77)
    activities = draw(st.lists(st.fixed_dictionaries({
        "contact_id": of_contact,
        "outcome": st.sampled_from([o.value for o in ActivityOutcome]),
        "occurred_at": _at(days_before=30, days_after=1),
    }), max_size=40))
    statuses = draw(st.lists(st.fixed_dictionaries({
        "contact_id": of_contact,
        "to_status": st.sampled_from([s for s in STATUSES if s is not None]),
        "at": _at(days_before=30, days_after=1),
        "reason": st.sampled_from([None, "", "  ", " budget ", "timing"]),
        "retry_at": _instant(days_before=2, days_after=2),
    }), max_size=12))
    # The status each contact holds, set by its own history row most of the time.
    for row in contacts:
        if row["lead_status"] is not None and draw(st.sampled_from([True, True, False])):
            statuses.append({
                "contact_id": row["contact_id"], "to_status": row["lead_status"],
                "at": draw(_at(days_before=20, days_after=0)),
                "reason": draw(st.sampled_from([None, "", " budget ", "timing"])),
                "retry_at": draw(st.sampled_from([
                    AS_OF, AS_OF - timedelta(hours=6), AS_OF - timedelta(hours=13),
                    AS_OF + timedelta(hours=3), (AS_OF - timedelta(days=1)).astimezone(TOKYO),
                    None,
                ])),
            })
    deal_ids = draw(st.lists(st.integers(1, 50), max_size=8, unique=True))
    deals = [
        {
            "deal_id": did, "contact_id": draw(of_contact),
            "stage": draw(st.sampled_from(["lost", " ClosedLost ", "won", "paperwork"])),
            "closed_at": draw(_at(days_before=30, days_after=2)),
            "lost_reason": draw(st.sampled_from([None, "", "price", " competitor "])),
        }
        for did in deal_ids
    ]
    owners = [
        {"owner_id": oid, "name": f"O{oid}",
         "email": draw(st.sampled_from([f"o{oid}@example.com"] * 12 + ["broken"])),
         "slack_user_id": None}
        for oid in range(1, 6)
    ]
    return RecyclingFrames(
        contacts=_frame(contacts, RECYCLING_CONTACT_COLUMNS),
        activities=_frame(activities, ACTIVITY_COLUMNS),
        statuses=_frame(statuses, STATUS_COLUMNS),
        deals=_frame(deals, DEAL_COLUMNS),
        owners=_frame(owners, RECYCLING_OWNER_COLUMNS),
    )
