"""The demo's daily CRM sync: field sales' deal changes, imported as `leadflow import deals`.

Once per business day (`SYNC_AT`) the deals that `app.sales_deals` planned for that day —
opened, moved a stage, won or lost — are written as a deals CSV file and imported with
`import_file`, the function behind `leadflow import deals`. Opportunities (a new deal's
contact), deal-stage history, won customers and lost re-nurture thus come from the
product's own code. The files stay next to a SQLite database, under `csv/deals/`, to read
or re-import.
"""

import csv
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select

from app.sales_deals import SYNC_AT, DealPlan, DealStep, plan_deal, sync_instants
from models.deal_rules import DealRules
from models.enums import Stage
from models.rules import Rules
from models.tables import Company, Contact, Deal, StageHistory
from tasks.imports import ImportKind, import_file
from tasks.sla.calendar import BusinessCalendar

DEAL_COLUMNS = [
    "deal_id", "company_domain", "contact_email", "name", "stage", "amount", "created_at",
    "closed_at", "lost_reason",
]


@dataclass
class DealSync:
    """What the daily syncs of one window did."""

    syncs: int = 0
    opened: int = 0
    moved: int = 0
    won: int = 0
    lost: int = 0
    quarantined: int = 0


@dataclass(frozen=True)
class _SqlContact:
    contact_id: int
    email: str
    stage: str | None
    sql_at: datetime
    domain: str | None
    company: str | None


def _sql_contacts(conn: Connection, *, up_to: datetime) -> list[_SqlContact]:
    """Contacts that entered sql by `up_to`, with their first entry and current stage."""
    first_sql = (
        select(StageHistory.contact_id, func.min(StageHistory.at).label("sql_at"))
        .where(StageHistory.to_stage == Stage.SQL.value, StageHistory.at <= up_to)
        .group_by(StageHistory.contact_id)
        .subquery()
    )
    rows = conn.execute(
        select(Contact.id, Contact.email, Contact.lifecycle_stage, first_sql.c.sql_at,
               Company.domain, Company.name)
        .join(first_sql, first_sql.c.contact_id == Contact.id)
        .outerjoin(Company, Company.id == Contact.company_id)
        .order_by(Contact.id)
    ).all()
    return [
        _SqlContact(int(cid), email, stage, _aware(at), domain, company)
        for cid, email, stage, at, domain, company in rows
    ]


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; they are stored in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _stored_deals(conn: Connection, deal_ids: list[str]) -> dict[str, str]:
    if not deal_ids:
        return {}
    rows = conn.execute(
        select(Deal.source_deal_id, Deal.stage).where(Deal.source_deal_id.in_(deal_ids))
    ).all()
    return {str(deal_id): str(stage) for deal_id, stage in rows}


def _deal_row(plan: DealPlan, step: DealStep, contact: _SqlContact, zone: ZoneInfo) -> list[str]:
    created = datetime.combine(plan.opened_on, SYNC_AT, tzinfo=zone).astimezone(UTC)
    company = contact.company or contact.domain or contact.email
    return [
        plan.deal_id, contact.domain or "", contact.email, f"{company}: {plan.kind}", step.stage,
        str(plan.amount), created.isoformat(),
        step.closed_at.isoformat() if step.closed_at else "",
        (plan.lost_reason or "") if step.closed_at else "",
    ]


