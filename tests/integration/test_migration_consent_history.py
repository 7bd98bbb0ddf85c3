"""Migration 0011: the consent-history table; down and up again on both stores."""

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, insert, inspect, select

from leadflow.db import alembic_config, upgrade
from models.tables import ConsentHistory, Contact
from tests.support.seeding import Seeder

WHEN = datetime(2026, 12, 9, 3, tzinfo=UTC)
COLUMNS = [
    "id", "contact_id", "consent_from", "consent_to", "changed_at", "source", "evidence",
    "run_id",
]


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_migration_0011_creates_consent_history_and_downgrades_keeping_contacts(
    engine: Engine, database_url: str, seed: Seeder
) -> None:
    person = seed.contact(email="kept@example.com", consent=True)
    with engine.begin() as conn:
        conn.execute(insert(ConsentHistory).values(
            contact_id=person, consent_from=None, consent_to=True, changed_at=WHEN,
            source="import", evidence="contacts.csv:2 consent=true", run_id="r-1",
        ))
    assert [c["name"] for c in inspect(engine).get_columns("consent_history")] == COLUMNS
    assert {i["name"] for i in inspect(engine).get_indexes("consent_history")} >= {
        "ix_consent_history_contact_id"
    }
    try:
        command.downgrade(alembic_config(database_url), "0010")
        engine.dispose()
        assert "consent_history" not in tables(engine)
    finally:
        upgrade(database_url)
        engine.dispose()

    assert "consent_history" in tables(engine)
    with engine.begin() as conn:
        assert conn.execute(select(Contact.email, Contact.consent)).all() == [
            ("kept@example.com", True)
        ]
        assert conn.execute(select(ConsentHistory.id)).all() == []
        # The recreated table takes rows again, with its constraints.
        conn.execute(insert(ConsentHistory).values(
            contact_id=person, consent_from=True, consent_to=False, changed_at=WHEN,
            source="import", evidence=None, run_id=None,
        ))
        stored = conn.execute(
            select(ConsentHistory.consent_from, ConsentHistory.consent_to,
                   ConsentHistory.changed_at)
        ).one()
    assert tuple(stored) == (True, False, WHEN)
