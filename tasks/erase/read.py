"""Read beat of an erasure: the contact, its rows per table, quarantine hits, `.eml` files."""

from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import getaddresses
from pathlib import Path

from sqlalchemy import Connection, func, or_, select

from models.tables import Base, Contact, Deal, EmailSend, Outbox, Quarantine
from tasks.erase.decide import DEPENDENT_TABLES, ErasureInputs, QuarantineHit, normalise_email


def find_contact(conn: Connection, email: str) -> int | None:
    """The id of the contact with this address (compared trimmed and lower-case), or None."""
    return conn.execute(
        select(Contact.id).where(func.lower(Contact.email) == normalise_email(email)).limit(1)
    ).scalar_one_or_none()


def count_rows(conn: Connection, contact_id: int) -> dict[str, int]:
    """Rows per dependent table that point at the contact."""
    counts: dict[str, int] = {}
    for name in DEPENDENT_TABLES:
        table = Base.metadata.tables[name]
        counts[name] = int(
            conn.execute(
                select(func.count()).select_from(table).where(table.c.contact_id == contact_id)
            ).scalar_one()
        )
    return counts


def email_ids(conn: Connection, contact_id: int) -> set[str]:
    """Idempotency keys of the contact's emails: they name the `.eml` files' Message-IDs."""
    sends = conn.execute(select(EmailSend.email_id).where(EmailSend.contact_id == contact_id))
    queued = conn.execute(
        select(Outbox.idempotency_key).where(
            Outbox.contact_id == contact_id, Outbox.channel == "email"
        )
    )
    return {*sends.scalars(), *queued.scalars()}


def quarantine_hits(conn: Connection, email: str) -> list[QuarantineHit]:
    """Quarantine rows whose value or reason contains the address, in any case."""
    needle = normalise_email(email)
    rows = conn.execute(
        select(Quarantine.id, Quarantine.value, Quarantine.reason)
        .where(
            or_(
                func.lower(Quarantine.value).contains(needle, autoescape=True),
                func.lower(Quarantine.reason).contains(needle, autoescape=True),
            )
        )
        .order_by(Quarantine.id)
    ).all()
    return [QuarantineHit(id=row.id, value=row.value, reason=row.reason) for row in rows]


def eml_files_for(directory: Path, email: str, ids: set[str]) -> list[str]:
    """`.eml` files addressed to `email` or carrying one of its email ids.

    The file name is a hash of a Message-ID that also depends on the sender's domain at
    send time, so the headers are read instead of guessing names; the `To` match also
    finds files left over by an earlier, interrupted erasure.
    """
    if not directory.is_dir():
        return []
    needle = normalise_email(email)
    found: list[str] = []
    parser = BytesParser(policy=default_policy)
    for path in sorted(directory.glob("*.eml")):
        try:
            with path.open("rb") as handle:
                headers = parser.parse(handle, headersonly=True)
        except OSError:
            continue
        recipients = {addr.lower() for _, addr in getaddresses([str(headers.get("To", ""))])}
        if needle in recipients or str(headers.get("X-Leadflow-Email-Id", "")) in ids:
            found.append(str(path))
    return found


def read_erasure_inputs(conn: Connection, *, email: str, outbox_dir: Path) -> ErasureInputs:
    """Everything leadflow holds about `email`: the contact's rows, quarantine, files."""
    contact_id = find_contact(conn, email)
    rows: dict[str, int] = {}
    deals = 0
    ids: set[str] = set()
    if contact_id is not None:
        rows = count_rows(conn, contact_id)
        deals = int(
            conn.execute(
                select(func.count()).select_from(Deal).where(Deal.contact_id == contact_id)
            ).scalar_one()
        )
        ids = email_ids(conn, contact_id)
    return ErasureInputs(
        email=normalise_email(email),
        contact_id=contact_id,
        rows=rows,
        deals=deals,
        quarantine=quarantine_hits(conn, email),
        eml_files=eml_files_for(outbox_dir, email, ids),
    )
