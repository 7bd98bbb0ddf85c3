"""Apply beat of an erasure: one transaction for the rows, then the `.eml` files."""

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, delete, insert, update

from models.tables import Base, Contact, Deal, Erasure, Quarantine
from tasks.erase.decide import ErasurePlan, email_hash
from tasks.erase.suppression import ensure_salt


@dataclass(frozen=True)
class AppliedErasure:
    """What was really removed (row counts from the deletes themselves) and files left."""

    counts: dict[str, int] = field(default_factory=dict)
    files_left: list[str] = field(default_factory=list)


def apply_erasure(
    engine: Engine, plan: ErasurePlan, *, run_id: str | None, now: datetime
) -> AppliedErasure:
    """Delete the contact and its rows, detach deals, scrub quarantine, record the erasure.

    The audit row and the suppression hash are written in the same transaction as the
    deletes, so an erasure is never half-recorded. Files go after the commit: a file
    that cannot be removed is reported, and a rerun of the erasure finds it again by its
    `To` header. Counts are what the statements removed, not what the read saw, so rows
    written between read and apply are gone too and counted.
    """
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        if plan.contact_id is not None:
            for name in plan.deletes:
                table = Base.metadata.tables[name]
                result = conn.execute(delete(table).where(table.c.contact_id == plan.contact_id))
                if result.rowcount:
                    counts[name] = result.rowcount
            detached = conn.execute(
                update(Deal).where(Deal.contact_id == plan.contact_id).values(contact_id=None)
            )
            counts["deals_detached"] = detached.rowcount
            removed = conn.execute(delete(Contact).where(Contact.id == plan.contact_id))
            counts["contacts"] = removed.rowcount
        else:
            counts.update(contacts=0, deals_detached=0)
        for scrub in plan.scrubs:
            conn.execute(
                update(Quarantine)
                .where(Quarantine.id == scrub.id)
                .values(value=scrub.value, reason=scrub.reason)
            )
        counts["quarantine_scrubbed"] = len(plan.scrubs)
        counts["eml_files"] = 0
        salt = ensure_salt(conn, now=now)
        audit = conn.execute(
            insert(Erasure)
            .values(at=now, email_hash=email_hash(salt, plan.email), counts=counts, run_id=run_id)
            .returning(Erasure.id)
        ).scalar_one()
    left: list[str] = []
    for name in plan.eml_files:
        try:
            Path(name).unlink(missing_ok=True)
        except OSError:
            left.append(name)
    counts["eml_files"] = len(plan.eml_files) - len(left)
    with engine.begin() as conn:
        conn.execute(update(Erasure).where(Erasure.id == audit).values(counts=counts))
    return AppliedErasure(counts=counts, files_left=left)
