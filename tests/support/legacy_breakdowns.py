"""The scoring breakdown as it was built before it was stored compactly — the test oracle.

A verbatim copy of `build_breakdowns` from tasks/scoring/decide.py as it was before issue 13
made snapshots store breakdowns compactly (tasks/scoring/breakdowns.py, models/breakdowns.py):
a dictionary per contact, built entry by entry. tests/unit/test_breakdown_equivalence.py
checks that the compact form reads back as exactly this. Do not "fix" or restyle this code —
it is the reference.
"""

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from models.rules import Rules


def build_breakdowns(
    *,
    rules: Rules,
    behaviour: pd.DataFrame,
    facts: pd.DataFrame,
    fit: pd.DataFrame,
    job_levels: pd.Series,
    behaviour_raw: pd.Series,
    fit_raw: pd.Series,
    as_of: datetime,
) -> list[dict[str, Any]]:
    """One JSON-ready breakdown per contact: each signal that gave points, and the caps."""
    scoring = rules.scoring
    # Only signals that paid something are listed; iterate column-wise to stay vectorised.
    per_contact: list[list[dict[str, Any]]] = [[] for _ in range(len(behaviour))]
    for signal in scoring.behaviour.signals:
        pts = behaviour[signal.name].to_numpy()
        paid = np.flatnonzero(pts)
        if not len(paid):
            continue
        units = facts[f"{signal.name}__units"].to_numpy()
        # Timestamps are UTC: format them in one vectorised call, not one by one.
        lasts = facts[f"{signal.name}__last"].iloc[paid].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        for pos, last in zip(paid.tolist(), lasts.tolist(), strict=True):
            per_contact[pos].append(
                {
                    "signal": signal.name,
                    "group": "behaviour",
                    "points": int(pts[pos]),
                    "units": int(units[pos]),
                    "last_at": None if last is None or last != last else last,
                    "window_days": signal.window_days,
                }
            )
    levels = job_levels.to_numpy()
    for fit_signal in scoring.fit.signals:
        pts = fit[fit_signal.name].to_numpy()
        for pos in np.flatnonzero(pts).tolist():
            entry: dict[str, Any] = {
                "signal": fit_signal.name,
                "group": "fit",
                "points": int(pts[pos]),
            }
            if fit_signal.attribute == "job_level":
                entry["job_level"] = levels[pos]
            per_contact[pos].append(entry)
    b_raw = behaviour_raw.to_numpy()
    f_raw = fit_raw.to_numpy()
    return [
        {
            "as_of": as_of.isoformat(),
            "signals": signals,
            "behaviour_raw": int(b_raw[i]),
            "behaviour_cap": scoring.behaviour.cap,
            "fit_raw": int(f_raw[i]),
            "fit_cap": scoring.fit.cap,
        }
        for i, signals in enumerate(per_contact)
    ]
