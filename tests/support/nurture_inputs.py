"""Synthetic nurture frames at any size, for benchmarks of `decide_nurture`.

`nurture_frames(enrolled)` builds what `read_nurture_frames` would return in a steady
hour: `enrolled` contacts with one active enrollment each (in every program of the
default rules, at every step, most waiting for a later hour, a few due now, some held
by the send window or the frequency cap), their past sends and opens/clicks, completed
earlier enrollments, replies, suppressions, consent withdrawals, foreign time zones, and
a small set of new candidates (fresh leads, downloads, webinar visits, lost deals,
recycled and low-score leads). Seeded: the same arguments give the same frames.
"""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from models.nurture_rules import NurtureRules
from tasks.nurture.decide import (
    ACTIVITY_COLUMNS,
    CONTACT_COLUMNS,
    ENROLLMENT_COLUMNS,
    EVENT_COLUMNS,
    SEND_COLUMNS,
    SNAPSHOT_COLUMNS,
    STAGE_ENTRY_COLUMNS,
    SUPPRESSION_COLUMNS,
    NurtureFrames,
    email_id,
    enrollment_key,
)

# Tuesday 2026-12-08 11:00 in Tokyo: inside the send window.
AS_OF = datetime(2026, 12, 8, 2, tzinfo=UTC)
ZONES = [None, "Asia/Tokyo", "America/New_York", "Europe/London", "Not/AZone"]


def _stamps(rng: np.random.Generator, n: int, *, start: datetime, hours: float) -> pd.Series:
    """`n` instants uniformly in [start, start + hours), whole minutes, UTC."""
    minutes = rng.integers(0, max(1, int(hours * 60)), size=n)
    return pd.Series(pd.Timestamp(start) + pd.to_timedelta(minutes, unit="min"))


