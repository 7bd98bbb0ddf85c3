"""Decide beat of `leadflow import` for the keyed tables: owners, companies, contacts.

Pure: typed file rows and stored rows in, frames of inserts and updates out; the
import's instant comes in as `now`.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from models.enums import STAGE_ORDER, Stage
from tasks.imports.columns import quarantine_frame
from tasks.imports.hubspot_sent import SENT_COLUMNS, merge_sent_values

# Free-mail domains say nothing about the employer: no company is made from them.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.jp",
        "ymail.ne.jp",
        "hotmail.com",
        "hotmail.co.jp",
        "outlook.com",
        "outlook.jp",
        "live.jp",
        "live.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "docomo.ne.jp",
        "ezweb.ne.jp",
        "softbank.ne.jp",
        "i.softbank.jp",
        "au.com",
        "nifty.com",
    }
)


@dataclass(frozen=True)
class TablePlan:
    """What to write to one table: new rows, changed rows (with `id`), and the rest."""

    inserts: pd.DataFrame
    updates: pd.DataFrame
    unchanged: int
    quarantine: pd.DataFrame = field(default_factory=quarantine_frame)
    notes: dict[str, int] = field(default_factory=dict)


def _same(new: Any, old: Any) -> bool:
    if isinstance(new, float) and isinstance(old, float | int):
        return math.isclose(new, old, rel_tol=1e-9, abs_tol=1e-9)
    return bool(new == old)


def plan_upsert(
    incoming: pd.DataFrame, stored: pd.DataFrame, *, key: str, columns: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split rows into inserts and matches; for matches, merge values and mark changes.

    A blank incoming cell keeps the stored value (exports often omit what they do not
    know). Returns (inserts, merged matches with `id`, per-column change flags of the
    matches).
    """
    known = incoming[key].isin(stored[key])
    inserts = incoming[~known]
    matches = incoming[known].merge(
        stored[["id", key, *columns]], on=key, how="left", suffixes=("", "__stored")
    )
    changed = pd.DataFrame(index=matches.index)
    for column in columns:
        new, old = matches[column], matches[f"{column}__stored"]
        differs = pd.Series(
            [
                (not pd.isna(n)) and (pd.isna(o) or not _same(n, o))
                for n, o in zip(new.astype(object), old.astype(object), strict=True)
            ],
            index=matches.index,
            dtype=bool,
        )
        changed[column] = differs
        matches[column] = new.astype(object).where(new.notna(), old.astype(object))
    matches = matches.drop(columns=[f"{c}__stored" for c in columns])
    return inserts, matches, changed


def upsert_plan(
    incoming: pd.DataFrame,
    stored: pd.DataFrame,
    *,
    key: str,
    columns: list[str],
    defaults: Mapping[str, Any],
    now: datetime,
) -> tuple[TablePlan, pd.DataFrame]:
    """Inserts and updates of one keyed table; also returns the change flags of updates."""
    inserts, matches, changed = plan_upsert(incoming, stored, key=key, columns=columns)
    inserts = inserts[[key, *columns]].astype(object).copy()
    for column, default in defaults.items():
        inserts[column] = inserts[column].where(inserts[column].notna(), default)
    if "created_at" not in columns:
        inserts["created_at"] = now
    inserts["updated_at"] = now
    touched = changed.any(axis=1)
    updates = matches[touched][["id", key, *columns]].copy()
    updates["updated_at"] = now
    plan = TablePlan(inserts=inserts, updates=updates, unchanged=int((~touched).sum()))
    return plan, changed[touched]


OWNER_COLUMNS = ["name", "team", "manager_email", "slack_user_id", "active", "weight"]


def decide_owners(incoming: pd.DataFrame, stored: pd.DataFrame, *, now: datetime) -> TablePlan:
    """Owners by email: insert new ones (name defaults to the email's local part, team to
    marketing, active, weight 1); update the attributes that changed."""
    rows = incoming.copy()
    rows["name"] = rows["name"].where(rows["name"].notna(), rows["email"].str.split("@").str[0])
    plan, _ = upsert_plan(
        rows,
        stored,
        key="email",
        columns=OWNER_COLUMNS,
        defaults={"team": "marketing", "active": True, "weight": 1.0},
        now=now,
    )
    return plan


