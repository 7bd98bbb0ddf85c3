"""Stage dates on import: `became_<stage>_at` cells → dated stage-history rows.

Pure: typed file rows, the contacts' stages before and after the import and their
recorded stage history in; quarantine cells and the history rows to write out. The
import's instant comes in as `now`.

The rules, for a contact whose stage after the import is S:
- the stages on its way to S are the dated funnel stages ranked at or below S (for S
  `other` or `lost_renurture`: the dated funnel stages up to S's date, then S);
- a contact without recorded history gets one row per such dated stage, in time order,
  each coming from the one before (from the stage it stood at, for a move);
- a contact with recorded history gets rows only when its stage moves, only for the
  stages above where it stood, dated after its last recorded change: history already
  written is never rewritten, so a corrected date changes nothing (a note says so);
- a move into S without a usable date is stamped with the import's time, as always.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from models.enums import STAGE_ORDER, Stage
from models.schemas import STAGE_DATE_COLUMNS
from tasks.imports.convert import CELL_COLUMNS, no_cells

RANK: dict[str, float] = {stage.value: float(rank) for stage, rank in STAGE_ORDER.items()}
FUNNEL: tuple[Stage, ...] = tuple(
    sorted((s for s, r in STAGE_ORDER.items() if r >= 0), key=STAGE_ORDER.__getitem__)
)
STAGE_OF_COLUMN: dict[str, str] = {column: s.value for s, column in STAGE_DATE_COLUMNS.items()}
HISTORY_COLUMNS = ["contact_id", "from_stage", "to_stage", "at", "reason", "dated"]
INSTANT = "datetime64[us, UTC]"


def _lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """`values` (indexed by unique keys) at `keys`; unlike Series.map it keeps datetimes
    when `values` is empty."""
    return pd.Series(
        values.reindex(keys.to_numpy()).to_numpy(), index=keys.index, dtype=values.dtype
    )


def _shown(when: datetime) -> str:
    return pd.Timestamp(when).tz_convert("UTC").isoformat(timespec="seconds")


def _flagged(text: pd.DataFrame, column: str, mask: pd.Series, reasons: list[str]) -> pd.DataFrame:
    hit = text.loc[mask, column]
    return pd.DataFrame(
        {
            "index": hit.index.to_numpy(),
            "column": column,
            "value": hit.to_numpy(),
            "reason": reasons,
        },
        columns=CELL_COLUMNS,
    )


def stage_date_cells(
    rows: pd.DataFrame,
    *,
    text: pd.DataFrame,
    now: datetime | None,
    label: Callable[[str], str],
) -> pd.DataFrame:
    """Stage dates in the future of the import (`now`; None skips that check) and funnel
    dates out of order (became_sql_at before became_mql_at): one failing cell each, shown
    as `text` has it; `label` names a column as the file does."""
    found = [no_cells()]
    if now is not None:
        reason = f"in the future: after the time of the import ({_shown(now)})"
        for column in STAGE_DATE_COLUMNS.values():
            future = (rows[column] > pd.Timestamp(now)).fillna(False).astype(bool)
            found.append(_flagged(text, column, future, [reason] * int(future.sum())))
    latest = pd.Series(pd.NaT, index=rows.index, dtype=INSTANT)
    latest_column = pd.Series(None, index=rows.index, dtype=object)
    for stage in FUNNEL:
        column = STAGE_DATE_COLUMNS[stage]
        at = rows[column]
        early = (at.notna() & latest.notna() & (at < latest)).astype(bool)
        if early.any():
            reasons = [
                f"out of order: before {label(earlier)} ({text.at[i, earlier]}); "
                "a contact enters the stages in funnel order"
                for i, earlier in latest_column[early].items()
            ]
            found.append(_flagged(text, column, early, reasons))
        newer = (at.notna() & (latest.isna() | (at > latest))).astype(bool)
        latest = latest.where(~newer, at)
        latest_column = latest_column.where(~newer, column)
    return pd.concat(found, ignore_index=True)


@dataclass(frozen=True)
class StageHistoryPlan:
    """Stage-history rows to insert (contact_id, from_stage, to_stage, at, reason, and
    `dated`: the instant came from the file) and notes for the summary."""

    rows: pd.DataFrame
    notes: dict[str, int] = field(default_factory=dict)


def _dated_entries(contacts: pd.DataFrame) -> pd.DataFrame:
    columns = [c for c in STAGE_DATE_COLUMNS.values() if c in contacts]
    long = contacts.melt(
        id_vars=["contact_id"], value_vars=columns, var_name="column", value_name="at"
    )
    long = long[long["at"].notna()].copy()
    long["at"] = pd.to_datetime(long["at"], utc=True).astype(INSTANT)
    long["stage"] = long["column"].map(STAGE_OF_COLUMN)
    info = contacts.set_index("contact_id")[["before", "after", "moved"]]
    return long.join(info, on="contact_id")


def _on_the_way(entries: pd.DataFrame) -> pd.Series:
    """Entries whose stage lies on the contact's way to its stage after the import."""
    stage_rank = entries["stage"].map(RANK)
    after_rank = entries["after"].map(RANK)
    final = entries["stage"] == entries["after"]
    final_at = _lookup(entries["contact_id"], entries.loc[final].set_index("contact_id")["at"])
    funnel = stage_rank >= 0
    in_funnel_path = funnel & (stage_rank <= after_rank)
    before_off_funnel = (funnel & (final_at.isna() | (entries["at"] <= final_at))) | final
    return in_funnel_path.where(after_rank >= 0, before_off_funnel).astype(bool)


