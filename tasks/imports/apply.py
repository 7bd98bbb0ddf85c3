"""Apply beat of `leadflow import`: read what the database holds, decide, write.

One function per kind takes a prepared chunk, reads the stored rows it needs, asks the
pure decide functions what to change, writes it, and returns the quarantine records
that only the database could find (an email that matches no contact).
"""

from collections.abc import Callable, Iterable
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Table, select, update

from leadflow.db import in_chunks
from models.deal_rules import DEFAULT_DEAL_RULES
from models.rules import Rules
from models.tables import Activity, Company, Contact, Deal, Event, Owner, StageHistory
from tasks.erase.suppression import erased_emails
from tasks.imports.columns import ImportKind
from tasks.imports.consent_store import record_consent
from tasks.imports.deal_history import record_deal_stages
from tasks.imports.decide import (
    COMPANY_COLUMNS,
    CONTACT_COLUMNS,
    OWNER_COLUMNS,
    contact_company_domains,
    decide_companies,
    decide_contacts,
    decide_missing_companies,
    decide_owners,
)
from tasks.imports.decide_ledgers import (
    DEAL_COLUMNS,
    decide_activities,
    decide_deals,
    decide_events,
)
from tasks.imports.hubspot_sent import SENT_COLUMNS
from tasks.imports.ledger_store import insert_ledger
from tasks.imports.prepare import Prepared
from tasks.imports.report import ImportSummary
from tasks.imports.stages import record_imported_stages
from tasks.imports.statuses import (
    move_imported_statuses,
    record_imported_statuses,
    unseen_activities,
)
from tasks.imports.store import (
    KEY_CHUNK,
    insert_ignore,
    insert_rows,
    read_by_keys,
    update_rows,
)


def _table(model: type) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


OWNERS, COMPANIES, CONTACTS = _table(Owner), _table(Company), _table(Contact)
EVENTS, ACTIVITIES, DEALS = _table(Event), _table(Activity), _table(Deal)
STAGE_HISTORY = _table(StageHistory)
ERASED_NOTE = "address erased earlier: marketing consent not taken from the file"


def read_owners(conn: Connection) -> pd.DataFrame:
    """Every owner's id, email and name (few enough to hold in memory)."""
    rows = conn.execute(select(OWNERS.c.id, OWNERS.c.email, OWNERS.c.name)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["id", "email", "name"])


def read_contact_ids(conn: Connection, emails: Iterable[str]) -> dict[str, int]:
    """email → contact id for the given emails."""
    frame = read_by_keys(conn, CONTACTS, key="email", keys=emails, columns=["email", "id"])
    return dict(zip(frame["email"], (int(i) for i in frame["id"]), strict=True))


class Context:
    """What every apply step needs: the connection, the clock reading and the tally.

    `rules` move lead statuses from new activities; `new_activities` collects them
    (contact_id, outcome, occurred_at) chunk by chunk until `finish_import`.
    """

    def __init__(
        self,
        conn: Connection,
        *,
        now: datetime,
        summary: ImportSummary,
        run_id: str,
        rules: Rules | None = None,
    ) -> None:
        self.conn = conn
        self.now = now
        self.summary = summary
        self.run_id = run_id
        self.rules = rules
        self.new_activities: list[pd.DataFrame] = []

    def count(self, *, inserted: int = 0, updated: int = 0, unchanged: int = 0) -> None:
        self.summary.inserted += inserted
        self.summary.updated += updated
        self.summary.unchanged += unchanged


def _apply_owners(ctx: Context, prepared: Prepared) -> pd.DataFrame:
    rows = prepared.rows
    stored = read_by_keys(
        ctx.conn, OWNERS, key="email", keys=rows["email"], columns=["id", "email", *OWNER_COLUMNS]
    )
    plan = decide_owners(rows, stored, now=ctx.now)
    ctx.count(
        inserted=insert_rows(ctx.conn, OWNERS, plan.inserts),
        updated=update_rows(ctx.conn, OWNERS, plan.updates.drop(columns=["email"])),
        unchanged=plan.unchanged,
    )
    return plan.quarantine


