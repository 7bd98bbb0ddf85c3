"""Decide beat of an erasure: what goes, what is scrubbed, and the salted hash (pure).

Rows that are about the person are deleted, not anonymised: an anonymous event or stage
move still says what one (now unknown) contact did, and nothing in leadflow needs it
once the contact is gone. Deals are the company's record, so they stay and only lose
their contact. Quarantine rows are kept (they describe a file) with the address cut out.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass, field

# Deleted in this order: children before the tables they point at, the contact last.
DEPENDENT_TABLES = (
    "nurture_history",
    "email_sends",
    "outbox",
    "nurture_enrollments",
    "owner_assignments",
    "sla_escalations",
    "sla_clocks",
    "follow_up_tasks",
    "lead_status_history",
    "stage_history",
    "score_snapshots",
    "events",
    "activities",
    "email_suppressions",
    "consent_history",
)
ERASED = "[erased]"


def normalise_email(email: str) -> str:
    """The form an address is compared and hashed in: trimmed and lower-case (as imported)."""
    return email.strip().lower()


def email_hash(salt: str, email: str) -> str:
    """HMAC-SHA256 of the normalised address under the erasure salt, as hex."""
    return hmac.new(salt.encode(), normalise_email(email).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class QuarantineHit:
    """A quarantine row whose value or reason contains the address."""

    id: int
    value: str | None
    reason: str


@dataclass(frozen=True)
class ErasureInputs:
    """What the read beat found for one address: rows per table, quarantine hits, files."""

    email: str
    contact_id: int | None
    rows: dict[str, int] = field(default_factory=dict)
    deals: int = 0
    quarantine: list[QuarantineHit] = field(default_factory=list)
    eml_files: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class QuarantineScrub:
    """New value and reason for one quarantine row."""

    id: int
    value: str | None
    reason: str


@dataclass(frozen=True)
class ErasurePlan:
    """What an erasure removes: rows per table, deals to detach, scrubs, files."""

    email: str
    contact_id: int | None
    deletes: dict[str, int] = field(default_factory=dict)
    deals_detached: int = 0
    scrubs: list[QuarantineScrub] = field(default_factory=list)
    eml_files: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        """True when there is anything at all to remove."""
        return self.contact_id is not None or bool(self.scrubs) or bool(self.eml_files)

    def counts(self) -> dict[str, int]:
        """Counts per kind of thing removed: the audit record and the report, no personal data."""
        counts = {table: n for table, n in self.deletes.items() if n}
        counts["contacts"] = 0 if self.contact_id is None else 1
        counts["deals_detached"] = self.deals_detached
        counts["quarantine_scrubbed"] = len(self.scrubs)
        counts["eml_files"] = len(self.eml_files)
        return counts


def scrub_text(text: str, email: str) -> str:
    """`text` with every occurrence of the address (any case) replaced by `[erased]`."""
    return re.sub(re.escape(email), ERASED, text, flags=re.IGNORECASE)


def decide_erasure(inputs: ErasureInputs) -> ErasurePlan:
    """Delete the contact and its dependent rows, detach deals, scrub quarantine, drop files.

    A quarantine value containing the address loses the value entirely (it may hold more
    of the same row, e.g. a name); a reason keeps its words with the address cut out.
    """
    email = normalise_email(inputs.email)
    scrubs = [
        QuarantineScrub(
            id=hit.id,
            value=None if hit.value is not None and email in hit.value.lower() else hit.value,
            reason=scrub_text(hit.reason, email),
        )
        for hit in inputs.quarantine
    ]
    deletes = (
        {table: inputs.rows.get(table, 0) for table in DEPENDENT_TABLES}
        if inputs.contact_id is not None
        else {}
    )
    return ErasurePlan(
        email=email,
        contact_id=inputs.contact_id,
        deletes=deletes,
        deals_detached=inputs.deals if inputs.contact_id is not None else 0,
        scrubs=scrubs,
        eml_files=sorted(inputs.eml_files),
    )
