"""Database side of consent on import: opt-outs and consent changes recorded, who can be
emailed counted.

An opt-out a file states (`--unsubscribed-from`, `--bounced-from`) is written to
`email_suppressions` with source `import`, like a one-click unsubscribe or a hard bounce:
the nurture gate honours it for good and a later file cannot lift it. Every consent the
chunk changed (and every new contact landing with consent) gets a `consent_history` row
with its evidence (see `tasks.imports.consent_history`). After the contacts of a chunk
are written, every one of them is classified: can it receive nurture email, and if not,
why (see `tasks.imports.consent.why_not_emailable`).
"""

from collections import Counter
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Table, select

from leadflow.db import in_chunks
from models.tables import ConsentHistory, Contact, EmailSuppression
from tasks.imports.consent import OPT_OUTS, consent_changes, why_not_emailable
from tasks.imports.consent_history import consent_history_rows
from tasks.imports.report import ImportSummary
from tasks.imports.store import KEY_CHUNK, insert_ignore, insert_rows, read_by_keys

CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
SUPPRESSIONS: Table = EmailSuppression.__table__  # type: ignore[assignment]
CONSENT_HISTORY: Table = ConsentHistory.__table__  # type: ignore[assignment]
SUPPRESSION_SOURCE = "import"


def _suppressions(conn: Connection, contact_ids: list[int]) -> pd.DataFrame:
    rows: list[tuple[int, str]] = []
    statement = select(SUPPRESSIONS.c.contact_id, SUPPRESSIONS.c.reason)
    for part in in_chunks(contact_ids, KEY_CHUNK):
        found = conn.execute(statement.where(SUPPRESSIONS.c.contact_id.in_(part)))
        rows.extend((int(contact_id), str(reason)) for contact_id, reason in found)
    return pd.DataFrame(rows, columns=["contact_id", "reason"])


def _opt_out_rows(
    rows: pd.DataFrame, ids: dict[str, int], *, source: str, now: datetime
) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    for verdict in OPT_OUTS:
        column = f"{verdict}_by"
        if column not in rows:
            continue
        hit = rows[rows[column].notna()]
        out[verdict] = pd.DataFrame(
            {
                "contact_id": hit["email"].map(ids).astype("int64").to_numpy(),
                "email": hit["email"].to_numpy(),
                "reason": verdict,
                "source": SUPPRESSION_SOURCE,
                "detail": [
                    f"{source}:{line} {rule}"
                    for line, rule in zip(hit["line"], hit[column], strict=True)
                ],
                "created_at": now,
            }
        )
    return out


def record_consent(
    conn: Connection,
    *,
    rows: pd.DataFrame,
    stored: pd.DataFrame,
    inserts: pd.DataFrame,
    updates: pd.DataFrame,
    erased: set[str],
    summary: ImportSummary,
    run_id: str,
    now: datetime,
) -> None:
    """After a chunk of contacts is written: record the opt-outs its rows state and the
    consent changes it made (`consent_history`), count the consent the import turned on
    or off for known contacts, and classify every contact of the chunk for the summary's
    nurture-email lines."""
    granted, withdrawn = consent_changes(stored, updates)
    summary.consent_granted += granted
    summary.consent_withdrawn += withdrawn
    landed = read_by_keys(
        conn, CONTACTS, key="email", keys=rows["email"], columns=["id", "email", "consent"]
    )
    ids = dict(zip(landed["email"], (int(i) for i in landed["id"]), strict=True))
    history = consent_history_rows(
        rows=rows, stored=stored, inserts=inserts, updates=updates, ids=ids, erased=erased,
        file=summary.source, run_id=run_id, now=now,
    )
    summary.consent_history += insert_rows(conn, CONSENT_HISTORY, history)
    for verdict, frame in _opt_out_rows(rows, ids, source=summary.source, now=now).items():
        if not frame.empty:
            added = insert_ignore(conn, SUPPRESSIONS, frame, keys=["contact_id", "reason"])
            summary.opt_outs_recorded[verdict] += added
    held = _suppressions(conn, list(ids.values()))
    reasons = why_not_emailable(landed, suppressions=held, erased=erased)
    summary.emailable_total += len(landed)
    summary.not_emailable.update(Counter(str(r) for r in reasons.dropna()))
