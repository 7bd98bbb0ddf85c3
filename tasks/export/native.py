"""leadflow's own export columns: what `leadflow import` reads back (pure).

Contacts keep the columns the export always had first (email, stage, status, scores,
owner, scored_at, the stage dates); the attributes the importer reads follow. Scores and
`scored_at` are ignored by the importer: leadflow computes them.
"""

import pandas as pd

from models.enums import Stage
from models.schemas import STAGE_DATE_COLUMNS

# The stage dates the export always had, in their order; the other stages follow.
FIRST_STAGE_DATES = [
    Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.OTHER
]
STAGE_DATE_ORDER = [
    *FIRST_STAGE_DATES,
    *(stage for stage in STAGE_DATE_COLUMNS if stage not in FIRST_STAGE_DATES),
]
CONTACT_COLUMNS = [
    "email",
    "lifecycle_stage",
    "lead_status",
    "engagement_score",
    "fit_score",
    "score",
    "owner_email",
    "scored_at",
    *(STAGE_DATE_COLUMNS[stage] for stage in STAGE_DATE_ORDER),
    "hubspot_id",
    "first_name",
    "last_name",
    "company_domain",
    "company_name",
    "job_title",
    "industry",
    "employee_count",
    "region",
    "lead_source",
    "consent",
    "timezone",
    "created_at",
]
COMPANY_COLUMNS = ["domain", "name", "industry", "employee_count", "region", "lifecycle_stage"]
DEAL_COLUMNS = [
    "deal_id",
    "company_domain",
    "contact_email",
    "name",
    "stage",
    "amount",
    "created_at",
    "closed_at",
    "lost_reason",
]


def amounts(values: pd.Series) -> pd.Series:
    """Money as written in a file: 1200000 for a whole amount, 1234.5 otherwise, empty if
    missing (never 1200000.0)."""

    def one(value: object) -> object:
        if value is None or pd.isna(value):
            return None
        number = float(value)  # type: ignore[arg-type]
        return int(number) if number.is_integer() else number

    return pd.Series([one(v) for v in values.tolist()], index=values.index, dtype=object)


def native_contacts(contacts: pd.DataFrame) -> pd.DataFrame:
    """Contacts (from `read_contacts`) in leadflow's columns; consent as true/false."""
    out = contacts.copy()
    out["consent"] = out["consent"].map(
        lambda v: "" if v is None or pd.isna(v) else ("true" if v else "false")
    )
    return out[CONTACT_COLUMNS]


def native_companies(companies: pd.DataFrame) -> pd.DataFrame:
    """Companies (from `read_companies`) in the columns `leadflow import companies` reads."""
    return companies[COMPANY_COLUMNS].copy()


def native_deals(deals: pd.DataFrame) -> pd.DataFrame:
    """Deals (from `read_deals`) in the columns `leadflow import deals` reads."""
    out = deals.rename(columns={"source_deal_id": "deal_id"})
    out["amount"] = amounts(out["amount"])
    return out[DEAL_COLUMNS]