COMPANY_COLUMNS = ["name", "industry", "employee_count", "region"]
# Scoring reads these from the company when the contact lacks them.
COMPANY_SCORING_COLUMNS = ["industry", "employee_count", "region"]


def decide_companies(
    incoming: pd.DataFrame, stored: pd.DataFrame, *, now: datetime
) -> tuple[TablePlan, list[int]]:
    """Companies by domain; also returns the ids whose scoring attributes changed, whose
    contacts therefore need rescoring."""
    plan, changed = upsert_plan(
        incoming, stored, key="domain", columns=COMPANY_COLUMNS, defaults={}, now=now
    )
    rescore = changed[COMPANY_SCORING_COLUMNS].any(axis=1)
    ids = [int(i) for i in plan.updates.loc[rescore[rescore].index, "id"]]
    return plan, ids


def contact_company_domains(rows: pd.DataFrame) -> pd.Series:
    """The company domain of each contact: `company_domain`, else the email's domain unless
    it is a free-mail domain (missing then)."""
    from_email = rows["email"].str.split("@").str[-1]
    from_email = from_email.where(~from_email.isin(FREE_MAIL_DOMAINS))
    return rows["company_domain"].where(rows["company_domain"].notna(), from_email).astype("str")


def decide_missing_companies(
    wanted: pd.DataFrame, stored_domains: Iterable[str], *, now: datetime
) -> pd.DataFrame:
    """Companies to create for domains nobody has yet; `wanted` has `domain` and `name`."""
    rows = wanted[wanted["domain"].notna() & ~wanted["domain"].isin(list(stored_domains))]
    # The first row that names the company wins; rows without a name only if none does.
    named_first = rows["name"].isna().sort_values(kind="stable").index
    rows = rows.loc[named_first].drop_duplicates("domain")
    out = rows[["domain", "name"]].astype(object)
    out = out.where(out.notna(), None)
    out["created_at"] = now
    out["updated_at"] = now
    return out.reset_index(drop=True)


def resolve_owners(values: pd.Series, owners: pd.DataFrame) -> tuple[pd.Series, dict[str, int]]:
    """Owner cells (an email or a display name) → owner ids; unknown ones are counted.

    Names match ignoring case and spaces ("山田 太郎" = "山田太郎"); a name two owners
    share is ambiguous and resolves to nobody.
    """
    by_email = dict(zip(owners["email"].str.lower(), owners["id"], strict=True))
    names = owners["name"].astype("str").str.casefold().str.replace(r"\s+", "", regex=True)
    unique_names = ~names.duplicated(keep=False)
    by_name = dict(zip(names[unique_names], owners["id"][unique_names], strict=True))
    is_email = values.str.contains("@", regex=False).fillna(False).astype(bool)
    ids = pd.Series(pd.NA, index=values.index, dtype="Int64")
    ids[is_email] = values[is_email].str.lower().map(by_email)
    folded = values[~is_email].str.casefold().str.replace(r"\s+", "", regex=True)
    ids[~is_email] = folded.map(by_name)
    missing = values[values.notna() & ids.isna()]
    notes = {
        f"owner '{owner}' not found: kept without an owner": int(count)
        for owner, count in missing.value_counts().items()
    }
    return ids.astype("Int64"), notes


CONTACT_COLUMNS = [
    "hubspot_id",
    "first_name",
    "last_name",
    "company_id",
    "job_title",
    "industry",
    "employee_count",
    "region",
    "lead_source",
    "consent",
    "timezone",
    "lead_status",
    "owner_id",
]
# A change to any of these bumps contacts.updated_at, the rescoring watermark.
CONTACT_SCORING_COLUMNS = ["job_title", "industry", "employee_count", "region", "company_id"]


