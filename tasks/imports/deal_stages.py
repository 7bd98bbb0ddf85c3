"""Deal stages on import (pure): names → the rules' pipeline, history rows, won contacts.

A deal's stage must be a stage or outcome of `rules.deals` (or an alias, or what
`--stage-map` maps); anything else is quarantined by name. Each stage a deal enters
becomes a deal-stage-history row; a newly won deal makes its contact a customer.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime

import pandas as pd

from models.deal_rules import DealRules, fold_deal_stage

UNKNOWN_DEAL_STAGE = "unknown deal stage"
HISTORY_COLUMNS = ["deal_id", "from_stage", "to_stage", "at"]


def parse_deal_stage_map(entries: Iterable[str], deals: DealRules) -> dict[str, str]:
    """Parse `CUSTOM=stage` entries whose target is a deal stage or outcome of `deals`.

    Keys are folded like known names (case and punctuation do not matter). Raises
    ValueError with a message for the operator when an entry is malformed or its target
    is not in the pipeline.
    """
    mapping: dict[str, str] = {}
    for entry in entries:
        custom, sep, target = entry.rpartition("=")
        if not sep or not custom.strip() or not target.strip():
            raise ValueError(
                f"--stage-map '{entry}': write it as CUSTOM=stage, e.g. 'Engaging=value_agreed'"
            )
        stage = deals.resolve(target)
        if stage is None:
            raise ValueError(
                f"--stage-map '{entry}': '{target.strip()}' is not a deal stage "
                f"(one of {', '.join(deals.names)})"
            )
        mapping[fold_deal_stage(custom)] = stage
    return mapping


def unknown_deal_stage_reason(value: str, deals: DealRules) -> str:
    """The quarantine reason for a stage nobody mapped; it names the stage."""
    return (
        f"{UNKNOWN_DEAL_STAGE} '{value}': map it with --stage-map '{value}=<deal stage>' "
        f"or add it to deals.stages in the rules (deal stages: {', '.join(deals.names)})"
    )


def map_deal_stages(
    values: pd.Series, *, deals: DealRules, stage_map: Mapping[str, str]
) -> tuple[pd.Series, pd.DataFrame]:
    """Deal stage cells → the rules' names, and the cells naming no known stage.

    Returns the mapped series (unknown and blank cells left as written) and a frame of
    index, column, value, reason for each unknown stage.
    """
    lookup = {**deals.lookup(), **stage_map}
    present = values.notna()
    folded = values[present].map(fold_deal_stage)
    mapped = folded.map(lookup)
    unknown = values[present][mapped.isna()]
    out = values.astype(object).copy()
    out[mapped.index] = mapped.where(mapped.notna(), values[present])
    cells = pd.DataFrame(
        {
            "index": unknown.index,
            "column": "stage",
            "value": unknown.to_numpy(),
            "reason": [unknown_deal_stage_reason(str(v), deals) for v in unknown],
        },
        columns=["index", "column", "value", "reason"],
    )
    return out.astype("str"), cells


def decide_deal_stage_history(
    deals_now: pd.DataFrame, *, rules: DealRules, now: datetime
) -> pd.DataFrame:
    """History rows for deals whose stage the import set or changed.

    `deals_now` has deal_id, before (the stored stage, None for a new deal), stage and
    closed_at. A row is written when the stage differs from what was stored (aliases
    compared as the stage they name); it is dated `closed_at` for a won/lost outcome that
    has one, else `now`.
    """
    if deals_now.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    before = deals_now["before"].map(lambda v: None if pd.isna(v) else rules.resolve(v) or v)
    moved = deals_now[before.astype(object) != deals_now["stage"].astype(object)]
    closed = moved["stage"].isin([rules.won, rules.lost]) & moved["closed_at"].notna()
    at = pd.Series([now] * len(moved), index=moved.index, dtype=object)
    at[closed] = moved.loc[closed, "closed_at"].astype(object)
    return pd.DataFrame(
        {
            "deal_id": moved["deal_id"].to_numpy(),
            "from_stage": deals_now.loc[moved.index, "before"].astype(object).to_numpy(),
            "to_stage": moved["stage"].to_numpy(),
            "at": at.to_numpy(),
        },
        columns=HISTORY_COLUMNS,
    )


def won_contacts(
    history: pd.DataFrame, deals_now: pd.DataFrame, *, rules: DealRules
) -> dict[int, datetime]:
    """contact_id → when it became a customer: the earliest newly won deal of each contact.

    `history` is what `decide_deal_stage_history` returned; `deals_now` maps deal_id to
    contact_id. Deals without a contact make nobody a customer.
    """
    won = history[history["to_stage"] == rules.won]
    contacts = deals_now.set_index("deal_id")["contact_id"]
    out: dict[int, datetime] = {}
    for deal_id, at in zip(won["deal_id"], won["at"], strict=True):
        contact = contacts.get(deal_id)
        if contact is None or pd.isna(contact):
            continue
        moment = pd.Timestamp(at).to_pydatetime()
        key = int(contact)
        if key not in out or moment < out[key]:
            out[key] = moment
    return out


def opened_contacts(deals_now: pd.DataFrame) -> dict[int, datetime]:
    """contact_id → when it became an opportunity: the earliest deal of each contact that
    this import created (`before` missing), at the deal's `created_at`.

    An opportunity is a contact with a deal (DOMAIN: "opportunity = a deal exists"), so a
    deal opened for a lead, MQL or SQL moves it to opportunity when the deal was created.
    """
    new = deals_now[deals_now["before"].isna() & deals_now["contact_id"].notna()]
    out: dict[int, datetime] = {}
    for contact, created in zip(new["contact_id"], new["created_at"], strict=True):
        if pd.isna(created):
            continue
        moment = pd.Timestamp(created).to_pydatetime()
        key = int(contact)
        if key not in out or moment < out[key]:
            out[key] = moment
    return out
