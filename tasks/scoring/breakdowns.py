"""Decide beat of scoring, the breakdown part: each contact's compact breakdown, built
signal by signal over whole columns (pure; the form is described in models.breakdowns)."""

from datetime import datetime

import numpy as np
import orjson
import pandas as pd

from leadflow.memory import gc_paused
from models.breakdowns import COMPACT_VERSION, Breakdown
from models.rules import Rules


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def epoch_seconds(lasts: pd.Series) -> pd.Series:
    """Latest event times as whole UTC epoch seconds, Int64 (NA where there is none).

    read_facts already hands back seconds; datetimes (a caller's own frame) are floored.
    """
    if not pd.api.types.is_datetime64_any_dtype(lasts):
        return lasts.astype("Int64")
    if isinstance(lasts.dtype, pd.DatetimeTZDtype):
        lasts = lasts.dt.tz_convert(None)
    seconds = lasts.to_numpy(dtype="datetime64[s]")
    known = ~np.isnat(seconds)
    return pd.Series(
        pd.arrays.IntegerArray(seconds.astype("int64"), ~known), index=lasts.index
    )


def _plain_seconds(lasts: pd.Series) -> list[int | None]:
    known = lasts.notna().to_numpy()
    values = lasts.to_numpy(dtype="int64", na_value=0).astype(object)
    values[~known] = None
    return values.tolist()


def compact_breakdowns(
    *,
    rules: Rules,
    as_of: datetime,
    behaviour: pd.DataFrame,
    facts: pd.DataFrame,
    fit: pd.DataFrame,
    job_levels: pd.Series,
) -> list[Breakdown]:
    """One breakdown per row: every signal that paid (points, units, latest event and
    window for behaviour; points and the job level for fit) and the caps.

    `behaviour` and `fit` hold points per signal, `facts` `<signal>__units` and
    `<signal>__last` (Int64 epoch seconds, see `epoch_seconds`), all aligned row for row.
    """
    scoring = rules.scoring
    rows = len(behaviour)
    # Each group's entries as one JSON fragment per row, each entry led by a comma, built
    # by whole-column string concatenation: no per-row lists or dicts (garbage collection
    # over 100k small containers cost more than the work itself).
    behaviour_json = np.full(rows, "", dtype=object)
    for signal in scoring.behaviour.signals:
        points = behaviour[signal.name].to_numpy()
        paid = np.flatnonzero(points)
        if not len(paid):
            continue
        head = f",[{_json(signal.name)},"
        tail = f",{_json(signal.window_days)}]"
        units = facts[f"{signal.name}__units"].to_numpy()[paid].tolist()
        lasts = _plain_seconds(facts[f"{signal.name}__last"].iloc[paid])
        entries = np.full(rows, "", dtype=object)
        entries[paid] = [
            f"{head}{pts},{n},{'null' if last is None else last}{tail}"
            for pts, n, last in zip(points[paid].tolist(), units, lasts, strict=True)
        ]
        behaviour_json += entries
    fit_json = np.full(rows, "", dtype=object)
    levels = job_levels.to_numpy()
    for fit_signal in scoring.fit.signals:
        points = fit[fit_signal.name].to_numpy()
        paid = np.flatnonzero(points)
        if not len(paid):
            continue
        entries = np.full(rows, "", dtype=object)
        head = f",[{_json(fit_signal.name)},"
        if fit_signal.attribute == "job_level":
            paid_levels = levels[paid].tolist()
            level_json = {level: _json(str(level)) for level in set(paid_levels)}
            entries[paid] = [
                f"{head}{pts},{level_json[level]}]"
                for pts, level in zip(points[paid].tolist(), paid_levels, strict=True)
            ]
        else:
            entries[paid] = [f"{head}{pts}]" for pts in points[paid].tolist()]
        fit_json += entries
    prefix = (
        f'{{"v":{COMPACT_VERSION},"as_of":{_json(as_of.isoformat())},'
        f'"caps":[{scoring.behaviour.cap},{scoring.fit.cap}],"b":['
    )
    # [1:] drops each group's leading comma ("" stays "").
    with gc_paused():
        return [
            Breakdown(f"{prefix}{b[1:]}],\"f\":[{f[1:]}]}}")
            for b, f in zip(behaviour_json.tolist(), fit_json.tolist(), strict=True)
        ]
