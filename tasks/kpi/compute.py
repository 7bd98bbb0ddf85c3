"""The KPI figures of one period, computed from frames: pure pandas, no database, no clock.

The period is [start, end) as aware instants. A rate whose denominator is zero is None
(JSON null), never a division error. Every key is documented in the README ("KPI report").
"""

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

import pandas as pd

SECONDS_PER_DAY = 86_400.0
CALIBRATION_THRESHOLDS = tuple(range(30, 91, 5))
MQL_TO_SQL_WARNING = 0.15
UNKNOWN_SOURCE = "(unknown)"
LIFECYCLE_FUNNEL = ("mql", "sql", "opportunity", "customer")


@dataclass(frozen=True)
class KpiFrames:
    """What the read beat hands over; columns as named (times aware, UTC)."""

    contacts: pd.DataFrame  # id, lead_source, created_at
    stage_history: pd.DataFrame  # contact_id, to_stage, at (at < end)
    snapshots: pd.DataFrame  # contact_id, as_of, score (in the period, or cohort's before it)
    deals: pd.DataFrame  # id, contact_id, stage, amount, created_at, closed_at
    deal_stage_history: pd.DataFrame  # deal_id, to_stage, at
    sla_clocks: pd.DataFrame  # contact_id, policy, started_at, due_at, satisfied_at, closed_at
    follow_up_tasks: pd.DataFrame  # owner_id, due_at, done_at
    owners: pd.DataFrame  # id, name


