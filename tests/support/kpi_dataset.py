"""The KPI report's hand-computed dataset: April 2026 in Asia/Tokyo.

The frames below are what the read beat would hand over; `seed_kpi_dataset` writes the
same rows into a database, so the unit test (compute) and the integration test (CLI on
SQLite and PostgreSQL) check the same hand computation (tests/unit/test_kpi_compute.py).
"""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from tasks.kpi.compute import KpiFrames, KpiPeriod
from tests.support.seeding import Seeder

JST = ZoneInfo("Asia/Tokyo")
PERIOD = KpiPeriod(
    start=datetime(2026, 4, 1, tzinfo=JST), end=datetime(2026, 5, 1, tzinfo=JST), tz=JST,
    won_stages=("won", "closedwon"), lost_stages=("lost", "closedlost"),
)


def jst(month: int, day: int, hour: int = 9) -> datetime:
    """An instant in 2026, Tokyo time."""
    return datetime(2026, month, day, hour, tzinfo=JST)


def frame(columns: str, rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns.split())


# Contacts (id, lead source, created). New leads in April: 2, 3, 4, 5, 6 → 5.
CONTACTS = frame("id lead_source created_at", [
    (1, "web", jst(3, 20)), (2, "web", jst(4, 1, 10)), (3, "event", jst(4, 2)),
    (4, None, jst(4, 3)), (5, "event", jst(4, 4)), (6, "web", jst(4, 5)), (7, "web", jst(3, 1)),
])
STAGES = frame("contact_id to_stage at", [
    # 1: the whole funnel inside April (lead since March 20).
    (1, "lead", jst(3, 20)), (1, "mql", jst(4, 2)), (1, "sql", jst(4, 5)),
    (1, "opportunity", jst(4, 6)), (1, "customer", jst(4, 12)),
    (2, "mql", jst(4, 3)), (2, "sql", jst(4, 10)),
    (3, "mql", jst(4, 1, 0)),  # exactly at the period's start: counts
    # 4: first MQL in March, recycled, MQL again in April: NOT in April's cohort.
    (4, "mql", jst(3, 25)), (4, "lead", jst(3, 30)), (4, "mql", jst(4, 15)),
    (4, "sql", jst(4, 16)),
    # 5: SQL and customer only after the period's end.
    (5, "mql", jst(4, 28)), (5, "sql", jst(5, 2)), (5, "customer", jst(5, 3)),
    (7, "mql", jst(5, 1, 0)),  # exactly at the period's end: does not count
])
SNAPSHOTS = frame("contact_id as_of score", [
    (1, jst(3, 30), 40), (1, jst(4, 2, 8), 62), (1, jst(4, 3), 80),
    (2, jst(4, 3), 65), (5, jst(4, 28, 8), 58), (4, jst(4, 14), 72), (6, jst(4, 10), 31),
    (7, jst(5, 1, 0), 95),
    (3, jst(3, 31, 20), 45),  # before the period: read only because 3 is in the cohort
])
DEALS = frame("id contact_id stage amount created_at closed_at", [
    (1, 1, "won", 1000.0, jst(3, 12), jst(4, 12)),  # 31 days
    (2, 3, "closedwon", 500.0, jst(4, 1), jst(4, 21)),  # 20 days; 3 was MQL, never SQL
    (3, 2, "lost", 700.0, jst(4, 2), jst(4, 25)),
    (4, 6, "won", 9999.0, jst(4, 2), jst(5, 1, 0)),  # closed at the end: not in April
    (5, 6, "won", 250.0, jst(4, 2), jst(4, 10)),  # 8 days; 6 was never MQL
    (6, 2, "value_agreed", 300.0, jst(4, 2), None),
])
DEAL_STAGES = frame("deal_id to_stage at", [
    (1, "problem_agreed", jst(3, 12)), (1, "value_agreed", jst(3, 20)), (1, "won", jst(4, 12)),
    (2, "value_agreed", jst(4, 1)), (2, "terms_agreed", jst(4, 11)), (2, "won", jst(4, 21)),
])
CLOCKS = frame("contact_id policy started_at due_at satisfied_at closed_at", [
    (1, "first_touch", jst(4, 2), jst(4, 3), jst(4, 2, 15), None),  # 6 h, in time
    (2, "first_touch", jst(4, 3), jst(4, 4), jst(4, 4, 21), None),  # 36 h, late
    (3, "first_touch", jst(4, 1, 0), jst(4, 2, 0), None, None),  # overdue: missed
    (5, "first_touch", jst(4, 28), jst(4, 29), None, jst(4, 28, 12)),  # closed: left out
    (4, "first_touch", jst(3, 25), jst(3, 26), jst(3, 25, 10), None),  # March: left out
    (4, "first_touch", jst(4, 15), jst(4, 16), jst(4, 15, 12), None),  # 3 h, in time
    (1, "sql_decision", jst(4, 2), jst(4, 9), jst(4, 5), None),  # in time
    (2, "sql_decision", jst(4, 3), jst(4, 10), jst(4, 10), None),  # on the due instant: in time
    (5, "sql_decision", jst(4, 28), jst(5, 8), None, None),  # not yet due: undecided
    (3, "sql_decision", jst(4, 1, 0), jst(4, 8, 0), None, None),  # overdue: missed
])
TASKS = frame("owner_id due_at done_at", [
    (1, jst(4, 2), jst(4, 2, 10)), (1, jst(4, 7), jst(4, 8)), (1, jst(4, 13), None),
    (2, jst(4, 3), jst(5, 2)),  # done only after the period: not done
    (2, jst(3, 30), jst(3, 30)),  # due in March: left out
    (None, jst(4, 20), jst(4, 20, 10)),
])
OWNERS = frame("id name", [(1, "Aoki"), (2, "Baba")])
FRAMES = KpiFrames(
    contacts=CONTACTS, stage_history=STAGES, snapshots=SNAPSHOTS, deals=DEALS,
    deal_stage_history=DEAL_STAGES, sla_clocks=CLOCKS, follow_up_tasks=TASKS, owners=OWNERS,
)


