"""A list of ids bound as one parameter matches exactly the listed rows, however long the
list, on SQLite (JSON array) and PostgreSQL (integer array)."""

from sqlalchemy import Engine, select

from leadflow.db import id_list_match, id_list_value
from models.tables import Contact
from tests.support.seeding import Seeder

# Past SQLite's default limit of 32,766 bound parameters.
MANY = 40_000


def matching(engine: Engine, ids: list[int]) -> list[int]:
    dialect = engine.dialect.name
    query = select(Contact.id).where(id_list_match(Contact.id, "ids", dialect)).order_by(Contact.id)
    with engine.connect() as conn:
        return list(conn.execute(query, {"ids": id_list_value(ids, dialect)}).scalars())


def test_only_the_listed_contacts_match(engine: Engine, seed: Seeder) -> None:
    contacts = [seed.contact(email=f"c{n}@example.com") for n in range(5)]

    assert matching(engine, [contacts[3], contacts[1], 999_999]) == [contacts[1], contacts[3]]
    assert matching(engine, []) == []


def test_a_list_longer_than_any_parameter_limit_still_matches(
    engine: Engine, seed: Seeder
) -> None:
    contacts = [seed.contact(email=f"c{n}@example.com") for n in range(3)]

    ids = [*range(10_000_000, 10_000_000 + MANY), contacts[2]]

    assert matching(engine, ids) == [contacts[2]]