@dataclass(frozen=True)
class KpiPeriod:
    """The period and the rules data the figures depend on."""

    start: datetime
    end: datetime
    tz: tzinfo
    won_stages: tuple[str, ...] = ("won",)
    lost_stages: tuple[str, ...] = ("lost",)
    thresholds: tuple[int, ...] = field(default=CALIBRATION_THRESHOLDS)


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator ÷ denominator, or None when the denominator is zero."""
    return None if not denominator else float(numerator) / float(denominator)


def _times(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True)


def _days(delta: pd.Series) -> pd.Series:
    return delta.dt.total_seconds() / SECONDS_PER_DAY


def _mean(values: pd.Series) -> float | None:
    return None if values.empty else float(values.mean())


def _median(values: pd.Series) -> float | None:
    return None if values.empty else float(values.median())


def first_entries(stage_history: pd.DataFrame, stage: str, end: datetime) -> pd.Series:
    """contact_id → first instant the contact entered `stage` at or before `end`."""
    rows = stage_history[stage_history["to_stage"] == stage]
    rows = rows[_times(rows["at"]) <= pd.Timestamp(end)]
    return _times(rows["at"]).groupby(rows["contact_id"]).min()


def in_period(times: pd.Series, period: KpiPeriod) -> pd.Series:
    """Which instants fall in [start, end)."""
    times = _times(times)
    return (times >= pd.Timestamp(period.start)) & (times < pd.Timestamp(period.end))


def compute_kpis(frames: KpiFrames, period: KpiPeriod) -> dict[str, Any]:
    """Every KPI of the period as one JSON-ready dict (see the README for each key)."""
    history = frames.stage_history.assign(at=_times(frames.stage_history["at"]))
    history = history[history["at"] <= pd.Timestamp(period.end)]
    first = {stage: first_entries(history, stage, period.end) for stage in LIFECYCLE_FUNNEL}
    mql_at = first["mql"]
    cohort = mql_at[in_period(mql_at, period)]
    cohort_ids = set(cohort.index)
    sql_ids = cohort_ids & set(first["sql"].index)
    customers = first["customer"].reindex(list(cohort_ids)).dropna()
    entered = {stage: int(in_period(at, period).sum()) for stage, at in first.items()}
    new_leads = int(in_period(frames.contacts["created_at"], period).sum())
    deals = _deals_of_period(frames.deals, period)
    won, lost = deals[deals["outcome"] == "won"], deals[deals["outcome"] == "lost"]
    mql_to_sql = ratio(len(sql_ids), len(cohort_ids))
    report: dict[str, Any] = {
        "period": {"from": _local_date(period.start, period.tz),
                   "to": _local_date(period.end, period.tz)},
        "mql_count": len(cohort_ids),
        "mql_to_sql_rate": mql_to_sql,
        "mql_to_customer_rate": ratio(len(customers), len(cohort_ids)),
        "median_days_mql_to_customer": _median(
            _days(pd.Series(customers.values - cohort.reindex(customers.index).values))
        ),
        "deals_won": len(won),
        "deals_lost": len(lost),
        "deal_win_rate": ratio(len(won), len(won) + len(lost)),
        "average_deal_days": _mean(_days(won["closed_at"] - won["created_at"])),
        "won_amount": float(won["amount"].fillna(0).sum()),
        "new_leads": new_leads,
        "stage_entries": entered,
        "mql_rate": ratio(entered["mql"], new_leads),
        "sql_rate": ratio(entered["sql"], entered["mql"]),
        "opportunity_rate": ratio(entered["opportunity"], entered["sql"]),
        "win_rate": ratio(entered["customer"], entered["opportunity"]),
        "lead_to_won_rate": ratio(entered["customer"], new_leads),
        "monthly_mql_count": _monthly(cohort, period.tz),
        "stage_dwell_days": dwell_days(history, "contact_id", period),
        "deal_stage_dwell_days": dwell_days(
            frames.deal_stage_history.assign(at=_times(frames.deal_stage_history["at"])),
            "deal_id", period,
        ),
        **sla_compliance(frames.sla_clocks, period),
        "follow_up_completion": follow_up_completion(
            frames.follow_up_tasks, frames.owners, period
        ),
        "mql_score_histogram": score_histogram(frames.snapshots, cohort),
        "sql_rate_by_lead_source": _sql_rate_by_source(frames.contacts, cohort_ids, sql_ids),
        "won_amount_through_mql": _won_through(won, first["mql"]),
        "won_amount_through_sql": _won_through(won, first["sql"]),
        "calibration": calibration(frames.snapshots, history, period),
        "warnings": [],
    }
    if mql_to_sql is not None and mql_to_sql < MQL_TO_SQL_WARNING:
        report["warnings"].append(
            f"MQL → SQL is {mql_to_sql:.1%}, below {MQL_TO_SQL_WARNING:.0%}: "
            "check the MQL threshold (see calibration) and sales follow-up"
        )
    return report


def _local_date(instant: datetime, tz: tzinfo) -> str:
    return instant.astimezone(tz).date().isoformat()


def _deals_of_period(deals: pd.DataFrame, period: KpiPeriod) -> pd.DataFrame:
    """Deals closed in the period with an `outcome` column: won, lost or open."""
    out = deals.assign(
        created_at=_times(deals["created_at"]), closed_at=_times(deals["closed_at"]),
        amount=pd.to_numeric(deals["amount"], errors="coerce"),
    )
    out = out[out["closed_at"].notna() & in_period(out["closed_at"], period)]
    stage = out["stage"].astype(str).str.lower()
    outcome = pd.Series("open", index=out.index)
    outcome[stage.isin([s.lower() for s in period.won_stages])] = "won"
    outcome[stage.isin([s.lower() for s in period.lost_stages])] = "lost"
    return out.assign(outcome=outcome)


def _monthly(cohort: pd.Series, tz: tzinfo) -> list[dict[str, Any]]:
    """MQL count per business-time-zone month of the first MQL entry."""
    if cohort.empty:
        return []
    months = cohort.dt.tz_convert(tz).dt.strftime("%Y-%m")
    counts = months.value_counts().sort_index()
    return [{"month": str(month), "mql_count": int(n)} for month, n in counts.items()]


def dwell_days(history: pd.DataFrame, key: str, period: KpiPeriod) -> dict[str, dict[str, Any]]:
    """Per stage: stays that ended in the period (the next move of the same contact or deal
    happened in [start, end)), with their mean and median length in days."""
    if history.empty:
        return {}
    ordered = history.sort_values([key, "at"])
    left_at = ordered.groupby(key)["at"].shift(-1)
    stays = ordered.assign(days=_days(left_at - ordered["at"]), left_at=left_at)
    stays = stays[stays["left_at"].notna() & in_period(stays["left_at"], period)]
    out: dict[str, dict[str, Any]] = {}
    for stage, group in stays.groupby("to_stage"):
        out[str(stage)] = {"stays": len(group), "mean_days": _mean(group["days"]),
                           "median_days": _median(group["days"])}
    return out


def sla_compliance(clocks: pd.DataFrame, period: KpiPeriod) -> dict[str, Any]:
    """Hours to first touch and the share of SLA clocks met in time, for clocks started in
    the period. A clock counts once decided: satisfied, or past due by the period's end;
    clocks whose cycle closed unsatisfied (e.g. recycled) are left out."""
    clocks = clocks.assign(**{c: _times(clocks[c]) for c in
                              ("started_at", "due_at", "satisfied_at", "closed_at")})
    clocks = clocks[in_period(clocks["started_at"], period)]
    touch = clocks[(clocks["policy"] == "first_touch") & clocks["satisfied_at"].notna()]
    hours = (touch["satisfied_at"] - touch["started_at"]).dt.total_seconds() / 3600.0
    return {
        "first_touch_hours_median": _median(hours),
        "first_touch_hours_mean": _mean(hours),
        "first_touch_in_time_rate": _in_time(clocks, "first_touch", period),
        "sql_decision_in_time_rate": _in_time(clocks, "sql_decision", period),
    }


def _in_time(clocks: pd.DataFrame, policy: str, period: KpiPeriod) -> float | None:
    rows = clocks[(clocks["policy"] == policy)]
    satisfied = rows["satisfied_at"].notna()
    overdue = ~satisfied & rows["closed_at"].isna() & (rows["due_at"] < pd.Timestamp(period.end))
    decided = rows[satisfied | overdue]
    met = decided["satisfied_at"].notna() & (decided["satisfied_at"] <= decided["due_at"])
    return ratio(int(met.sum()), len(decided))


def follow_up_completion(
    tasks: pd.DataFrame, owners: pd.DataFrame, period: KpiPeriod
) -> list[dict[str, Any]]:
    """Per owner: follow-up tasks due in the period, how many are done (by the period's
    end) and the completion rate; owners by name, unassigned tasks as "(unassigned)"."""
    tasks = tasks.assign(due_at=_times(tasks["due_at"]), done_at=_times(tasks["done_at"]))
    tasks = tasks[in_period(tasks["due_at"], period)]
    names = dict(zip(owners["id"], owners["name"], strict=True))
    rows = []
    for owner_id, group in tasks.groupby(tasks["owner_id"].fillna(-1)):
        done = int((group["done_at"].notna() & (group["done_at"] < pd.Timestamp(period.end)))
                   .sum())
        rows.append({"owner": names.get(owner_id, "(unassigned)"), "due": len(group),
                     "done": done, "completion_rate": ratio(done, len(group))})
    return sorted(rows, key=lambda row: str(row["owner"]))


def score_histogram(snapshots: pd.DataFrame, cohort: pd.Series) -> list[dict[str, Any]]:
    """The MQL cohort's score at its first MQL entry (latest snapshot at or before it) in
    10-point bands 0–9 … 90–99 and 100+; contacts without a snapshot count as "unscored"."""
    snaps = snapshots.assign(as_of=_times(snapshots["as_of"]))
    mql_at = cohort.rename("mql_at").rename_axis("contact_id").reset_index()
    snaps = snaps.merge(mql_at, on="contact_id", how="inner")
    snaps = snaps[snaps["as_of"] <= snaps["mql_at"]]
    latest = snaps.sort_values("as_of").groupby("contact_id")["score"].last()
    bands = (latest // 10 * 10).clip(lower=0, upper=100)
    labels = [f"{lo}-{lo + 9}" for lo in range(0, 100, 10)] + ["100+"]
    counts = {label: 0 for label in labels}
    for low in bands:
        counts[labels[int(low) // 10]] += 1
    out = [{"band": label, "contacts": n} for label, n in counts.items()]
    out.append({"band": "unscored", "contacts": len(cohort) - len(latest)})
    return out


def _sql_rate_by_source(
    contacts: pd.DataFrame, cohort_ids: set[Any], sql_ids: set[Any]
) -> list[dict[str, Any]]:
    """The MQL cohort per lead source: MQLs, of them SQL by the period's end, the rate."""
    sources = dict(zip(contacts["id"], contacts["lead_source"], strict=True))
    counts: dict[str, list[int]] = {}
    for contact_id in cohort_ids:
        source = sources.get(contact_id)
        key = UNKNOWN_SOURCE if source is None or pd.isna(source) or not source else str(source)
        pair = counts.setdefault(key, [0, 0])
        pair[0] += 1
        pair[1] += int(contact_id in sql_ids)
    return [{"lead_source": key, "mql": m, "sql": s, "sql_rate": ratio(s, m)}
            for key, (m, s) in sorted(counts.items())]


