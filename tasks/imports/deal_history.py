"""Apply side of deal stages on import: deal-stage history, opportunities, customers.

After a chunk's deals are written, reads them back, asks `tasks.imports.deal_stages`
which stage changes to record, which contacts a new deal makes opportunities and which a
won deal makes customers, and writes them in the import's transaction: history keyed by
(deal, to_stage, at), stage moves through `tasks.stage_history.apply_transitions` (which
rolls the company up).
"""

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Table, select

from models.deal_rules import DealRules
from models.enums import Stage
from models.tables import Contact, Deal, DealStageHistory
from tasks.imports.deal_stages import decide_deal_stage_history, opened_contacts, won_contacts
from tasks.imports.store import insert_ignore, read_by_keys
from tasks.stage_history import apply_transitions
from tasks.transitions import Proposal, decide_transitions

DEAL_WON_RULE = "deal_won"
DEAL_OPENED_RULE = "deal_opened"


def _table(model: type) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


CONTACTS, DEALS, DEAL_HISTORY = _table(Contact), _table(Deal), _table(DealStageHistory)


@dataclass(frozen=True)
class DealStagesRecorded:
    """How many deal-stage-history rows were new, and how many contacts became
    opportunities and customers."""

    history_rows: int
    customers: int
    opportunities: int = 0


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
    A contact with a newly created deal moves to opportunity at the deal's creation (from
    lead, MQL or SQL; the lifecycle's allowed moves decide), then one whose deal was newly
    won moves to customer at the deal's close.
    """
    if not deal_ids:
        return DealStagesRecorded(0, 0)
    written = read_by_keys(
        conn,
        DEALS,
        key="source_deal_id",
        keys=deal_ids,
        columns=["id", "source_deal_id", "stage", "created_at", "closed_at", "contact_id"],
    )
    before = dict(zip(stored["deal_id"], stored["stage"], strict=True))
    deals_now = pd.DataFrame(
        {
            "deal_id": written["id"].astype(int),
            "before": written["source_deal_id"].map(before).astype(object),
            "stage": written["stage"],
            "created_at": written["created_at"],
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
    opened = _move(conn, opened_contacts(deals_now), Stage.OPPORTUNITY, DEAL_OPENED_RULE, run_id)
    won = won_contacts(history, deals_now, rules=rules)
    customers = _move(conn, won, Stage.CUSTOMER, DEAL_WON_RULE, run_id)
    return DealStagesRecorded(added, customers, opened)


def _move(
    conn: Connection, moves: dict[int, datetime], stage: Stage, rule: str, run_id: str
) -> int:
    """Move each contact of `moves` to `stage` at its instant, where the lifecycle allows."""
    if not moves:
        return 0
    statement = select(CONTACTS.c.id, CONTACTS.c.lifecycle_stage).where(
        CONTACTS.c.id.in_(sorted(moves))
    )
    stages = {int(i): current for i, current in conn.execute(statement).all()}
    transitions = [
        move
        for contact_id, at in sorted(moves.items())
        for move in decide_transitions(
            {contact_id: stages[contact_id]} if contact_id in stages else {},
            [Proposal(contact_id=contact_id, to_stage=stage, rule=rule)],
            as_of=at,
        )
    ]
    return len(apply_transitions(conn, transitions, run_id=run_id).transitions)
