"""Signal facts read in SQL and folded with numpy equal a plain count over the raw events.

The oracle walks every event in Python with the rule text of DOMAIN.md: a `per: detail`
signal counts distinct (type, detail) pairs whose latest event is inside its window, a
`per: event` signal counts events inside its window, and the latest time is the newest
event counted. Rules here mix what the shipped rule sets do not: several event types in one
signal, windows on `per: event` signals, signals sharing a type with and without details.
"""

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import Engine, select

from models.rules import Rules
from models.tables import Contact
from tasks.scoring.read import read_facts
from tests.support.seeding import Seeder

AS_OF = datetime(2026, 11, 20, 3, 30, 15, 500000, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]

EXTRA_SIGNALS = [
    {"name": "touches", "events": ["email_open", "email_click"], "points": 1, "window_days": 14,
     "count": "each", "per": "event", "cap": 5, "description": "recent touches"},
    {"name": "touched_emails", "events": ["email_open", "email_click"], "points": 2,
     "window_days": 60, "count": "each", "per": "detail", "cap": 10, "description": "emails"},
    {"name": "any_page", "events": ["page_view"], "points": 1, "count": "once", "per": "event",
     "min": 3, "description": "three page views"},
]  # fmt: skip


def mixed_rules() -> Rules:
    data = yaml.safe_load((ROOT / "rules" / "default.yaml").read_text())
    data["scoring"]["behaviour"]["signals"].extend(EXTRA_SIGNALS)
    return Rules.model_validate(data)


def expected_facts(rules: Rules, events: list[tuple[int, str, str | None, datetime]]) -> dict:
    """Per contact with a counted event: {signal: (units, latest epoch seconds or None)}."""
    facts: dict[int, dict[str, tuple[int, int | None]]] = {}
    for signal in rules.scoring.behaviour.signals:
        types = {e.value for e in signal.events}
        since = AS_OF - timedelta(days=signal.window_days) if signal.window_days else None
        per_contact: dict[int, list[tuple[str, str | None, datetime]]] = {}
        for contact, type_, detail, when in events:
            if when > AS_OF or type_ not in types:
                continue
            if signal.details is not None and detail not in signal.details:
                continue
            if signal.per == "detail" and detail is None:
                continue
            per_contact.setdefault(contact, []).append((type_, detail, when))
        for contact, rows in per_contact.items():
            if signal.per == "detail":
                latest: dict[tuple[str, str | None], datetime] = {}
                for type_, detail, when in rows:
                    latest[(type_, detail)] = max(when, latest.get((type_, detail), when))
                counted = [w for w in latest.values() if since is None or w >= since]
            else:
                counted = [w for _, _, w in rows if since is None or w >= since]
            newest = int(max(counted).timestamp()) if counted else None
            facts.setdefault(contact, {})[signal.name] = (len(counted), newest)
    return facts


def test_signal_facts_equal_a_plain_count_over_the_raw_events(engine: Engine, seed: Seeder) -> None:
    rules = mixed_rules()
    draw = random.Random(13)
    kinds: list[tuple[str, list[str | None]]] = [
        ("email_open", ["nl-1", "nl-2", "nl-3", None]),
        ("email_click", ["nl-1", "nl-2"]),
        ("page_view", ["pricing", "case_study", "blog", None]),
        ("form_submit", ["demo_request", "document_download", "newsletter"]),
        ("webinar_attended", ["wb-1", "wb-2"]),
        ("trade_show_visit", ["show-1", None]),
    ]
    events: list[tuple[int, str, str | None, datetime]] = []
    for n in range(12):
        contact = seed.contact(email=f"lead{n}@example.com")
        for _ in range(draw.randrange(0, 14)):
            type_, details = draw.choice(kinds)
            when = AS_OF - timedelta(
                days=draw.choice([0, 1, 13.9, 14, 14.1, 59, 60, 61, 200]),
                microseconds=draw.choice([0, 250000, -250000]),
            )
            detail = draw.choice(details)
            seed.event(contact_id=contact, type=type_, detail=detail, occurred_at=when)
            events.append((contact, type_, detail, when))
    with engine.connect() as conn:
        facts = read_facts(conn, rules, AS_OF, select(Contact.id))

    got: dict[int, dict[str, tuple[int, int | None]]] = {}
    for row in facts.to_dict("records"):
        for signal in rules.scoring.behaviour.signals:
            units = int(row[f"{signal.name}__units"])
            last = row[f"{signal.name}__last"]
            if units:
                got.setdefault(int(row["contact_id"]), {})[signal.name] = (units, int(last))
    wanted = {
        contact: {name: fact for name, fact in signals.items() if fact[0]}
        for contact, signals in expected_facts(rules, events).items()
    }
    assert got == {contact: signals for contact, signals in wanted.items() if signals}
