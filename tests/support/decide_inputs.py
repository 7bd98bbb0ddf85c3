"""Synthetic decide inputs for promotion and recycling, at any size (for benchmarks).

`promotion_inputs` builds what `read_promotion_inputs` would return on a first full run:
candidates in the movable stages, `mql_share` of them at or above the MQL line, form
events (demo requests, competitor forms, downloads, service pages), owners of two
teams, an assignment history and late-assignment candidates. `recycling_frames` builds
what `read_recycling_frames` would return: leads with sales in every status, their
call outcomes, status history, lost deals and owners. Seeded: the same arguments give
the same frames.
"""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from tasks.promotion.decide import UNOWNED_COLUMNS, PromotionInputs
from tasks.promotion.read import ASSIGNMENT_COLUMNS, CONTACT_COLUMNS, OWNER_COLUMNS
from tasks.recycling.frames import (
    ACTIVITY_COLUMNS,
    DEAL_COLUMNS,
    STATUS_COLUMNS,
    RecyclingFrames,
)
from tasks.recycling.frames import CONTACT_COLUMNS as RECYCLING_CONTACT_COLUMNS
from tasks.recycling.frames import OWNER_COLUMNS as RECYCLING_OWNER_COLUMNS

AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)


def _instants(rng: np.random.Generator, n: int, *, days: float, as_of: datetime) -> pd.Series:
    """`n` aware instants within `days` before `as_of`, to the second."""
    seconds = rng.integers(1, int(days * 86400), size=n)
    return pd.Series(pd.Timestamp(as_of) - pd.to_timedelta(seconds, unit="s"))


