"""The erasure suppression: the salt, and which addresses were erased (by salted hash)."""

import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, select

from leadflow.db import insert_ignoring_conflicts
from models.tables import Base, Erasure, ErasureSalt
from tasks.erase.decide import email_hash

SALT_ID = 1
# Hashes per IN (...) query: well under every driver's bound-parameter limit.
HASH_CHUNK = 2_000


def read_salt(conn: Connection) -> str | None:
    """The erasure salt, or None before the first erasure."""
    return conn.execute(
        select(ErasureSalt.salt).where(ErasureSalt.id == SALT_ID)
    ).scalar_one_or_none()


def ensure_salt(conn: Connection, *, now: datetime) -> str:
    """The erasure salt, created once (two erasures at once keep the first one written)."""
    insert_ignoring_conflicts(
        conn,
        Base.metadata.tables[ErasureSalt.__tablename__],
        [{"id": SALT_ID, "salt": secrets.token_hex(32), "created_at": now}],
        keys=["id"],
    )
    salt = read_salt(conn)
    assert salt is not None
    return salt


def erased_emails(conn: Connection, emails: Iterable[str]) -> set[str]:
    """The addresses among `emails` that were erased; empty fast when nobody ever was."""
    if conn.execute(select(Erasure.id).limit(1)).first() is None:
        return set()
    salt = read_salt(conn)
    if salt is None:
        return set()
    by_hash = {email_hash(salt, e): e for e in set(emails) if isinstance(e, str) and e}
    found: set[str] = set()
    hashes = list(by_hash)
    for start in range(0, len(hashes), HASH_CHUNK):
        chunk = hashes[start : start + HASH_CHUNK]
        hits = conn.execute(select(Erasure.email_hash).where(Erasure.email_hash.in_(chunk)))
        found.update(by_hash[h] for h in hits.scalars())
    return found