@contextmanager
def _crm_folder(engine: Engine) -> Iterator[Path]:
    """Where the sync files go: `csv/deals/` beside a SQLite file, else a temporary folder."""
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database and database != ":memory:":
        folder = Path(database).parent / "csv" / "deals"
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="leadflow-deals-") as name:
        yield Path(name)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def sync_deals(
    engine: Engine,
    *,
    rules: Rules,
    start: datetime,
    end: datetime,
    seed: int,
    calendar: BusinessCalendar,
) -> DealSync:
    """Import the deal changes of every daily sync in (start, end], oldest first.

    A deal opens only for a contact still at sql on its opening day; later steps apply to
    an open deal only, and a sync brings a deal to the step its plan reached by that day
    (so a missed sync catches up). Same seed and same history → same deals.
    """
    done = DealSync()
    instants = sync_instants(start, end, calendar)
    if not instants:
        return done
    with engine.connect() as conn:
        contacts = _sql_contacts(conn, up_to=instants[-1])
    plans = {
        c.contact_id: plan_deal(seed, c.contact_id, c.sql_at, deals=rules.deals,
                                calendar=calendar)
        for c in contacts
    }
    with _crm_folder(engine) as folder:
        for at in instants:
            _sync_once(engine, at=at, contacts=contacts, plans=plans, rules=rules,
                       calendar=calendar, folder=folder, done=done)
    return done


def _sync_once(
    engine: Engine,
    *,
    at: datetime,
    contacts: list[_SqlContact],
    plans: dict[int, DealPlan | None],
    rules: Rules,
    calendar: BusinessCalendar,
    folder: Path,
    done: DealSync,
) -> None:
    day = at.astimezone(calendar.zone).date()
    due = [(c, plan) for c in contacts if c.sql_at <= at and (plan := plans[c.contact_id])]
    with engine.connect() as conn:
        stored = _stored_deals(conn, [plan.deal_id for _, plan in due])
    rows: list[list[str]] = []
    opened: list[str] = []
    for contact, plan in due:
        step = plan.state_on(day)
        if step is None:
            continue
        before = stored.get(plan.deal_id)
        if before is None and contact.stage != Stage.SQL.value:
            continue  # recycled or disqualified before sales opened the deal
        if before is not None and (before in (rules.deals.won, rules.deals.lost)
                                   or before == step.stage):
            continue
        rows.append(_deal_row(plan, step, contact, calendar.zone))
        if before is None:
            opened.append(contact.email)
        done.won += step.stage == rules.deals.won
        done.lost += step.stage == rules.deals.lost
        done.moved += before is not None and step.closed_at is None
    if not rows:
        return
    done.syncs += 1
    done.opened += len(opened)
    deals = _write(folder / f"deals-{day}.csv", DEAL_COLUMNS, rows)
    done.quarantined += _import(engine, "deals", deals, at=at, rules=rules, calendar=calendar)


def _import(
    engine: Engine,
    kind: ImportKind,
    path: Path,
    *,
    at: datetime,
    rules: Rules,
    calendar: BusinessCalendar,
) -> int:
    """Import one sync file as its CLI command would, dated `at`; returns quarantined rows."""
    summary = import_file(
        engine, kind=kind, path=path, source=path.name, naive_tz=calendar.zone, now=at,
        deal_stage_map={}, rules=rules,
    )
    return summary.quarantined_rows


def deal_summary(engine: Engine, deals: DealRules) -> dict[str, object]:
    """Deals at the end of the demo: open ones by stage (pipeline order), won, lost, amounts."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Deal.stage, func.count(), func.sum(Deal.amount)).group_by(Deal.stage)
        ).all()
    counts = {str(stage): (int(n), float(total or 0)) for stage, n, total in rows}
    return {
        "open": {s: counts[s][0] for s in deals.stages if s in counts},
        "won": counts.get(deals.won, (0, 0.0))[0],
        "won_amount": counts.get(deals.won, (0, 0.0))[1],
        "lost": counts.get(deals.lost, (0, 0.0))[0],
    }


def deal_line(summary: dict[str, object]) -> str:
    """The demo's line on deals: open by stage, won (with the amount in JPY), lost."""
    open_deals: dict[str, int] = summary["open"]  # type: ignore[assignment]
    stages = ", ".join(f"{stage} {n}" for stage, n in open_deals.items())
    opened = f"{sum(open_deals.values())} open" + (f" ({stages})" if stages else "")
    return (
        f"  deals (synced daily via `leadflow import deals`): {opened}, "
        f"{summary['won']} won (¥{summary['won_amount']:,.0f}), {summary['lost']} lost"
    )