def nurture_frames(
    enrolled: int,
    *,
    rules: NurtureRules,
    seed: int = 13,
    as_of: datetime = AS_OF,
    due_share: float = 0.01,
    candidate_share: float = 0.05,
) -> NurtureFrames:
    """A steady nurture hour: `enrolled` active enrollments plus new candidates."""
    rng = np.random.default_rng(seed)
    n = enrolled
    m = max(1, int(n * candidate_share))
    total = n + m
    ids = np.arange(1, total + 1, dtype=np.int64)
    stage = rng.choice(["lead", "subscriber", "mql", "lost_renurture"], size=total,
                       p=[0.85, 0.1, 0.03, 0.02])
    score = pd.Series(rng.integers(0, 80, size=total), dtype="float64").mask(
        rng.random(total) < 0.2
    )
    created = _stamps(rng, total, start=as_of - timedelta(days=300), hours=300 * 24)
    fresh = rng.random(total) < 0.5
    created = created.mask(
        (ids > n) & fresh, _stamps(rng, total, start=as_of - timedelta(days=8), hours=8 * 24)
    )
    zone_choice = rng.choice(len(ZONES), size=total, p=[0.7, 0.15, 0.08, 0.05, 0.02])
    contacts = pd.DataFrame({
        "contact_id": ids,
        "email": [f"c{i}@example.co.jp" for i in ids],
        "first_name": "太郎",
        "last_name": "山田",
        "company_name": pd.Series(["Acme"] * total, dtype=object).mask(rng.random(total) < 0.3),
        "consent": rng.random(total) > 0.02,
        "timezone": [ZONES[z] for z in zone_choice],
        "lifecycle_stage": stage,
        "score": score,
        "created_at": created,
        "updated_at": created + pd.Timedelta(days=1),
    })[CONTACT_COLUMNS]

    programs = rules.programs
    prog_index = rng.integers(0, len(programs), size=n)
    rows: list[dict[str, object]] = []
    sends: list[dict[str, object]] = []
    events: list[dict[str, object]] = []
    entered_all = _stamps(rng, n, start=as_of - timedelta(days=25), hours=24 * 24)
    due = rng.random(n) < due_share
    ahead = _stamps(rng, n, start=as_of + timedelta(hours=1), hours=14 * 24)
    for i in range(n):
        program = programs[prog_index[i]]
        stoppable = [s.id for s in program.steps if s.wait is None]
        step = stoppable[rng.integers(0, len(stoppable))]
        contact_id = int(ids[i])
        entered = entered_all[i].to_pydatetime().replace(second=0, microsecond=0)
        key = enrollment_key(program.name, contact_id, entered)
        next_at = as_of - timedelta(minutes=int(rng.integers(0, 90))) if due[i] else ahead[i]
        # Past sends: every send step listed before the current one went out.
        position = [s.id for s in program.steps].index(step)
        when = entered
        for earlier in program.steps[:position]:
            if earlier.send is None:
                continue
            when = when + timedelta(hours=int(rng.integers(1, 48)))
            failed = rng.random() < 0.005
            sends.append({
                "email_id": email_id(key, earlier.id),
                "enrollment_key": key,
                "contact_id": contact_id,
                "step": earlier.id,
                "queued_at": when,
                "status": "failed" if failed else "sent",
                "sent_at": None if failed else when,
                "last_error": ("550 5.1.1 no such user" if rng.random() < 0.5 else "timeout")
                if failed else None,
            })
            roll = rng.random()
            if roll < 0.3:
                events.append({
                    "contact_id": contact_id,
                    "type": "email_open" if roll < 0.2 else "email_click",
                    "detail": email_id(key, earlier.id),
                    "occurred_at": when + timedelta(hours=int(rng.integers(1, 60))),
                })
        if due[i] and program.step(step).send is not None and rng.random() < 0.2:
            sends.append({
                "email_id": email_id(key, step), "enrollment_key": key,
                "contact_id": contact_id, "step": step, "queued_at": next_at,
                "status": rng.choice(["pending", "sent"]), "sent_at": next_at,
                "last_error": None,
            })
        rows.append({
            "enrollment_key": key, "contact_id": contact_id, "program": program.name,
            "step": step, "status": "active", "entered_at": entered, "next_step_at": next_at,
            "last_sent_at": when if when != entered else None, "exit_reason": None,
        })
    done = rng.choice(ids, size=max(1, total // 10), replace=False)
    for contact_id in done:
        program = programs[int(rng.integers(0, len(programs)))]
        entered = (as_of - timedelta(days=int(rng.integers(30, 400)))).replace(minute=0)
        rows.append({
            "enrollment_key": enrollment_key(program.name, int(contact_id), entered),
            "contact_id": int(contact_id), "program": program.name, "step": None,
            "status": rng.choice(["completed", "exited"]), "entered_at": entered,
            "next_step_at": None, "last_sent_at": None, "exit_reason": None,
        })
    k = m
    new_ids = ids[n:]
    events.extend({
        "contact_id": int(c),
        "type": t,
        "detail": d,
        "occurred_at": as_of - timedelta(minutes=int(rng.integers(0, 5 * 24 * 60))),
    } for c, t, d in zip(
        rng.choice(new_ids, size=k),
        rng.choice(["form_submit", "webinar_attended", "page_view"], size=k),
        rng.choice(np.array(["document_download", "contact", None], dtype=object), size=k),
        strict=True,
    ))
    stage_entries = pd.DataFrame({
        "contact_id": rng.choice(ids, size=max(1, total // 50)),
        "to_stage": rng.choice(["lead", "lost_renurture"], size=max(1, total // 50)),
        "at": _stamps(rng, max(1, total // 50), start=as_of - timedelta(days=20), hours=20 * 24),
        "kind": rng.choice(["forward", "recycle", "renurture"], size=max(1, total // 50)),
    })
    a = max(1, n // 100)
    activities = pd.DataFrame({
        "contact_id": rng.choice(ids[:n], size=a),
        "outcome": rng.choice(["replied", "meeting_booked"], size=a),
        "occurred_at": _stamps(rng, a, start=as_of - timedelta(days=30), hours=31 * 24),
    })
    s = max(1, total // 100)
    suppressions = pd.DataFrame({
        "contact_id": rng.choice(ids, size=s, replace=False),
        "reason": rng.choice(["unsubscribed", "bounced", "complaint"], size=s),
        "created_at": _stamps(rng, s, start=as_of - timedelta(days=60), hours=61 * 24),
    })
    low = rng.choice(ids, size=max(1, total // 20))
    snapshots = pd.DataFrame({
        "contact_id": np.concatenate([low, low]),
        "as_of": pd.concat([
            _stamps(rng, len(low), start=as_of - timedelta(days=120), hours=50 * 24),
            _stamps(rng, len(low), start=as_of - timedelta(days=50), hours=50 * 24),
        ], ignore_index=True),
        "score": rng.integers(0, 50, size=2 * len(low)),
    })
    return NurtureFrames(
        contacts=contacts,
        enrollments=pd.DataFrame(rows, columns=ENROLLMENT_COLUMNS),
        sends=pd.DataFrame(sends, columns=SEND_COLUMNS),
        events=pd.DataFrame(events, columns=EVENT_COLUMNS),
        activities=activities[ACTIVITY_COLUMNS],
        stage_entries=stage_entries[STAGE_ENTRY_COLUMNS],
        suppressions=suppressions[SUPPRESSION_COLUMNS],
        snapshots=snapshots[SNAPSHOT_COLUMNS],
    )
