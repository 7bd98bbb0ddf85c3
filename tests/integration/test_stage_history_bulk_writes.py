"""Stage moves, owners, company roll-ups and hand-off touches written or read in bulk
keep what one-by-one writes and a full ranking gave. On SQLite and PostgreSQL.
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from models.enums import LeadStatus, Stage, Team
from models.lifecycle import TransitionKind
from models.tables import Company, Contact, LeadStatusHistory, StageHistory
from tasks.owners import OwnerPick, record_owners
from tasks.promotion.read_handoff import read_handoff_context
from tasks.stage_history import apply_transitions
from tasks.transitions import Transition
from tests.support.seeding import Seeder

T0 = datetime(2026, 11, 20, 3, tzinfo=UTC)
HOUR = timedelta(hours=1)


def move(contact_id: int, source: str | None, target: Stage, at: datetime) -> Transition:
    return Transition(contact_id=contact_id, from_stage=source, to_stage=target, at=at,
                      rule="test", kind=TransitionKind.FORWARD)  # fmt: skip


def test_two_moves_of_one_contact_in_one_call_both_take_effect_in_order(
    engine: Engine, seed: Seeder
) -> None:
    company = seed.company(domain="example.com")
    walked = seed.contact(email="walked@example.com", lifecycle_stage="lead", company_id=company)
    stale = seed.contact(email="stale@example.com", lifecycle_stage="sql")
    plain = seed.contact(email="plain@example.com", lifecycle_stage="lead")
    moves = [
        move(walked, "lead", Stage.MQL, T0),
        move(stale, "lead", Stage.MQL, T0),
        move(plain, "lead", Stage.MQL, T0),
        move(walked, "mql", Stage.SQL, T0 + HOUR),
    ]
    with engine.begin() as conn:
        applied = apply_transitions(
            conn, moves, run_id=None, lead_status_on={Stage.MQL: LeadStatus.NEW}
        )
    with engine.connect() as conn:
        stages = {
            row.id: row.lifecycle_stage
            for row in conn.execute(select(Contact.id, Contact.lifecycle_stage))
        }
        history = conn.execute(
            select(StageHistory.contact_id, StageHistory.to_stage).order_by(StageHistory.id)
        ).all()
        statuses = conn.execute(select(LeadStatusHistory.contact_id)).scalars().all()
        company_stage = conn.execute(select(Company.lifecycle_stage)).scalar_one()

    assert applied.transitions == [moves[0], moves[2], moves[3]]
    assert stages == {walked: "sql", stale: "sql", plain: "mql"}
    assert [tuple(row) for row in history] == [
        (walked, "mql"), (plain, "mql"), (walked, "sql"),
    ]  # fmt: skip
    assert sorted(statuses) == sorted([walked, plain])
    assert company_stage == "sql"


def test_a_contact_picked_twice_keeps_its_last_owner(engine: Engine, seed: Seeder) -> None:
    first = seed.owner(email="first@example.com")
    second = seed.owner(email="second@example.com")
    contact = seed.contact(email="lead@example.com", owner_id=first)
    other = seed.contact(email="other@example.com")
    picks = [
        OwnerPick(contact, Team.IS, second, "one"),
        OwnerPick(other, Team.IS, first, "two"),
        OwnerPick(contact, Team.IS, None, "three"),
    ]
    with engine.begin() as conn:
        record_owners(conn, picks, at=T0, run_id=None)
    with engine.connect() as conn:
        owners = {
            row.id: row.owner_id for row in conn.execute(select(Contact.id, Contact.owner_id))
        }
    assert owners == {contact: None, other: first}


def test_the_latest_touches_are_the_same_when_many_events_tie_at_the_bound(
    engine: Engine, seed: Seeder
) -> None:
    contact = seed.contact(email="busy@example.com")
    for n in range(6):
        seed.event(contact_id=contact, type="page_view", detail=f"old{n}",
                   occurred_at=T0 - 5 * HOUR - n * HOUR)  # fmt: skip
    for detail in ("c", "a", "b", "d"):
        seed.event(contact_id=contact, type="email_open", detail=detail, occurred_at=T0 - HOUR)
    seed.event(contact_id=contact, type="page_view", detail="newest", occurred_at=T0)
    seed.event(contact_id=contact, type="page_view", detail="future", occurred_at=T0 + HOUR)
    seed.activity(contact_id=contact, type="call", outcome="connected", occurred_at=T0 - HOUR)
    with engine.connect() as conn:
        context = read_handoff_context(conn, contact_ids=[contact], as_of=T0, latest=3)
    shown = list(zip(context.activities["source"], context.activities["detail"], strict=True))
    assert shown == [("event", "newest"), ("activity", "connected"), ("event", "a")]
