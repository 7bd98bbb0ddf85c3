"""Migration 0012: PostgreSQL keeps half of each contacts page free for HOT score updates."""

from alembic import command
from sqlalchemy import Engine, inspect, text

from leadflow.db import alembic_config, upgrade

# What the scoring apply beat sets on every changed contact (tasks.scoring.apply).
SCORE_COLUMNS = {"engagement_score", "fit_score", "score", "scored_at"}


def contacts_options(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        options = conn.execute(
            text("SELECT reloptions FROM pg_class WHERE oid = to_regclass('contacts')")
        ).scalar_one()
    return list(options or [])


def test_no_score_column_of_contacts_is_indexed_so_score_updates_can_be_hot(
    engine: Engine,
) -> None:
    indexed = {
        column for index in inspect(engine).get_indexes("contacts")
        for column in index["column_names"]
    }
    assert indexed
    assert not indexed & SCORE_COLUMNS


def test_migration_0012_sets_fillfactor_50_on_postgresql_and_downgrades(
    engine: Engine, database_url: str
) -> None:
    if engine.dialect.name != "postgresql":
        # Nothing to set on SQLite: the migration applied (the fixture is at head) and
        # goes down and up again.
        command.downgrade(alembic_config(database_url), "0011")
        upgrade(database_url)
        return
    assert contacts_options(engine) == ["fillfactor=50"]
    try:
        command.downgrade(alembic_config(database_url), "0011")
        engine.dispose()
        assert contacts_options(engine) == []
    finally:
        upgrade(database_url)
        engine.dispose()
    assert contacts_options(engine) == ["fillfactor=50"]
