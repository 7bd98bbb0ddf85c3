"""Migration 0010: contacts keep what HubSpot sent; down and up again on both stores."""

from alembic import command
from sqlalchemy import Engine, inspect, text

from leadflow.db import alembic_config, upgrade
from tests.support.seeding import Seeder

KEPT = {
    "hubspot_lifecycle_stage",
    "hubspot_lifecycle_stage_as",
    "hubspot_lead_status",
    "hubspot_lead_status_as",
}


def contact_columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("contacts")}


def test_migration_0010_adds_the_hubspot_columns_and_downgrades_keeping_contacts(
    engine: Engine, database_url: str, seed: Seeder
) -> None:
    seed.contact(email="kept@example.com", hubspot_lead_status="In Progress",
                 hubspot_lead_status_as="connected", lead_status="connected")
    assert contact_columns(engine) >= KEPT
    try:
        command.downgrade(alembic_config(database_url), "0009")
        engine.dispose()
        assert not KEPT & contact_columns(engine)
    finally:
        upgrade(database_url)
        engine.dispose()

    assert contact_columns(engine) >= KEPT
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT email, lead_status, hubspot_lead_status FROM contacts")
        ).one()
    assert tuple(row) == ("kept@example.com", "connected", None)