def _won_through(won: pd.DataFrame, entered: pd.Series) -> float:
    """Won amount of the period's won deals whose contact had entered the stage by the
    deal's close."""
    reached = won[["contact_id", "closed_at", "amount"]].merge(
        entered.rename("entered_at").rename_axis("contact_id").reset_index(),
        on="contact_id", how="inner",
    )
    mask = reached["entered_at"] <= reached["closed_at"]
    return float(reached.loc[mask, "amount"].fillna(0).sum())


def calibration(
    snapshots: pd.DataFrame, history: pd.DataFrame, period: KpiPeriod
) -> list[dict[str, Any]]:
    """Per candidate MQL threshold: contacts whose score reached it in a snapshot of the
    period, and how many of those reached SQL by the period's end."""
    snaps = snapshots.assign(as_of=_times(snapshots["as_of"]))
    peak = snaps[in_period(snaps["as_of"], period)].groupby("contact_id")["score"].max()
    sql_ids = set(first_entries(history, "sql", period.end).index)
    out = []
    for threshold in period.thresholds:
        reached = peak[peak >= threshold].index
        to_sql = sum(1 for contact_id in reached if contact_id in sql_ids)
        out.append({"threshold": threshold, "would_be_mql": len(reached),
                    "reached_sql": to_sql, "sql_rate": ratio(to_sql, len(reached))})
    return out