def _rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as dicts, missing cells (None, NaN, NaT) as None."""
    records = table.astype(object).to_dict("records")
    return [{k: None if v is None or pd.isna(v) else v for k, v in row.items()}
            for row in records]


def seed_kpi_dataset(seed: Seeder) -> None:
    """Write FRAMES into the database through the seeder (ids are mapped, not assumed)."""
    contact = {row["id"]: seed.contact(email=f"c{row['id']}@example.com",
                                       lead_source=row["lead_source"],
                                       created_at=row["created_at"])
               for row in _rows(CONTACTS)}
    owner = {row["id"]: seed.owner(email=f"{row['name'].lower()}@example.com", name=row["name"])
             for row in _rows(OWNERS)}
    for row in _rows(STAGES):
        seed.stage_change(contact_id=contact[row["contact_id"]], from_stage=None,
                          to_stage=row["to_stage"], at=row["at"], rule="kpi-dataset")
    for row in _rows(SNAPSHOTS):
        seed.snapshot(contact_id=contact[row["contact_id"]], score=int(row["score"]),
                      as_of=row["as_of"])
    deal = {row["id"]: seed.deal(contact_id=contact[row["contact_id"]], stage=row["stage"],
                                 amount=row["amount"], created_at=row["created_at"],
                                 closed_at=row["closed_at"])
            for row in _rows(DEALS)}
    for row in _rows(DEAL_STAGES):
        seed.deal_stage_change(deal_id=deal[row["deal_id"]], from_stage=None,
                               to_stage=row["to_stage"], at=row["at"])
    for cycle, row in enumerate(_rows(CLOCKS), start=1):
        seed.sla_clock(contact_id=contact[row["contact_id"]], policy=row["policy"], cycle=cycle,
                       started_at=row["started_at"], due_at=row["due_at"],
                       satisfied_at=row["satisfied_at"], closed_at=row["closed_at"])
    for cycle, row in enumerate(_rows(TASKS), start=1):
        owner_id = row["owner_id"]
        seed.follow_up_task(contact_id=contact[1], cycle=cycle, due_at=row["due_at"],
                            done_at=row["done_at"],
                            owner_id=None if owner_id is None else owner[int(owner_id)])
