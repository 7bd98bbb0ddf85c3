"""Decide beat of `leadflow import` for events, activities and deals.

Pure: typed file rows, the contacts they name and stored rows in; inserts, updates and
quarantine records out. The import's instant comes in as `now`.
"""

from collections.abc import Mapping
from datetime import datetime

import pandas as pd

from tasks.imports.columns import NO_CONTACT, QUARANTINE_COLUMNS
from tasks.imports.decide import TablePlan, resolve_owners, upsert_plan


def _unknown_contacts(rows: pd.DataFrame, ids: pd.Series, *, field: str) -> pd.DataFrame:
    missing = rows[ids.isna()]
    return pd.DataFrame(
        {
            "row_number": missing["line"].to_numpy(),
            "field": field,
            "value": missing["email"].to_numpy(),
            "reason": NO_CONTACT,
        },
        columns=QUARANTINE_COLUMNS,
    )


def decide_events(
    incoming: pd.DataFrame, contact_ids: Mapping[str, int], *, now: datetime
) -> TablePlan:
    """Events to insert (insert-ignore by source event id); unknown emails → quarantine."""
    ids = incoming["email"].map(contact_ids).astype("Int64")
    known = incoming[ids.notna()]
    inserts = pd.DataFrame(
        {
            "source_event_id": known["event_id"],
            "contact_id": ids[ids.notna()],
            "type": known["type"],
            "detail": known["detail"],
            "occurred_at": known["occurred_at"],
        }
    )
    inserts["ingested_at"] = now
    return TablePlan(
        inserts=inserts.reset_index(drop=True),
        updates=pd.DataFrame(),
        unchanged=0,
        quarantine=_unknown_contacts(incoming, ids, field="email"),
    )


def decide_activities(
    incoming: pd.DataFrame,
    contact_ids: Mapping[str, int],
    *,
    owners: pd.DataFrame,
    now: datetime,
) -> TablePlan:
    """Activities to insert (insert-ignore by activity id); unknown contact emails →
    quarantine, unknown owner emails → kept without an owner and counted."""
    ids = incoming["email"].map(contact_ids).astype("Int64")
    owner_ids, notes = resolve_owners(incoming["owner_email"], owners)
    known = ids.notna()
    inserts = pd.DataFrame(
        {
            "source_activity_id": incoming.loc[known, "activity_id"],
            "contact_id": ids[known],
            "owner_id": owner_ids[known],
            "type": incoming.loc[known, "type"],
            "outcome": incoming.loc[known, "outcome"],
            "occurred_at": incoming.loc[known, "occurred_at"],
            "note": incoming.loc[known, "note"],
        }
    )
    inserts["ingested_at"] = now
    return TablePlan(
        inserts=inserts.reset_index(drop=True),
        updates=pd.DataFrame(),
        unchanged=0,
        quarantine=_unknown_contacts(incoming, ids, field="email"),
        notes=notes,
    )


DEAL_COLUMNS = [
    "company_id",
    "contact_id",
    "name",
    "stage",
    "amount",
    "created_at",
    "closed_at",
    "lost_reason",
]


def decide_deals(
    incoming: pd.DataFrame,
    stored: pd.DataFrame,
    *,
    companies: pd.DataFrame,
    contacts: pd.DataFrame,
    now: datetime,
    contact_label: str = "contact_email",
) -> TablePlan:
    """Deals by deal id; the company comes from company_domain, else from the contact.

    `contacts` has email, id and company_id of the contacts the file names; a deal that
    names an unknown contact is quarantined.
    """
    rows = incoming.copy()
    by_email = contacts.set_index("email")
    rows["contact_id"] = rows["contact_email"].map(by_email["id"]).astype("Int64")
    unknown = rows["contact_email"].notna() & rows["contact_id"].isna()
    quarantine = pd.DataFrame(
        {
            "row_number": rows.loc[unknown, "line"].to_numpy(),
            "field": contact_label,
            "value": rows.loc[unknown, "contact_email"].to_numpy(),
            "reason": NO_CONTACT,
        },
        columns=QUARANTINE_COLUMNS,
    )
    rows = rows[~unknown]
    domain_ids = dict(zip(companies["domain"], companies["id"], strict=True))
    from_domain = rows["company_domain"].map(domain_ids)
    from_contact = rows["contact_email"].map(by_email["company_id"])
    rows["company_id"] = from_domain.where(from_domain.notna(), from_contact).astype("Int64")
    plan, _ = upsert_plan(
        rows, stored, key="deal_id", columns=DEAL_COLUMNS, defaults={"created_at": now}, now=now
    )
    inserts = plan.inserts.rename(columns={"deal_id": "source_deal_id"})
    updates = plan.updates.rename(columns={"deal_id": "source_deal_id"})
    return TablePlan(
        inserts=inserts, updates=updates, unchanged=plan.unchanged, quarantine=quarantine
    )