def _touch_contacts_of(ctx: Context, company_ids: list[int]) -> int:
    touched = 0
    for part in in_chunks(company_ids, KEY_CHUNK):
        result = ctx.conn.execute(
            update(CONTACTS).where(CONTACTS.c.company_id.in_(part)).values(updated_at=ctx.now)
        )
        touched += max(result.rowcount, 0)
    return touched


def _apply_companies(ctx: Context, prepared: Prepared) -> pd.DataFrame:
    rows = prepared.rows
    stored = read_by_keys(
        ctx.conn,
        COMPANIES,
        key="domain",
        keys=rows["domain"],
        columns=["id", "domain", *COMPANY_COLUMNS],
    )
    plan, rescore = decide_companies(rows, stored, now=ctx.now)
    ctx.count(
        inserted=insert_rows(ctx.conn, COMPANIES, plan.inserts),
        updated=update_rows(ctx.conn, COMPANIES, plan.updates.drop(columns=["domain"])),
        unchanged=plan.unchanged,
    )
    ctx.summary.rescored_contacts += _touch_contacts_of(ctx, rescore)
    return plan.quarantine


def _ensure_companies(ctx: Context, wanted: pd.DataFrame) -> pd.DataFrame:
    """Create companies for domains nobody has yet; return id and domain of all wanted."""
    domains = wanted["domain"].dropna().unique().tolist()
    stored = read_by_keys(ctx.conn, COMPANIES, key="domain", keys=domains, columns=["id", "domain"])
    new = decide_missing_companies(wanted, stored["domain"], now=ctx.now)
    if new.empty:
        return stored
    ctx.summary.companies_created += insert_ignore(ctx.conn, COMPANIES, new, keys=["domain"])
    return read_by_keys(ctx.conn, COMPANIES, key="domain", keys=domains, columns=["id", "domain"])


def _apply_contacts(ctx: Context, prepared: Prepared) -> pd.DataFrame:
    rows = prepared.rows
    wanted = pd.DataFrame({"domain": contact_company_domains(rows), "name": rows["company_name"]})
    companies = _ensure_companies(ctx, wanted)
    stored = read_by_keys(
        ctx.conn,
        CONTACTS,
        key="email",
        keys=rows["email"],
        columns=["id", "email", *CONTACT_COLUMNS, *SENT_COLUMNS, "lifecycle_stage", "updated_at"],
    )
    plan = decide_contacts(
        rows, stored, companies=companies, owners=read_owners(ctx.conn), now=ctx.now
    )
    erased = erased_emails(ctx.conn, rows["email"].dropna())
    if erased:
        # The erasure withdrew consent for good: a file cannot give it back.
        for frame in (plan.inserts, plan.updates):
            if "email" in frame:
                frame.loc[frame["email"].isin(erased), "consent"] = False
        ctx.summary.notes[ERASED_NOTE] += int(rows["email"].isin(erased).sum())
    ctx.count(
        inserted=insert_rows(ctx.conn, CONTACTS, plan.inserts),
        updated=update_rows(ctx.conn, CONTACTS, plan.updates.drop(columns=["email"])),
        unchanged=plan.unchanged,
    )
    record_consent(
        ctx.conn, rows=rows, stored=stored, inserts=plan.inserts, updates=plan.updates,
        erased=erased, summary=ctx.summary, run_id=ctx.run_id, now=ctx.now,
    )
    ctx.summary.status_changes += record_imported_statuses(
        ctx.conn, stored=stored, inserts=plan.inserts, updates=plan.updates,
        source=ctx.summary.source, run_id=ctx.run_id, now=ctx.now,
    )
    moves, stage_notes = record_imported_stages(
        ctx.conn,
        rows=rows,
        plan=plan,
        labels=prepared.labels,
        now=ctx.now,
        source=ctx.summary.source,
        run_id=ctx.run_id,
    )
    ctx.summary.stage_moves += moves
    ctx.summary.notes.update(stage_notes)
    ctx.summary.notes.update(plan.notes)
    return plan.quarantine


