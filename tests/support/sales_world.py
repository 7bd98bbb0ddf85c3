"""A small world of SQL contacts for the demo's simulated sales team, and its working days.

`seed_sql_contacts` writes companies and contacts that became sql (through mql) on the
business days after `first_sql`; `work_daily` runs the team (`app.sales_team.work_leads`)
over daily windows ending at 10:00 Tokyo, as the demo's daily replay does.
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from app.sales_team import SalesDay, work_leads
from models.rules import Rules
from models.tables import Company
from tests.support.seeding import Seeder

TZ = "Asia/Tokyo"


def seed_sql_contacts(seed: Seeder, *, count: int, first_sql: datetime) -> dict[int, datetime]:
    """`count` contacts at sql (one company per three), the n-th sql at `first_sql` + 5n h;
    returns contact id → when it became sql."""
    became: dict[int, datetime] = {}
    for n in range(count):
        domain = f"buyer{n // 3}.example.jp"
        if n % 3 == 0:
            seed.company(domain=domain, name=f"Buyer {n // 3} 株式会社", lifecycle_stage="sql")
        company = _company_id(seed, domain)
        sql_at = first_sql + timedelta(hours=5 * n)
        contact = seed.contact(
            email=f"c{n}@{domain}", company_id=company, lifecycle_stage="sql",
            lead_status="sales_ready", created_at=sql_at - timedelta(days=20),
        )
        seed.stage_change(contact_id=contact, from_stage="lead", to_stage="mql",
                          at=sql_at - timedelta(days=3), rule="mql_score")
        seed.stage_change(contact_id=contact, from_stage="mql", to_stage="sql", at=sql_at,
                          rule="lead_status:sales_ready")
        became[contact] = sql_at
    return became


def _company_id(seed: Seeder, domain: str) -> int:
    with seed.engine.connect() as conn:
        return int(conn.execute(select(Company.id).where(Company.domain == domain)).scalar_one())


def work_daily(
    engine: Engine, *, rules: Rules, first: datetime, days: int, seed: int = 7
) -> list[SalesDay]:
    """The team's work over `days` daily windows, the first ending at `first`."""
    out = []
    for n in range(days):
        end = first + timedelta(days=n)
        out.append(work_leads(engine, rules=rules, start=end - timedelta(days=1), end=end,
                              seed=seed, tz=TZ))
    return out


def tokyo_ten(year: int, month: int, day: int) -> datetime:
    """10:00 in Tokyo on that day, in UTC (the demo's daily replay hour)."""
    return datetime(year, month, day, 1, 0, tzinfo=UTC)
