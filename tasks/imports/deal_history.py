"""Apply side of deal stages on import: deal-stage history and won deals' customers.

After a chunk's deals are written, reads them back, asks `tasks.imports.deal_stages`
which stage changes to record and which contacts a won deal makes customers, and
writes both in the import's transaction: history keyed by (deal, to_stage, at), stage
moves through `tasks.stage_history.apply_transitions` (which rolls the company up).
"""

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Table, select

from models.deal_rules import DealRules
from models.enums import Stage
from models.tables import Contact, Deal, DealStageHistory
from tasks.imports.deal_stages import decide_deal_stage_history, won_contacts
from tasks.imports.store import insert_ignore, read_by_keys
from tasks.stage_history import apply_transitions
from tasks.transitions import Proposal, decide_transitions

DEAL_WON_RULE = "deal_won"


def _table(model: type) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


CONTACTS, DEALS, DEAL_HISTORY = _table(Contact), _table(Deal), _table(DealStageHistory)


@dataclass(frozen=True)
class DealStagesRecorded:
    """How many deal-stage-history rows were new and how many contacts became customers."""

    history_rows: int
    customers: int


def record_deal_stages(
    conn: Connection,
    *,
    deal_ids: list[str],
    stored: pd.DataFrame,
    rules: DealRules,
    now: datetime,
    run_id: str,
) -> DealStagesRecorded:
    """Record the stage changes of the deals `deal_ids` (source ids) the import just wrote.

    `stored` holds deal_id and stage as they were before the import (missing: new deal).
    A contact whose deal was newly won moves to customer at the deal's close.
    """
    if not deal_ids:
        return DealStagesRecorded(0, 0)
    written = read_by_keys(
        conn,
        DEALS,
        key="source_deal_id",
        keys=deal_ids,
        columns=["id", "source_deal_id", "stage", "closed_at", "contact_id"],
    )
    before = dict(zip(stored["deal_id"], stored["stage"], strict=True))
    deals_now = pd.DataFrame(
        {
            "deal_id": written["id"].astype(int),
            "before": written["source_deal_id"].map(before).astype(object),
            "stage": written["stage"],
            "closed_at": written["closed_at"],
            "contact_id": written["contact_id"],
        }
    )
    history = decide_deal_stage_history(deals_now, rules=rules, now=now)
    added = insert_ignore(
        conn,
        DEAL_HISTORY,
        history.assign(run_id=run_id),
        keys=["deal_id", "to_stage", "at"],
    )
    won = won_contacts(history, deals_now, rules=rules)
    return DealStagesRecorded(added, _make_customers(conn, won, run_id))


def _make_customers(conn: Connection, won: dict[int, datetime], run_id: str) -> int:
    if not won:
        return 0
    statement = select(CONTACTS.c.id, CONTACTS.c.lifecycle_stage).where(
        CONTACTS.c.id.in_(sorted(won))
    )
    stages = {int(i): stage for i, stage in conn.execute(statement).all()}
    transitions = [
        move
        for contact_id, at in sorted(won.items())
        for move in decide_transitions(
            {contact_id: stages[contact_id]} if contact_id in stages else {},
            [Proposal(contact_id=contact_id, to_stage=Stage.CUSTOMER, rule=DEAL_WON_RULE)],
            as_of=at,
        )
    ]
    return len(apply_transitions(conn, transitions, run_id=run_id).transitions)
