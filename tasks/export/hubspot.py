"""Exports HubSpot's importer takes as they are (pure): its labels as headers, its internal
values in the cells, Record ID as the key.

Empty cells leave HubSpot's value as it is. Record ID is empty for records that never
came from HubSpot: HubSpot then matches contacts by Email and companies by Company Domain
Name, or creates them. Scores go to a custom property, "leadflow Score".
"""

from collections.abc import Mapping
from datetime import tzinfo

import pandas as pd

from models.deal_rules import DealRules
from models.enums import LeadStatus, Stage
from models.schemas import STAGE_DATE_COLUMNS
from tasks.export.hubspot_industries import hubspot_industry
from tasks.export.hubspot_values import (
    deal_stage_ids,
    hubspot_lead_status,
    hubspot_stage,
    hubspot_time_zone,
    hubspot_times,
    record_id,
)
from tasks.export.native import amounts

# HubSpot's "Became a … Date" properties (hs_lifecyclestage_<stage>_date), spelt as
# HubSpot labels them. lost_renurture has none.
HUBSPOT_STAGE_DATES: dict[Stage, str] = {
    Stage.SUBSCRIBER: "Became a Subscriber Date",
    Stage.LEAD: "Became a Lead Date",
    Stage.MQL: "Became a Marketing Qualified Lead Date",
    Stage.SQL: "Became a Sales Qualified Lead Date",
    Stage.OPPORTUNITY: "Became an Opportunity Date",
    Stage.CUSTOMER: "Became a Customer Date",
    Stage.EVANGELIST: "Became an Evangelist Date",
    Stage.OTHER: "Became a Other Lifecycle Date",
}
SCORE_PROPERTY = "leadflow Score"
DEAL_ID_PROPERTY = "leadflow Deal ID"
DEFAULT_PIPELINE = "default"

CONTACT_HEADERS = [
    "Record ID",
    "Email",
    "First Name",
    "Last Name",
    "Company Name",
    "Job Title",
    "Industry",
    "Number of Employees",
    "State/Region",
    "Time Zone",
    "Lifecycle Stage",
    "Lead Status",
    "Contact owner",
    "Create Date",
    *HUBSPOT_STAGE_DATES.values(),
    SCORE_PROPERTY,
]
COMPANY_HEADERS = [
    "Record ID",
    "Company name",
    "Company Domain Name",
    "Industry",
    "Number of Employees",
    "State/Region",
    "Lifecycle Stage",
    "Create Date",
]
DEAL_HEADERS = [
    "Record ID",
    "Deal Name",
    "Pipeline",
    "Deal Stage",
    "Amount",
    "Close Date",
    "Create Date",
    "Closed Lost Reason",
    "Associated Contact IDs",
    "Associated Company IDs",
    "Email",
    "Company Domain Name",
    DEAL_ID_PROPERTY,
]


def _texts(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "")


def _industry(value: object) -> str:
    return (hubspot_industry(value) if isinstance(value, str) else None) or ""


def hubspot_contacts(
    contacts: pd.DataFrame, *, lead_statuses: Mapping[LeadStatus, str], tz: tzinfo
) -> pd.DataFrame:
    """Contacts (from `read_contacts`) as a HubSpot contacts import file.

    `lead_statuses` is the rules' `lead_status.hubspot`; times are in `tz`.
    """
    c = contacts
    stages = [
        hubspot_stage(*row)
        for row in zip(
            c["lifecycle_stage"], c["hubspot_lifecycle_stage"], c["hubspot_lifecycle_stage_as"],
            strict=True,
        )
    ]
    statuses = [
        hubspot_lead_status(current, sent, sent_as, mapping=lead_statuses)
        for current, sent, sent_as in zip(
            c["lead_status"], c["hubspot_lead_status"], c["hubspot_lead_status_as"], strict=True
        )
    ]
    out = pd.DataFrame(
        {
            "Record ID": c["hubspot_id"].map(record_id),
            "Email": c["email"],
            "First Name": _texts(c["first_name"]),
            "Last Name": _texts(c["last_name"]),
            "Company Name": _texts(c["company_name"]),
            "Job Title": _texts(c["job_title"]),
            "Industry": _texts(c["industry"]),
            "Number of Employees": c["employee_count"].astype("Int64"),
            "State/Region": _texts(c["region"]),
            "Time Zone": c["timezone"].map(hubspot_time_zone),
            "Lifecycle Stage": pd.Series(stages, index=c.index, dtype=object),
            "Lead Status": pd.Series(statuses, index=c.index, dtype=object),
            "Contact owner": _texts(c["owner_email"]),
            "Create Date": hubspot_times(c["created_at"], tz=tz),
            **{
                label: hubspot_times(c[STAGE_DATE_COLUMNS[stage]], tz=tz)
                for stage, label in HUBSPOT_STAGE_DATES.items()
            },
            SCORE_PROPERTY: c["score"].astype("Int64"),
        },
        index=c.index,
    )
    return out[CONTACT_HEADERS]


def hubspot_companies(companies: pd.DataFrame, *, tz: tzinfo) -> pd.DataFrame:
    """Companies (from `read_companies`) as a HubSpot companies import file.

    Industry is HubSpot's internal value when the stored one is a HubSpot industry (label
    or value), else empty; Record ID is empty (leadflow keeps no company record ids), so
    HubSpot matches companies by domain.
    """
    c = companies
    out = pd.DataFrame(
        {
            "Record ID": "",
            "Company name": _texts(c["name"]),
            "Company Domain Name": c["domain"],
            "Industry": c["industry"].map(_industry),
            "Number of Employees": c["employee_count"].astype("Int64"),
            "State/Region": _texts(c["region"]),
            "Lifecycle Stage": c["lifecycle_stage"].map(hubspot_stage),
            "Create Date": hubspot_times(c["created_at"], tz=tz),
        },
        index=c.index,
    )
    return out[COMPANY_HEADERS]


def hubspot_deals(
    deals: pd.DataFrame, *, rules: DealRules, pipeline: str, tz: tzinfo
) -> pd.DataFrame:
    """Deals (from `read_deals`) as a HubSpot deals import file.

    Deal Stage is the first alias the rules give a stage (closedwon, closedlost), else the
    stage's name; Record ID is the deal id when it is a HubSpot record id; the leadflow id
    is always in "leadflow Deal ID". Email and Company Domain Name associate the deal in a
    multi-object import; Associated Contact IDs carries the contact's HubSpot record id.
    """
    d = deals
    ids = deal_stage_ids(rules)
    out = pd.DataFrame(
        {
            "Record ID": d["source_deal_id"].map(record_id),
            "Deal Name": d["name"],
            "Pipeline": pipeline,
            "Deal Stage": d["stage"].map(lambda s: ids.get(s, s)),
            "Amount": amounts(d["amount"]),
            "Close Date": hubspot_times(d["closed_at"], tz=tz),
            "Create Date": hubspot_times(d["created_at"], tz=tz),
            "Closed Lost Reason": _texts(d["lost_reason"]),
            "Associated Contact IDs": d["contact_hubspot_id"].map(record_id),
            "Associated Company IDs": "",
            "Email": _texts(d["contact_email"]),
            "Company Domain Name": _texts(d["company_domain"]),
            DEAL_ID_PROPERTY: d["source_deal_id"],
        },
        index=d.index,
    )
    return out[DEAL_HEADERS]
