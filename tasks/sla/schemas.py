"""pandera schemas for the frames the SLA hour reads: history in, clocks and owners.

Rows that fail are quarantined by the decide beat (source `sla:<frame>`, the contact or
owner id as the row number) with a reason a person can act on, and the run goes on
without them.
"""

import re

import pandera.pandas as pa

from models.enums import LeadStatus, Team
from tasks.validation import timezone_aware

# pandera's own names for the schema-level failures, worded for the quarantine list.
_BUILTIN_REASONS = {
    "not_nullable": "empty, but a value is required",
    "field_uniqueness": "appears more than once, but must be unique",
}
_TYPE_CHECK = re.compile(r"^(coerce_)?dtype\('?(?P<type>[^')]+)'?\)$")
_TYPE_WORDS = {"Int64": "a whole number", "int64": "a whole number", "str": "text"}


def reason_text(check: str) -> str:
    """The quarantine reason for a failed check: the check's own message, or pandera's
    name for a schema-level failure in words."""
    if check in _BUILTIN_REASONS:
        return _BUILTIN_REASONS[check]
    typed = _TYPE_CHECK.match(check)
    if typed:
        return f"not {_TYPE_WORDS.get(typed['type'], typed['type'])}"
    return check


def _instant(*, nullable: bool = False) -> pa.Column:
    return pa.Column(
        None,
        checks=[pa.Check(timezone_aware, element_wise=False,
                         error="not a timezone-aware date and time")],
        nullable=nullable,
        coerce=False,
    )


def _id(*, nullable: bool = False) -> pa.Column:
    return pa.Column("Int64", pa.Check.gt(0, error="not a positive id"), nullable=nullable,
                     coerce=True)


def _text(*, nullable: bool = False) -> pa.Column:
    return pa.Column(str, pa.Check.str_length(min_value=1, error="empty text"),
                     nullable=nullable)


def _email() -> pa.Column:
    return pa.Column(str, pa.Check.str_contains("@", error="not an email address (no @)"))


def _one_of(values: list[str], what: str, *, nullable: bool = False) -> pa.Column:
    return pa.Column(
        str, pa.Check.isin(values, error=f"not a known {what} (known: {', '.join(values)})"),
        nullable=nullable,
    )


SLA_CONTACTS = pa.DataFrameSchema(
    {
        "contact_id": pa.Column("Int64", pa.Check.gt(0, error="not a positive id"),
                                unique=True, coerce=True),
        "email": _email(),
        "owner_id": _id(nullable=True),
        "lead_source": pa.Column(str, nullable=True),
    },
    name="sla contacts",
    strict=False,
)

SLA_STAGES = pa.DataFrameSchema(
    {
        "contact_id": _id(),
        "from_stage": pa.Column(str, nullable=True),
        "to_stage": _text(),
        "at": _instant(),
        # Every stored kind counts (forward, disqualify, recycle, renurture, import, …).
        "kind": _text(),
    },
    name="sla stage history",
    strict=False,
)

SLA_ACTIVITIES = pa.DataFrameSchema(
    {
        "contact_id": _id(),
        "type": _text(),
        "outcome": pa.Column(str, nullable=True),
        "occurred_at": _instant(),
    },
    name="sla activities",
    strict=False,
)

SLA_STATUSES = pa.DataFrameSchema(
    {
        "contact_id": _id(),
        "to_status": _one_of([s.value for s in LeadStatus], "lead status"),
        "at": _instant(),
    },
    name="sla lead status history",
    strict=False,
)

SLA_ASSIGNMENTS = pa.DataFrameSchema(
    {"contact_id": _id(), "owner_id": _id(), "team": _text(), "at": _instant()},
    name="sla owner assignments",
    strict=False,
)

SLA_OWNERS = pa.DataFrameSchema(
    {
        "owner_id": pa.Column("Int64", pa.Check.gt(0, error="not a positive id"),
                              unique=True, coerce=True),
        "name": pa.Column(str),
        "email": _email(),
        "team": _one_of([t.value for t in Team], "team"),
        "manager_email": pa.Column(
            str, pa.Check.str_contains("@", error="not an email address (no @)"), nullable=True
        ),
        "slack_user_id": pa.Column(str, nullable=True),
    },
    name="sla owners",
    strict=False,
)

SLA_CLOCKS = pa.DataFrameSchema(
    {
        "contact_id": _id(),
        "cycle": pa.Column("Int64", pa.Check.ge(1, error="not a cycle number (1 or more)"),
                           coerce=True),
        "policy": _text(),
        "started_at": _instant(),
        "due_at": _instant(),
        "satisfied_at": _instant(nullable=True),
        "breached_at": _instant(nullable=True),
        "closed_at": _instant(nullable=True),
        "level": pa.Column("Int64", pa.Check.ge(0, error="a negative level"), coerce=True),
    },
    unique=["contact_id", "cycle", "policy"],
    name="sla clocks",
    strict=False,
)
