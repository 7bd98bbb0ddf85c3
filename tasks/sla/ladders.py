"""Which ladder levels fire now, and the follow-up tasks of touch levels (pure, frames).

A level fires once per contact + cycle + policy + level: when it came due at or before
`as_of`, the clock still owed what the level checks both at its due time and now, and
it came due within `sla.max_escalation_age` of `as_of`. A touch level (with `touches`)
also owes one follow-up task per cycle, written when new or when its done time changed.
"""

import numpy as np
import pandas as pd

from models.sla_rules import SlaDuration, SlaPolicy
from tasks.sla.business_time import FrameCalendar
from tasks.sla.clocks import Facts, level_missed, nth_touch, touches_by


def fired_keys(escalations: pd.DataFrame, policy: str) -> pd.MultiIndex:
    """(contact, cycle, level) of the escalations of `policy` that fired before."""
    mine = escalations[escalations["policy"].astype(str) == policy]
    return pd.MultiIndex.from_arrays([
        mine[c].to_numpy(dtype=np.int64) for c in ("contact_id", "cycle", "level")
    ])


def firing_levels(
    policy: SlaPolicy,
    clocks: pd.DataFrame,
    facts: Facts,
    *,
    calendar: FrameCalendar,
    max_age: SlaDuration,
    fired: pd.MultiIndex,
) -> pd.DataFrame:
    """One row per (clock, level) firing now: the clock's columns plus level, level_due,
    touches (counted by `as_of`) and the level's action, recipients and touches_needed."""
    as_of = facts.as_of
    parts = []
    for number, level in enumerate(policy.ladder, start=1):
        due = calendar.add(clocks["started_at"].to_numpy(), level.after)
        fires = (as_of >= due) & level_missed(clocks, facts, level, due)
        # Done by now (a touch logged between the due time and this run): nobody to chase.
        fires &= level_missed(clocks, facts, level, as_of)
        # Importing years of history opens clocks but pages nobody about them.
        fires[fires] &= calendar.add(due[fires], max_age) >= as_of
        keys = pd.MultiIndex.from_arrays([clocks["contact_id"].to_numpy(),
                                          clocks["cycle"].to_numpy(),
                                          np.full(len(clocks), number, dtype=np.int64)])
        fires &= ~np.asarray(keys.isin(fired), dtype=bool)
        firing = clocks[fires].copy()
        firing["level"] = number
        firing["level_due"] = due[fires]
        firing["touches"] = touches_by(firing, facts, as_of)
        firing["action"] = level.action
        firing["notify"] = [tuple(level.notify)] * len(firing)
        firing["via"] = [tuple(level.via)] * len(firing)
        firing["touches_needed"] = level.touches
        parts.append(firing)
    return pd.concat(parts, ignore_index=True)


def follow_up_tasks(
    policy: SlaPolicy,
    clocks: pd.DataFrame,
    facts: Facts,
    *,
    calendar: FrameCalendar,
    existing: pd.DataFrame,
) -> pd.DataFrame:
    """One row per (clock, touch level) whose task is new or whose done time changed:
    the clock's columns plus level, day, task_due, done_at, task_owner and opened.

    `existing`: stored tasks by contact_id, cycle, day (one each) with done_at as ns and
    owner_id (None when it has none).
    """
    parts = []
    for number, level in enumerate(policy.ladder, start=1):
        if level.touches is None:
            continue
        tasks = clocks.copy()
        tasks["level"] = number
        tasks["day"] = level.after.amount
        tasks["done_at"] = nth_touch(clocks, facts, level.touches)
        tasks = tasks.merge(existing, on=["contact_id", "cycle", "day"], how="left",
                            suffixes=("", "_before"))
        opened = tasks["stored"].isna().to_numpy()
        same = ~opened & (tasks["done_at"].to_numpy() == tasks["done_before"].to_numpy())
        tasks = tasks[~same].copy()
        tasks["opened"] = opened[~same]
        tasks["task_due"] = calendar.add(tasks["started_at"].to_numpy(), level.after)
        tasks["task_owner"] = tasks["owner_id"].where(tasks["opened"], tasks["owner_before"])
        parts.append(tasks)
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)