def _apply_events(ctx: Context, prepared: Prepared) -> pd.DataFrame:
    rows = prepared.rows
    contact_ids = read_contact_ids(ctx.conn, rows["email"].unique().tolist())
    plan = decide_events(rows, contact_ids, now=ctx.now)
    added = insert_ledger(ctx.conn, EVENTS, plan.inserts, key="source_event_id")
    ctx.count(inserted=added, unchanged=len(plan.inserts) - added)
    return plan.quarantine


def _apply_activities(ctx: Context, prepared: Prepared) -> pd.DataFrame:
    rows = prepared.rows
    contact_ids = read_contact_ids(ctx.conn, rows["email"].unique().tolist())
    plan = decide_activities(rows, contact_ids, owners=read_owners(ctx.conn), now=ctx.now)
    if ctx.rules is not None:
        ctx.new_activities.append(unseen_activities(ctx.conn, plan.inserts, rules=ctx.rules))
    added = insert_ledger(ctx.conn, ACTIVITIES, plan.inserts, key="source_activity_id")
    ctx.count(inserted=added, unchanged=len(plan.inserts) - added)
    ctx.summary.notes.update(plan.notes)
    return plan.quarantine


def _apply_deals(ctx: Context, prepared: Prepared, *, contact_label: str) -> pd.DataFrame:
    rows = prepared.rows
    contacts = read_by_keys(
        ctx.conn,
        CONTACTS,
        key="email",
        keys=rows["contact_email"],
        columns=["email", "id", "company_id"],
    )
    wanted = pd.DataFrame({"domain": rows["company_domain"], "name": None})
    companies = _ensure_companies(ctx, wanted)
    stored = read_by_keys(
        ctx.conn,
        DEALS,
        key="source_deal_id",
        keys=rows["deal_id"],
        columns=["id", "source_deal_id", *DEAL_COLUMNS],
    ).rename(columns={"source_deal_id": "deal_id"})
    plan = decide_deals(
        rows,
        stored,
        companies=companies,
        contacts=contacts,
        now=ctx.now,
        contact_label=contact_label,
    )
    ctx.count(
        inserted=insert_rows(ctx.conn, DEALS, plan.inserts),
        updated=update_rows(ctx.conn, DEALS, plan.updates.drop(columns=["source_deal_id"])),
        unchanged=plan.unchanged,
    )
    recorded = record_deal_stages(
        ctx.conn,
        deal_ids=[*plan.inserts["source_deal_id"], *plan.updates["source_deal_id"]],
        stored=stored,
        rules=ctx.rules.deals if ctx.rules is not None else DEFAULT_DEAL_RULES,
        now=ctx.now,
        run_id=ctx.run_id,
    )
    ctx.summary.deal_stage_changes += recorded.history_rows
    ctx.summary.stage_moves += recorded.customers + recorded.opportunities
    return plan.quarantine



Apply = Callable[[Context, Prepared], pd.DataFrame]


def finish_import(ctx: Context) -> None:
    """After the last chunk: move lead statuses from the activities the import added."""
    if ctx.rules is not None and ctx.new_activities:
        ctx.summary.status_changes += move_imported_statuses(
            ctx.conn, ctx.new_activities, rules=ctx.rules, run_id=ctx.run_id, now=ctx.now
        )


def applier(kind: ImportKind, *, contact_label: str = "contact_email") -> Apply:
    """The apply step of `kind`; deals name their contact column as the file does."""
    table: dict[ImportKind, Apply] = {
        "owners": _apply_owners,
        "companies": _apply_companies,
        "contacts": _apply_contacts,
        "events": _apply_events,
        "activities": _apply_activities,
        "deals": lambda c, p: _apply_deals(c, p, contact_label=contact_label),
    }
    return table[kind]
