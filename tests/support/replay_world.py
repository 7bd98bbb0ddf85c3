"""Small worlds for replay tests: seeded once, then replayed hour by hour.

`seed_two_days` sets up a world in which 48 hours (Monday and Tuesday, 16–17 November
2026 in Tokyo) hold every kind of work the cycle does: scoring, MQL promotion and the
hand-off, an SQL hand-raise, nurture sends after a wait and on both sides of a branch,
SLA escalations, an unreachable lead recycled into nurture, and a lost deal re-nurtured.
`seed_outage_world` sets up the hours before, during and after a 12-hour outage of the
schedule. `rules_open_all_week` writes the default rules with a send window that never
closes, for tests whose sends happen at the (unpredictable) real time.
`tests.support.replay_state` reads what replayed hours left behind.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import Engine, insert

from leadflow.db import ensure_database
from leadflow.paths import DEFAULT_RULES_PATH
from models.tables import EmailSend, NurtureEnrollment, Outbox
from tasks.nurture.decide import email_id, enrollment_key
from tests.support.seeding import Seeder

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
JST_OFFSET = timedelta(hours=9)

# Monday 2026-11-16 00:00 in Tokyo: the first of the 48 hours of `seed_two_days`.
TWO_DAYS_START = datetime(2026, 11, 16, tzinfo=UTC) - JST_OFFSET
TWO_DAYS_END = TWO_DAYS_START + 47 * HOUR


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant given as November 2026, Tokyo time, returned in UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - JST_OFFSET


def owners(seed: Seeder) -> dict[str, int]:
    """Two inside-sales owners (with a manager), a field-sales and a marketing owner."""
    found = {
        "is": seed.owner(email="is@example.com", name="IS", team="is", slack_user_id="UIS"),
        "is2": seed.owner(email="is2@example.com", name="IS2", team="is", slack_user_id="UIS2"),
        "fs": seed.owner(email="fs@example.com", name="FS", team="fs", slack_user_id="UFS"),
        "marketing": seed.owner(email="mkt@example.com", name="MKT", team="marketing"),
    }
    seed.owner_manager(found["is"], "boss@example.com")
    seed.owner_manager(found["is2"], "boss@example.com")
    return found


def seed_nurture_progress(
    engine: Engine,
    *,
    contact_id: int,
    program: str,
    entered_at: datetime,
    sent: dict[str, datetime],
    step: str,
    next_step_at: datetime,
    to: str,
) -> str:
    """An enrollment as earlier nurture hours left it: `sent` steps delivered at their
    times, now waiting on `step` until `next_step_at`; returns the enrollment key."""
    key = enrollment_key(program, contact_id, entered_at)
    last_sent = max(sent.values())
    with engine.begin() as conn:
        conn.execute(insert(NurtureEnrollment).values(
            enrollment_key=key, contact_id=contact_id, program=program, step=step,
            status="active", entered_at=entered_at, next_step_at=next_step_at,
            last_sent_at=last_sent, updated_at=last_sent,
        ))
        for sent_step, at in sent.items():
            mail = email_id(key, sent_step)
            conn.execute(insert(EmailSend).values(
                email_id=mail, enrollment_key=key, contact_id=contact_id, program=program,
                step=sent_step, template=f"{program}/{sent_step}", locale="ja", queued_at=at,
            ))
            conn.execute(insert(Outbox).values(
                idempotency_key=mail, channel="email", kind="nurture_email",
                contact_id=contact_id, status="sent", attempts=1, not_before=at,
                created_at=at, sent_at=at,
                payload={"email_id": mail, "to": to, "program": program, "step": sent_step,
                         "template": f"{program}/{sent_step}", "locale": "ja"},
            ))
    return key


def seed_two_days(url: str) -> dict[str, int]:
    """The world of the 48 hours from TWO_DAYS_START; returns the contacts' ids by role.

    - `hot`: a manager at a mid-size manufacturer whose pricing view, download and webinar
      on Monday morning make it an MQL at 12:00 (nurture's download mail first, then the
      exit); nobody touches it, so the SLA ladders fire;
    - `downloader`: downloads a document on Monday at 10:30: the step mail's first email
      at 11:00, the second after the one-day wait;
    - `opener` / `ignorer`: new-lead enrollments whose open check comes due on Monday
      15:00; the first opened email 2, the second did not (both sides of the branch);
    - `unreachable`: an MQL from the first hour; three unanswered calls on Monday recycle
      it to marketing, and the recycled program mails it;
    - `lost`: an opportunity whose deal is lost on Tuesday 09:30: lost-deal re-nurture;
    - `demo`: asks for a demo on Tuesday 14:20: straight to SQL and field sales.
    """
    engine = ensure_database(url)
    seed = Seeder(engine, created_at=datetime(2026, 10, 1, tzinfo=UTC))
    owner = owners(seed)
    people: dict[str, int] = {}
    people["hot"] = seed.contact(
        email="hot@example.co.jp", last_name="山田", first_name="太郎", job_title="部長",
        employee_count=300, industry="manufacturing", lead_source="webinar", consent=True,
    )
    for at, (type_, detail) in zip(
        (tokyo(16, 9, 10), tokyo(16, 10, 10), tokyo(16, 11, 10)),
        [("page_view", "pricing"), ("form_submit", "document_download"),
         ("webinar_attended", "wb-1")],
        strict=True,
    ):
        seed.event(contact_id=people["hot"], type=type_, detail=detail, occurred_at=at)

    people["downloader"] = seed.contact(email="dl@example.co.jp", consent=True)
    seed.event(contact_id=people["downloader"], type="form_submit",
               detail="document_download", occurred_at=tokyo(16, 10, 30))

    email_1, email_2 = tokyo(4, 15), tokyo(9, 15)
    keys = {}
    for role in ("opener", "ignorer"):
        people[role] = seed.contact(email=f"{role}@example.co.jp", consent=True,
                                    created_at=tokyo(4, 14))
        keys[role] = seed_nurture_progress(
            engine, contact_id=people[role], program="new_lead", entered_at=tokyo(4, 15),
            sent={"email_1": email_1, "email_2": email_2}, step="opened_email_2",
            next_step_at=email_2 + 7 * DAY, to=f"{role}@example.co.jp",
        )
    seed.event(contact_id=people["opener"], type="email_open",
               detail=email_id(keys["opener"], "email_2"), occurred_at=tokyo(10, 8))

    people["unreachable"] = seed.contact(
        email="far@example.co.jp", job_title="課長", employee_count=80, industry="it",
        consent=True,
    )
    for days_before, detail in ((5, "ts-1"), (4, "ts-2"), (3, "ts-3")):
        seed.event(contact_id=people["unreachable"], type="trade_show_visit", detail=detail,
                   occurred_at=TWO_DAYS_START - days_before * DAY)
    seed.event(contact_id=people["unreachable"], type="page_view", detail="case_study",
               occurred_at=TWO_DAYS_START - 2 * DAY)
    for at in (tokyo(16, 10, 5), tokyo(16, 13, 5), tokyo(16, 16, 5)):
        seed.activity(contact_id=people["unreachable"], type="call", outcome="no_answer",
                      occurred_at=at)

    people["lost"] = seed.contact(email="lost@example.co.jp", consent=True,
                                  lifecycle_stage="opportunity", owner_id=owner["fs"])
    seed.stage_change(contact_id=people["lost"], from_stage="sql", to_stage="opportunity",
                      at=tokyo(2, 10), rule="deal")
    seed.deal(contact_id=people["lost"], stage="lost", closed_at=tokyo(17, 9, 30),
              lost_reason="価格が合わない")

    people["demo"] = seed.contact(email="demo@example.co.jp", consent=True)
    seed.event(contact_id=people["demo"], type="form_submit", detail="demo_request",
               occurred_at=tokyo(17, 14, 20))
    return people


# Wednesday 2026-11-18 09:00 in Tokyo: the last hour the schedule ran before the outage.
OUTAGE_LAST_RUN = tokyo(18, 9)


def seed_outage_world(url: str) -> dict[str, int]:
    """A world whose scheduled hours run until OUTAGE_LAST_RUN (H) and then stop for 12
    hours; returns the contacts' ids by role.

    Before the outage (H-2..H): `early` becomes an MQL at H-2 and is handed off;
    `unreachable` too (three unanswered calls during the outage recycle it, and the
    recycled program mails it); `early_downloader` gets its first step mail at H-2.
    Due during the outage (H+1..H+12): `opener`'s open check at H+4 (email 3a),
    `stepper`'s second step mail at H+9 (one day after its first), `downloader`'s first
    step mail at H+3, `late` becomes an MQL at H+6 (hand-off), and the SLA ladders of the
    early hand-offs (nobody touched `early`).
    """
    engine = ensure_database(url)
    seed = Seeder(engine, created_at=datetime(2026, 10, 1, tzinfo=UTC))
    owners(seed)
    people: dict[str, int] = {}
    for role, day, hour in (("early", 18, 6), ("late", 18, 14)):
        people[role] = seed.contact(
            email=f"{role}@example.co.jp", last_name=role, first_name="様", job_title="部長",
            employee_count=300, industry="manufacturing", lead_source="webinar", consent=True,
        )
        for minute, (type_, detail) in zip(
            (5, 15, 25),
            [("page_view", "pricing"), ("form_submit", "document_download"),
             ("webinar_attended", f"wb-{role}")],
            strict=True,
        ):
            seed.event(contact_id=people[role], type=type_, detail=detail,
                       occurred_at=tokyo(day, hour, minute))

    people["unreachable"] = seed.contact(
        email="far@example.co.jp", job_title="課長", employee_count=80, industry="it",
        consent=True,
    )
    for days_before, detail in ((5, "ts-1"), (4, "ts-2"), (3, "ts-3")):
        seed.event(contact_id=people["unreachable"], type="trade_show_visit", detail=detail,
                   occurred_at=OUTAGE_LAST_RUN - days_before * DAY)
    seed.event(contact_id=people["unreachable"], type="page_view", detail="case_study",
               occurred_at=OUTAGE_LAST_RUN - 2 * DAY)
    for hour in (10, 11, 12):
        seed.activity(contact_id=people["unreachable"], type="call", outcome="no_answer",
                      occurred_at=tokyo(18, hour, 5))

    for role, at in (("early_downloader", tokyo(18, 6, 40)), ("downloader", tokyo(18, 11, 30))):
        people[role] = seed.contact(email=f"{role}@example.co.jp", consent=True)
        seed.event(contact_id=people[role], type="form_submit", detail="document_download",
                   occurred_at=at)

    people["stepper"] = seed.contact(email="stepper@example.co.jp", consent=True)
    seed.event(contact_id=people["stepper"], type="form_submit", detail="document_download",
               occurred_at=tokyo(17, 17, 50))
    seed_nurture_progress(
        engine, contact_id=people["stepper"], program="document_download",
        entered_at=tokyo(17, 18), sent={"dl_1": tokyo(17, 18)}, step="dl_2",
        next_step_at=tokyo(18, 18), to="stepper@example.co.jp",
    )

    people["opener"] = seed.contact(email="opener@example.co.jp", consent=True,
                                    created_at=tokyo(6, 12))
    key = seed_nurture_progress(
        engine, contact_id=people["opener"], program="new_lead", entered_at=tokyo(6, 13),
        sent={"email_1": tokyo(6, 13), "email_2": tokyo(11, 13)}, step="opened_email_2",
        next_step_at=tokyo(18, 13), to="opener@example.co.jp",
    )
    seed.event(contact_id=people["opener"], type="email_open", detail=email_id(key, "email_2"),
               occurred_at=tokyo(12, 8))
    return people


def rules_open_all_week(folder: Path) -> Path:
    """The default rules with a nurture send window open every minute of every day.

    A live run sends at the real time; with the default window (weekdays 09:00–18:00 in
    Tokyo) whether a due email goes out would depend on when the test runs.
    """
    rules = yaml.safe_load(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    rules["nurture"]["send_window"] = {
        "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "00:00",
        "end": "23:59:59.999999",
        "skip_public_holidays": False,
        "holiday_country": "JP",
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rules-open-all-week.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
