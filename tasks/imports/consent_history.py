"""The consent ledger of an import: one row per contact whose consent it changes. Pure.

`contacts.consent` is one value updated in place; `consent_history` says when it changed,
from what to what, and why: the file, the line and the option or column that decided it
(`contacts.csv:12 --consent-from 'Marketing contact status=Marketing contact'`). A new
contact that lands with consent gets a row too (from empty); one that lands without it
does not (no consent is the default, nothing changed). Re-importing the same file
changes no consent, so it adds no row.
"""

from collections.abc import Mapping
from datetime import datetime

import pandas as pd

SOURCE = "import"
ERASED_EVIDENCE = "address erased earlier: marketing consent not taken from the file"
HISTORY_COLUMNS = [
    "contact_id", "consent_from", "consent_to", "changed_at", "source", "evidence", "run_id",
]


def _flags(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), False).astype(bool)


def consent_history_rows(
    *,
    rows: pd.DataFrame,
    stored: pd.DataFrame,
    inserts: pd.DataFrame,
    updates: pd.DataFrame,
    ids: Mapping[str, int],
    erased: set[str],
    file: str,
    run_id: str,
    now: datetime,
) -> pd.DataFrame:
    """The consent-history rows of one chunk of a contacts import.

    `rows` are the prepared rows (`email`, `line`, and `consent_evidence` when the file
    decides consent), `stored` the known contacts before the chunk (`id`, `consent`),
    `inserts` / `updates` what was written (`email` / `id`, `consent`), `ids` email → id
    after the write, `erased` the addresses whose consent an erasure withdrew for good.
    """
    line = dict(zip(rows["email"], rows["line"], strict=True))
    why = (
        dict(zip(rows["email"], rows["consent_evidence"], strict=True))
        if "consent_evidence" in rows
        else {}
    )
    before = dict(zip(stored["id"].astype("int64"), _flags(stored["consent"]), strict=True))
    granted = inserts[_flags(inserts["consent"])] if not inserts.empty else inserts
    new = pd.DataFrame(
        {
            "email": granted["email"].to_numpy() if not granted.empty else [],
            "consent_from": None,
            "consent_to": True,
        }
    )
    if not updates.empty:
        was = updates["id"].astype("int64").map(before).astype(bool)
        now_consent = _flags(updates["consent"])
        moved = updates[was.to_numpy() != now_consent.to_numpy()]
        changed = pd.DataFrame(
            {
                "email": moved["email"].to_numpy(),
                "consent_from": was[moved.index].to_numpy(),
                "consent_to": now_consent[moved.index].to_numpy(),
            }
        )
    else:
        changed = pd.DataFrame(columns=["email", "consent_from", "consent_to"])
    parts = [part for part in (new, changed) if not part.empty]
    if not parts:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out["evidence"] = [_evidence(email, file=file, line=line, why=why, erased=erased)
                       for email in out["email"]]
    out["contact_id"] = out["email"].map(ids).astype("int64")
    out["consent_from"] = out["consent_from"].astype(object)
    out["consent_to"] = out["consent_to"].astype(bool)
    out["changed_at"] = now
    out["source"] = SOURCE
    out["run_id"] = run_id
    return out[HISTORY_COLUMNS]


def _evidence(
    email: str, *, file: str, line: Mapping[str, object], why: Mapping[str, object],
    erased: set[str],
) -> str:
    where = f"{file}:{line[email]}"
    if email in erased:
        return f"{where} {ERASED_EVIDENCE}"
    reason = why.get(email)
    if reason is None or pd.isna(reason):
        return where
    return f"{where} {reason}"