def _owners(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for owner_id in range(1, 21):
        team = "is" if owner_id <= 12 else "fs"
        rows.append((owner_id, f"Owner {owner_id}", f"o{owner_id}@example.com", team,
                     owner_id % 7 != 0, float(rng.choice([1.0, 1.0, 2.0, 0.5])),
                     f"U{owner_id:08d}"))
    return pd.DataFrame(rows, columns=OWNER_COLUMNS)


def promotion_inputs(
    contacts: int, *, mql_share: float = 0.2, seed: int = 7, as_of: datetime = AS_OF
) -> PromotionInputs:
    """A first full promotion run's inputs with `contacts` candidates."""
    rng = np.random.default_rng(seed)
    n = contacts
    ids = np.arange(1, n + 1, dtype=np.int64)
    stage = rng.choice(np.array(["subscriber", "lead", "mql", "sql", None], dtype=object), size=n,
                       p=[0.15, 0.7, 0.08, 0.05, 0.02])
    domains = rng.choice(["example.com", "competitor.example", "sub.competitor.example",
                          "buyer.co.jp", "nodomain"], size=n, p=[0.6, 0.02, 0.01, 0.36, 0.01])
    emails = [f"c{i}@{d}" if d != "nodomain" else f"c{i}@" for i, d in zip(ids, domains,
                                                                          strict=True)]
    high = rng.random(n) < mql_share
    score = np.where(high, rng.integers(60, 101, size=n), rng.integers(0, 60, size=n))
    score_series = pd.Series(score, dtype="Float64").mask(rng.random(n) < 0.03)
    owner = pd.Series(rng.integers(1, 21, size=n), dtype="Int64").mask(rng.random(n) < 0.6)
    source = pd.Series(rng.choice(["web", "Trade Show", "referral", "seminar"], size=n)).mask(
        rng.random(n) < 0.2
    )
    hot_at = _instants(rng, n, days=30, as_of=as_of).mask(rng.random(n) > 0.05)
    last_at = _instants(rng, n, days=120, as_of=as_of).mask(rng.random(n) < 0.3)
    kind = pd.Series(rng.choice(["forward", "recycle", "renurture", "disqualify"], size=n,
                                p=[0.8, 0.1, 0.07, 0.03])).where(last_at.notna())
    rule = pd.Series(rng.choice(["mql_score", "lead_status:sales_ready", "demo_request"],
                                size=n, p=[0.6, 0.3, 0.1])).where(last_at.notna())
    awaiting = pd.Series(rng.random(n) < 0.05).where(last_at.notna())
    frame = pd.DataFrame({
        "contact_id": ids,
        "email": emails,
        "company_id": rng.integers(1, max(2, n // 3), size=n),
        "lifecycle_stage": stage,
        "lead_status": None,
        "owner_id": owner,
        "lead_source": source,
        "hot_at": hot_at,
        "score": score_series,
        "last_stage_at": last_at,
        "last_stage_kind": kind,
        "last_stage_rule": rule,
        "awaiting_reengagement": awaiting,
    })[CONTACT_COLUMNS]
    m = n * 2
    events = pd.DataFrame({
        "contact_id": rng.integers(1, n + 1, size=m),
        "type": rng.choice(["form_submit", "page_view"], size=m, p=[0.6, 0.4]),
        "detail": rng.choice(["demo_request", "document_download", "contact", "service"],
                             size=m, p=[0.05, 0.3, 0.25, 0.4]),
        "occurred_at": _instants(rng, m, days=60, as_of=as_of),
    })
    owners = _owners(rng)
    k = max(1, n // 20)
    history = pd.DataFrame({
        "contact_id": rng.integers(1, n + 1, size=k),
        "owner_id": rng.integers(1, 21, size=k),
        "at": _instants(rng, k, days=300, as_of=as_of).sort_values().to_numpy(),
    })
    history["team"] = np.where(history["owner_id"] <= 12, "is", "fs")
    late_ids = rng.choice(ids, size=max(1, n // 50), replace=False)
    unowned = frame[frame["contact_id"].isin(late_ids)].copy()
    unowned["lifecycle_stage"] = rng.choice(["mql", "sql", "lead"], size=len(unowned))
    unowned["owner_id"] = unowned["owner_id"].mask(rng.random(len(unowned)) < 0.5)
    unowned["last_stage_at"] = _instants(rng, len(unowned), days=20, as_of=as_of).to_numpy()
    return PromotionInputs(
        as_of=as_of, contacts=frame, events=events, owners=owners,
        assignments=history[ASSIGNMENT_COLUMNS], unowned=unowned[UNOWNED_COLUMNS],
    )


def recycling_frames(contacts: int, *, seed: int = 7, as_of: datetime = AS_OF) -> RecyclingFrames:
    """A recycling hour's frames with `contacts` candidates."""
    rng = np.random.default_rng(seed)
    n = contacts
    ids = np.arange(1, n + 1, dtype=np.int64)
    stages = np.array(["mql", "sql", "lead", "customer", "lost_renurture", "other", None],
                      dtype=object)
    stage = rng.choice(stages, size=n, p=[0.45, 0.25, 0.1, 0.05, 0.05, 0.05, 0.05])
    status = rng.choice(np.array(["new", "attempting", "connected", "retry", "recycle",
                                  "unqualified", "sales_ready", None], dtype=object), size=n,
                        p=[0.2, 0.3, 0.1, 0.15, 0.1, 0.08, 0.04, 0.03])
    handoff = _instants(rng, n, days=60, as_of=as_of).mask(rng.random(n) < 0.1)
    last_stage = handoff.where(rng.random(n) < 0.7, _instants(rng, n, days=90, as_of=as_of))
    frame = pd.DataFrame({
        "contact_id": ids,
        "email": [f"c{i}@example.com" for i in ids],
        "first_name": "花子",
        "last_name": "山田",
        "company_name": pd.Series(["Acme"] * n).mask(rng.random(n) < 0.3),
        "lifecycle_stage": stage,
        "lead_status": status,
        "owner_id": pd.Series(rng.integers(1, 21, size=n), dtype="Int64").mask(
            rng.random(n) < 0.1
        ),
        "last_stage_at": last_stage.mask(rng.random(n) < 0.05),
        "handoff_at": handoff,
        "renurtured_at": _instants(rng, n, days=200, as_of=as_of).mask(rng.random(n) < 0.9),
    })[RECYCLING_CONTACT_COLUMNS]
    m = n * 3
    activities = pd.DataFrame({
        "contact_id": rng.integers(1, n + 1, size=m),
        "outcome": rng.choice(["no_answer", "voicemail", "connected", "replied", "bad_timing"],
                              size=m, p=[0.45, 0.25, 0.1, 0.1, 0.1]),
        "occurred_at": _instants(rng, m, days=70, as_of=as_of + timedelta(days=1)),
    })[ACTIVITY_COLUMNS]
    s = n * 2
    at = _instants(rng, s, days=60, as_of=as_of)
    # Retry dates around today, so some fall due this hour.
    retry = (at + pd.to_timedelta(rng.integers(3600, 40 * 86400, size=s), unit="s")).where(
        rng.random(s) < 0.5
    )
    retry = retry.where(rng.random(s) < 0.7, pd.Timestamp(as_of) - pd.to_timedelta(
        rng.integers(0, 3 * 3600, size=s), unit="s"))
    statuses = pd.DataFrame({
        "contact_id": rng.integers(1, n + 1, size=s),
        "to_status": rng.choice(["new", "attempting", "retry", "recycle", "unqualified"],
                                size=s),
        "at": at,
        "reason": pd.Series(rng.choice(["budget", " ", "timing", "no need"], size=s)).mask(
            rng.random(s) < 0.3
        ),
        "retry_at": retry,
    })[STATUS_COLUMNS]
    d = max(1, n // 10)
    deals = pd.DataFrame({
        "deal_id": np.arange(1, d + 1),
        "contact_id": pd.Series(rng.integers(1, n + 1, size=d), dtype="Int64").mask(
            rng.random(d) < 0.05
        ),
        "stage": rng.choice(["lost", "Closedlost", "won"], size=d, p=[0.6, 0.3, 0.1]),
        "closed_at": _instants(rng, d, days=90, as_of=as_of + timedelta(days=2)),
        "lost_reason": pd.Series(rng.choice(["price", "", "competitor"], size=d)).mask(
            rng.random(d) < 0.3
        ),
    })[DEAL_COLUMNS]
    owners = _owners(rng)[RECYCLING_OWNER_COLUMNS]
    return RecyclingFrames(contacts=frame, activities=activities, statuses=statuses,
                           deals=deals, owners=owners)
