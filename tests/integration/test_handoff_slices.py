"""An hour's hand-off messages composed and enqueued in slices are those of one slice.

A first hour at 1M contacts hands off ~183k leads; composing all their messages at once
held ~3 GB. On SQLite and PostgreSQL.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from leadflow.db import ensure_database
from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from models.messages import OutboxMessage
from models.rules import load_rules
from models.tables import Outbox
from tasks.internal_email import INTERNAL_EMAIL_CHANNEL
from tasks.promotion.decide import PromotionDecisions
from tasks.promotion.handoff_slices import HandoffComposer, decision_slices, handed_off_ids
from tasks.promotion.hour import decide_promotion, promote_hour, read_promotion
from tests.support.hours import inside_one_flow
from tests.support.seeding import Seeder

pytestmark = pytest.mark.usefixtures("prefect_harness")

RULES = load_rules(DEFAULT_RULES_PATH)
T0 = datetime(2026, 11, 20, 3, tzinfo=UTC)
HOUR = timedelta(hours=1)

Row = tuple[str, str, str, int | None, str]


@pytest.fixture
def w(engine: Engine) -> Seeder:
    """The seeder for a world created 100 hours before T0."""
    return Seeder(engine, created_at=T0 - 100 * HOUR)


def seed_an_hour_of_handoffs(w: Seeder) -> None:
    """Owners with and without Slack; leads over the MQL and hot lines, with touches; and
    unowned MQLs waiting for an owner (late assignments)."""
    w.owner(email="sato@example.jp", name="佐藤 花子", slack_user_id="U1", created_at=T0)
    w.owner(email="suzuki@example.jp", created_at=T0)
    w.owner(email="fs@example.jp", team="fs", slack_user_id="U2", created_at=T0)
    company = w.company(domain="acme.example", name="Acme 株式会社")
    for n in range(9):
        contact = w.contact(
            email=f"lead{n}@acme.example",
            lifecycle_stage="lead",
            company_id=company if n % 2 else None,
            first_name=f"太郎{n}",
            last_name="山田",
            lead_source="webinar",
        )
        w.score(contact_id=contact, score=80 if n % 3 == 0 else 55, at=T0 - HOUR)
        for k in range(n % 4):
            w.event(
                contact_id=contact,
                type="page_view",
                detail=f"p{k}",
                occurred_at=T0 - (k + 2) * HOUR,
            )
    for n in range(3):
        waiting = w.contact(email=f"waiting{n}@beta.example", lifecycle_stage="mql")
        w.stage_change(
            contact_id=waiting,
            from_stage="lead",
            to_stage="mql",
            at=T0 - 30 * HOUR,
            rule="mql_score",
        )
        w.score(contact_id=waiting, score=60, at=T0 - 30 * HOUR)


def one_slice_for_everyone(settings: Settings) -> tuple[PromotionDecisions, list[OutboxMessage]]:
    """The hour's decisions and every message composed as one slice, before it applies."""
    inputs = read_promotion.fn(settings.database_url, RULES, T0)
    decisions = decide_promotion.fn(inputs, RULES, T0, settings.max_bad_row_share)
    composer = HandoffComposer.load(inputs, rules=RULES, tz=settings.tz)
    with ensure_database(settings.database_url).connect() as conn:
        return decisions, composer.compose(conn, decisions)


def rows_of(messages: list[OutboxMessage]) -> list[Row]:
    return sorted(
        (m.idempotency_key, m.channel, m.kind, m.contact_id, repr(m.payload)) for m in messages
    )


def outbox_rows(engine: Engine) -> list[Row]:
    with engine.connect() as conn:
        found = conn.execute(
            select(
                Outbox.idempotency_key,
                Outbox.channel,
                Outbox.kind,
                Outbox.contact_id,
                Outbox.payload,
            )
        ).all()
    return sorted(
        (key, channel, kind, contact, repr(payload))
        for key, channel, kind, contact, payload in found
    )


def counts(messages: list[Any]) -> tuple[int, int]:
    emails = sum(1 for m in messages if m.channel == INTERNAL_EMAIL_CHANNEL)
    return len(messages) - emails, emails


@inside_one_flow
def test_an_hour_composed_in_slices_of_two_contacts_enqueues_the_rows_one_slice_gives(
    engine: Engine, w: Seeder, settings: Settings
) -> None:
    seed_an_hour_of_handoffs(w)
    decisions, whole = one_slice_for_everyone(settings)
    assert len(handed_off_ids(decisions)) == 12
    assert {m.kind for m in whole} == {"handoff", "hot", "hot_dm", "handoff_email"}
    assert any(a.late for a in decisions.assignments)

    dry = promote_hour(settings=settings, rules=RULES, as_of=T0, dry_run=True, handoff_slice=2)
    outcome = promote_hour(settings=settings, rules=RULES, as_of=T0, handoff_slice=2)

    assert outbox_rows(engine) == rows_of(whole)
    assert (dry.messages, dry.emails) == counts(whole)
    assert (outcome.messages, outcome.emails) == counts(whole)
    assert outcome.summary()["messages_enqueued"] == counts(whole)[0]
    assert outcome.summary()["emails_enqueued"] == counts(whole)[1]
    for run in (dry, outcome):
        assert run.decisions.transitions == decisions.transitions
        assert run.decisions.hot == decisions.hot
        assert run.decisions.assignments == decisions.assignments


def test_slices_keep_each_contacts_decisions_in_order_and_cover_every_handed_off_contact(
    engine: Engine, w: Seeder, settings: Settings
) -> None:
    seed_an_hour_of_handoffs(w)
    decisions, _ = one_slice_for_everyone(settings)

    parts = decision_slices(decisions, 5)

    assert [len(handed_off_ids(p)) for p in parts] == [5, 5, 2]
    assert [i for p in parts for i in handed_off_ids(p)] == handed_off_ids(decisions)
    for part in parts:
        mine = set(handed_off_ids(part))
        assert part.transitions == [t for t in decisions.transitions if t.contact_id in mine]
        assert part.hot == [h for h in decisions.hot if h.contact_id in mine]
        assert part.assignments == [a for a in decisions.assignments if a.contact_id in mine]
        assert part.as_of == decisions.as_of
