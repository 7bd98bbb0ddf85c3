"""pandera schemas for the frames the SLA hour reads: history in, clocks and owners.

Rows that fail are quarantined by the decide beat (source `sla:<frame>`, the contact or
owner id as the row number) and the run goes on without them.
"""

import pandas as pd
import pandera.pandas as pa

from models.enums import LeadStatus, Team
from models.lifecycle import TransitionKind


def _aware(series: pd.Series) -> pd.Series:
    return series.map(lambda v: v is None or pd.isna(v) or getattr(v, "tzinfo", None) is not None)


def _instant(*, nullable: bool = False) -> pa.Column:
    return pa.Column(
        None,
        checks=[pa.Check(_aware, element_wise=False, error="not a timezone-aware instant")],
        nullable=nullable,
        coerce=False,
    )


def _id(*, nullable: bool = False) -> pa.Column:
    return pa.Column("Int64", pa.Check.gt(0), nullable=nullable, coerce=True)


def _text(*, nullable: bool = False) -> pa.Column:
    return pa.Column(str, pa.Check.str_length(min_value=1), nullable=nullable)


SLA_CONTACTS = pa.DataFrameSchema(
    {
        "contact_id": pa.Column("Int64", pa.Check.gt(0), unique=True, coerce=True),
        "email": pa.Column(str, pa.Check.str_contains("@")),
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
        "kind": pa.Column(str, pa.Check.isin([k.value for k in TransitionKind])),
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
        "to_status": pa.Column(str, pa.Check.isin([s.value for s in LeadStatus])),
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
        "owner_id": pa.Column("Int64", pa.Check.gt(0), unique=True, coerce=True),
        "name": pa.Column(str),
        "email": pa.Column(str, pa.Check.str_contains("@")),
        "team": pa.Column(str, pa.Check.isin([t.value for t in Team])),
        "manager_email": pa.Column(str, pa.Check.str_contains("@"), nullable=True),
        "slack_user_id": pa.Column(str, nullable=True),
    },
    name="sla owners",
    strict=False,
)

SLA_CLOCKS = pa.DataFrameSchema(
    {
        "contact_id": _id(),
        "cycle": pa.Column("Int64", pa.Check.ge(1), coerce=True),
        "policy": _text(),
        "started_at": _instant(),
        "due_at": _instant(),
        "satisfied_at": _instant(nullable=True),
        "breached_at": _instant(nullable=True),
        "level": pa.Column("Int64", pa.Check.ge(0), coerce=True),
    },
    unique=["contact_id", "cycle", "policy"],
    name="sla clocks",
    strict=False,
)