def _count_notes(entries: pd.DataFrame, labels: Mapping[str, str], text: str) -> dict[str, int]:
    counts = entries["column"].value_counts()
    return {f"{labels.get(str(c), str(c))} {text}": int(n) for c, n in counts.items()}


def plan_stage_history(
    contacts: pd.DataFrame,
    recorded: pd.DataFrame,
    *,
    now: datetime,
    source: str,
    labels: Mapping[str, str],
) -> StageHistoryPlan:
    """History rows for imported contacts (see the module's rules).

    `contacts`: contact_id, before (stage before the import, None for a new contact),
    after, moved (the import moves its stage), and the `became_<stage>_at` columns given.
    `recorded`: contact_id, to_stage, at of the history already stored for them.
    """
    entries = _dated_entries(contacts)
    on_the_way = _on_the_way(entries)
    notes = _count_notes(
        entries[~on_the_way], labels, "not used: not on the contact's way to its current stage"
    )
    entries = entries[on_the_way]

    since = _lookup(entries["contact_id"], recorded.groupby("contact_id")["at"].max())
    above = entries["stage"].map(RANK) > entries["before"].map(RANK).fillna(-np.inf)
    new_history = (
        entries["moved"].astype(bool)
        & (entries["at"] > since)
        & (above | (entries["stage"] == entries["after"]))
    )
    keep = since.isna() | new_history
    known = pd.MultiIndex.from_frame(recorded[["contact_id", "to_stage", "at"]])
    dropped = entries[~keep]
    same = pd.MultiIndex.from_frame(dropped[["contact_id", "stage", "at"]]).isin(known)
    notes.update(
        _count_notes(
            dropped[~same],
            labels,
            "not used: the contact's stage history already covers it (kept as recorded)",
        )
    )
    chain = entries[keep]

    moved = contacts[contacts["moved"].astype(bool)]
    reached = chain[["contact_id", "stage"]].rename(columns={"stage": "after"})
    found = moved[["contact_id", "after"]].merge(reached, how="left", indicator=True)
    undated = moved[(found["_merge"] == "left_only").to_numpy()]
    stamped = pd.DataFrame(
        {
            "contact_id": undated["contact_id"].to_numpy(),
            "column": None,
            "at": pd.Series([pd.Timestamp(now)] * len(undated), dtype=INSTANT).to_numpy(),
            "stage": undated["after"].to_numpy(),
            "before": undated["before"].to_numpy(),
            "after": undated["after"].to_numpy(),
            "moved": True,
        }
    )
    parts = [p for p in (chain, stamped) if not p.empty]
    if not parts:
        return StageHistoryPlan(rows=pd.DataFrame(columns=HISTORY_COLUMNS), notes=notes)
    rows = pd.concat(parts, ignore_index=True)
    rows["rank"] = rows["stage"].map(RANK)
    rows = rows.sort_values(["contact_id", "at", "rank"], kind="stable").reset_index(drop=True)
    previous = rows.groupby("contact_id")["stage"].shift(1)
    before_rank = rows["before"].map(RANK)
    # A move starts from the stage the contact stood at, unless a dated stage above it
    # came first.
    from_before = (
        rows["moved"].astype(bool)
        & (previous.map(RANK).fillna(-np.inf) < before_rank)
        & (before_rank < rows["rank"])
    )
    from_stage = rows["before"].where(from_before, previous)
    reasons = [
        f"imported from {source}" if pd.isna(c) else f"imported from {source} ({labels.get(c, c)})"
        for c in rows["column"]
    ]
    out = pd.DataFrame(
        {
            "contact_id": rows["contact_id"].astype("int64"),
            "from_stage": from_stage.astype(object).where(from_stage.notna(), None),
            "to_stage": rows["stage"],
            "at": rows["at"].astype(INSTANT),
            "reason": reasons,
            "dated": rows["column"].notna().to_numpy(),
        }
    )
    return StageHistoryPlan(rows=out, notes=notes)
