"""Read beat of the exports: contacts, companies and deals as frames of leadflow's values.

Instants are UTC; whole numbers are Int64 (missing stays missing, never 250.0).
"""

from typing import Any

import pandas as pd
from sqlalchemy import Connection, Select, func, select

from models.enums import Stage
from models.schemas import STAGE_DATE_COLUMNS
from models.tables import Company, Contact, Deal, Owner, StageHistory

WHOLE_NUMBERS = ("employee_count", "engagement_score", "fit_score", "score")
INSTANT = "datetime64[us, UTC]"

CONTACT_SELECT = (
    Contact.id,
    Contact.email,
    Contact.hubspot_id,
    Contact.first_name,
    Contact.last_name,
    Company.domain.label("company_domain"),
    Company.name.label("company_name"),
    Contact.job_title,
    Contact.industry,
    Contact.employee_count,
    Contact.region,
    Contact.lead_source,
    Contact.consent,
    Contact.timezone,
    Contact.created_at,
    Contact.lifecycle_stage,
    Contact.lead_status,
    Owner.email.label("owner_email"),
    Contact.engagement_score,
    Contact.fit_score,
    Contact.score,
    Contact.scored_at,
    Contact.hubspot_lifecycle_stage,
    Contact.hubspot_lifecycle_stage_as,
    Contact.hubspot_lead_status,
    Contact.hubspot_lead_status_as,
)
COMPANY_SELECT = (
    Company.id,
    Company.domain,
    Company.name,
    Company.industry,
    Company.employee_count,
    Company.region,
    Company.lifecycle_stage,
    Company.created_at,
)
DEAL_SELECT = (
    Deal.id,
    Deal.source_deal_id,
    Deal.name,
    Deal.stage,
    Deal.amount,
    Deal.created_at,
    Deal.closed_at,
    Deal.lost_reason,
    Company.domain.label("company_domain"),
    Contact.email.label("contact_email"),
    Contact.hubspot_id.label("contact_hubspot_id"),
)


def _frame(conn: Connection, statement: Select[Any]) -> pd.DataFrame:
    names = [column.name for column in statement.selected_columns]
    frame = pd.DataFrame.from_records(conn.execute(statement).all(), columns=names)
    for column in WHOLE_NUMBERS:
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    return frame


def read_contacts(conn: Connection) -> pd.DataFrame:
    """Every contact by email, with its company, owner, scores, the values HubSpot sent
    (`hubspot_*`) and `became_<stage>_at`: the first time it entered each stage."""
    contacts = _frame(
        conn,
        select(*CONTACT_SELECT)
        .outerjoin(Owner, Owner.id == Contact.owner_id)
        .outerjoin(Company, Company.id == Contact.company_id)
        .order_by(Contact.email),
    )
    first_entry = select(
        StageHistory.contact_id, StageHistory.to_stage, func.min(StageHistory.at).label("at")
    ).group_by(StageHistory.contact_id, StageHistory.to_stage)
    entries = pd.DataFrame.from_records(
        conn.execute(first_entry).all(), columns=["id", "to_stage", "at"]
    )
    for stage, column in STAGE_DATE_COLUMNS.items():
        contacts[column] = first_entered(contacts["id"], entries, stage)
    return contacts


def read_companies(conn: Connection) -> pd.DataFrame:
    """Every company by domain."""
    return _frame(conn, select(*COMPANY_SELECT).order_by(Company.domain))


def read_deals(conn: Connection) -> pd.DataFrame:
    """Every deal by its id, with its company's domain and its contact's email and
    HubSpot record id."""
    return _frame(
        conn,
        select(*DEAL_SELECT)
        .outerjoin(Company, Company.id == Deal.company_id)
        .outerjoin(Contact, Contact.id == Deal.contact_id)
        .order_by(Deal.source_deal_id),
    )


def first_entered(ids: pd.Series, entries: pd.DataFrame, stage: Stage) -> pd.Series:
    """When each contact in `ids` first entered `stage` (UTC), NaT where it never did.

    Built from a plain dict, not by mapping over a datetime Series: pandas 3 cannot cast
    an all-missing mapping result to datetimes when no contact ever entered the stage.
    """
    rows = entries[entries["to_stage"] == stage.value]
    first = dict(zip(rows["id"].tolist(), rows["at"].tolist(), strict=True))
    found = [first.get(contact_id) for contact_id in ids.tolist()]
    return pd.Series(pd.to_datetime(found, utc=True), index=ids.index, dtype=INSTANT)