@dataclass(frozen=True)
class ContactPlan(TablePlan):
    """A contacts plan plus the stage moves an import makes on existing contacts, and every
    row's stage before and after the import (email, before, after, moved)."""

    stage_moves: pd.DataFrame = field(default_factory=pd.DataFrame)
    stages: pd.DataFrame = field(default_factory=pd.DataFrame)


def decide_contacts(
    incoming: pd.DataFrame,
    stored: pd.DataFrame,
    *,
    companies: pd.DataFrame,
    owners: pd.DataFrame,
    now: datetime,
) -> ContactPlan:
    """Contacts by email: insert new ones; update changed attributes of known ones.

    `updated_at` is set on insert and bumped only when a scoring attribute changes. The
    lifecycle stage of a known contact only moves forward (STAGE_ORDER), and each move is
    returned in `stage_moves` (id, from_stage, to_stage) for the stage history. Rows of a
    HubSpot file carry the stage and status as HubSpot sent them (`SENT_COLUMNS`, see
    `tasks.imports.hubspot_sent`; `stored` then has them too); other files leave them be.
    """
    sent = [column for column in SENT_COLUMNS if column in incoming]
    rows = incoming.copy()
    domain_ids = dict(zip(companies["domain"], companies["id"], strict=True))
    rows["company_id"] = contact_company_domains(rows).map(domain_ids).astype("Int64")
    rows["owner_id"], notes = resolve_owners(rows["owner"], owners)
    inserts, matches, changed = plan_upsert(rows, stored, key="email", columns=CONTACT_COLUMNS)

    new = inserts[["email", *CONTACT_COLUMNS, *sent, "lifecycle_stage", "created_at"]]
    new = new.astype(object)
    new = new.where(new.notna(), None)
    new["lifecycle_stage"] = new["lifecycle_stage"].where(
        new["lifecycle_stage"].notna(), Stage.LEAD.value
    )
    new["consent"] = new["consent"].where(new["consent"].notna(), False)
    new["created_at"] = new["created_at"].where(new["created_at"].notna(), now)
    new["updated_at"] = now

    stored_stage = stored.set_index("email")[["lifecycle_stage", "updated_at"]].astype(object)
    current = matches["email"].map(stored_stage["lifecycle_stage"])
    wanted = matches["lifecycle_stage"]
    rank = {s.value: r for s, r in STAGE_ORDER.items()}
    forward = wanted.notna() & (wanted.map(rank) > current.map(rank).fillna(-math.inf))
    matches["lifecycle_stage"] = wanted.where(forward, current)
    rescore = changed[CONTACT_SCORING_COLUMNS].any(axis=1)
    matches["updated_at"] = matches["email"].map(stored_stage["updated_at"])
    matches.loc[rescore, "updated_at"] = now
    touched = changed.any(axis=1) | forward
    if sent:
        merged, sent_changed = merge_sent_values(matches, stored)
        matches[sent] = merged[sent]
        touched |= sent_changed
    updates = matches[touched][
        ["id", "email", *CONTACT_COLUMNS, *sent, "lifecycle_stage", "updated_at"]
    ]
    moves = pd.DataFrame(
        {
            "contact_id": matches.loc[forward, "id"].to_numpy(),
            "from_stage": current[forward].to_numpy(),
            "to_stage": wanted[forward].to_numpy(),
        }
    )
    stages = pd.concat(
        [
            pd.DataFrame(
                {"email": new["email"], "before": None, "after": new["lifecycle_stage"]}
            ).assign(moved=False),
            pd.DataFrame(
                {"email": matches["email"], "before": current, "after": matches["lifecycle_stage"]}
            ).assign(moved=forward.astype(bool)),
        ],
        ignore_index=True,
    )
    return ContactPlan(
        inserts=new.reset_index(drop=True),
        updates=updates.reset_index(drop=True),
        unchanged=int((~touched).sum()),
        notes=notes,
        stage_moves=moves,
        stages=stages,
    )


