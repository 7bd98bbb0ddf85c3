"""From decided frames to the SLA decisions' rows (pure): clocks to write, escalations,
follow-up tasks, in the order contact → cycle → policy → ladder level."""

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from tasks.sla.decisions import NO_OWNER, ClockRow, Escalation, FollowUpTask
from tasks.sla.timelines import NAT, instants

CLOCK_TIMES = ("started_at", "due_at", "satisfied_at", "breached_at", "closed_at")
ORDER = ["position", "cycle", "policy_index", "level"]


def _datetimes(values: np.ndarray) -> list[datetime | None]:
    """UTC ns as aware datetimes (None for NAT); each distinct instant converted once."""
    unique, inverse = np.unique(np.asarray(values, dtype=np.int64), return_inverse=True)
    stamps = np.empty(unique.size, dtype=object)
    stamps[:] = pd.DatetimeIndex(unique.astype("datetime64[ns]")).tz_localize(UTC) \
        .to_pydatetime()
    stamps[unique == NAT] = None
    return stamps[inverse].tolist()


def _maybe_int(values: np.ndarray) -> list[int | None]:
    return [None if v is None or v != v else int(v) for v in values]


def stored_clocks(frame: pd.DataFrame) -> pd.DataFrame:
    """The stored clocks by contact_id, cycle and policy (the last row of a key wins, as
    in a dict), times as ns in `before_*` columns."""
    stored = pd.DataFrame({
        "contact_id": frame["contact_id"].to_numpy(dtype=np.int64),
        "cycle": frame["cycle"].to_numpy(dtype=np.int64),
        "policy": frame["policy"].astype(str).to_numpy(dtype=object),
        "before_level": frame["level"].to_numpy(dtype=np.int64),
    })
    for name in CLOCK_TIMES:
        stored[f"before_{name}"] = instants(frame[name])
    owner = frame["owner_id"]
    stored["before_owner"] = owner.astype("Int64").astype(object).to_numpy()
    stored.loc[owner.isna().to_numpy(), "before_owner"] = None
    stored["stored"] = True
    return stored.drop_duplicates(["contact_id", "cycle", "policy"], keep="last")


def clock_rows(states: pd.DataFrame, firing: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """The clocks of one policy that are new or changed, with their level, owner and what
    changed (opened, satisfied, breached, closed)."""
    top = firing.groupby(["contact_id", "cycle"], as_index=False)["level"].max() \
        .rename(columns={"level": "fired_level"})
    rows = states.merge(stored, on=["contact_id", "cycle", "policy"], how="left") \
        .merge(top, on=["contact_id", "cycle"], how="left")
    existing = rows["stored"].notna().to_numpy()
    before = {name: np.where(existing, rows[f"before_{name}"].fillna(NAT).to_numpy(), NAT)
              .astype(np.int64) for name in CLOCK_TIMES}
    before_level = np.where(existing, rows["before_level"].fillna(0).to_numpy(), 0) \
        .astype(np.int64)
    level = np.maximum(before_level, rows["fired_level"].fillna(0).to_numpy().astype(np.int64))
    after = {name: rows[name].to_numpy() for name in CLOCK_TIMES}
    # A stored breach stays (its escalations went out), even if a touch logged later is
    # dated before the due time.
    after["breached_at"] = np.where(before["breached_at"] != NAT, before["breached_at"],
                                    after["breached_at"])
    unchanged = existing & (level == before_level)
    for name in CLOCK_TIMES:
        unchanged &= after[name] == before[name]
    keep = ~unchanged
    out = rows.loc[keep, ["contact_id", "cycle", "policy", "position", "policy_index"]].copy()
    for name in CLOCK_TIMES:
        out[name] = after[name][keep]
    out["level"] = level[keep]
    out["clock_owner"] = np.where(existing, rows["before_owner"].to_numpy(dtype=object),
                                  rows["owner_id"].to_numpy(dtype=object))[keep]
    out["opened"] = ~existing[keep]
    for flag, name in (("satisfied", "satisfied_at"), ("breached", "breached_at"),
                       ("closed", "closed_at")):
        out[flag] = ((after[name] != NAT) & (before[name] == NAT))[keep]
    return out


def _sorted(parts: list[pd.DataFrame], order: list[str]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True).sort_values(order, kind="stable",
                                                           ignore_index=True)


def clock_list(parts: list[pd.DataFrame]) -> list[ClockRow]:
    """Clock rows of every policy as ClockRow, in contact, cycle and policy order."""
    rows = _sorted(parts, ORDER[:3])
    if rows.empty:
        return []
    times = {name: _datetimes(rows[name].to_numpy()) for name in CLOCK_TIMES}
    return [
        ClockRow(contact_id=c, cycle=n, policy=p, started_at=s, due_at=d, satisfied_at=sat,
                 breached_at=b, level=lv, owner_id=o, closed_at=cl, opened=op,
                 satisfied=fs, breached=fb, closed=fc)
        for c, n, p, s, d, sat, b, lv, o, cl, op, fs, fb, fc in zip(
            rows["contact_id"].tolist(), rows["cycle"].tolist(), rows["policy"].tolist(),
            times["started_at"], times["due_at"], times["satisfied_at"],
            times["breached_at"], rows["level"].tolist(),
            _maybe_int(rows["clock_owner"].to_numpy()), times["closed_at"],
            rows["opened"].tolist(), rows["satisfied"].tolist(), rows["breached"].tolist(),
            rows["closed"].tolist(), strict=True)
    ]


def escalation_list(parts: list[pd.DataFrame], *, as_of: datetime) -> list[Escalation]:
    """Firing levels of every policy as Escalation, in contact, cycle, policy, level order."""
    rows = _sorted(parts, ORDER)
    if rows.empty:
        return []
    owners = _maybe_int(rows["owner_id"].to_numpy())
    return [
        Escalation(contact_id=c, cycle=n, policy=p, level=lv, due_at=d, clock_due_at=cd,
                   started_at=s, at=as_of, action=a, notify=nt, via=v, owner_id=o, team=t,
                   touches=tc, touches_needed=None if pd.isna(tn) else int(tn),
                   detail=NO_OWNER if o is None else None)
        for c, n, p, lv, d, cd, s, a, nt, v, o, t, tc, tn in zip(
            rows["contact_id"].tolist(), rows["cycle"].tolist(), rows["policy"].tolist(),
            rows["level"].tolist(), _datetimes(rows["level_due"].to_numpy()),
            _datetimes(rows["due_at"].to_numpy()), _datetimes(rows["started_at"].to_numpy()),
            rows["action"].tolist(), rows["notify"].tolist(), rows["via"].tolist(), owners,
            rows["team"].tolist(), rows["touches"].tolist(), rows["touches_needed"].tolist(),
            strict=True)
    ]


def follow_up_list(parts: list[pd.DataFrame]) -> list[FollowUpTask]:
    """Follow-up tasks of every policy as FollowUpTask, in contact, cycle, policy, level
    order."""
    rows = _sorted(parts, ORDER)
    if rows.empty:
        return []
    return [
        FollowUpTask(contact_id=c, cycle=n, day=dy, due_at=d, done_at=dn, owner_id=o,
                     opened=op)
        for c, n, dy, d, dn, o, op in zip(
            rows["contact_id"].tolist(), rows["cycle"].tolist(), rows["day"].tolist(),
            _datetimes(rows["task_due"].to_numpy()), _datetimes(rows["done_at"].to_numpy()),
            _maybe_int(rows["task_owner"].to_numpy()), rows["opened"].tolist(), strict=True)
    ]
