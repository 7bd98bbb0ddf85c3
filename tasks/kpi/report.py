"""The ONE wiring of the KPI report: period from dates → read → compute (CLI, flow, tests)."""

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Engine

from models.deal_rules import DealRules
from tasks.kpi.compute import KpiPeriod, compute_kpis
from tasks.kpi.read import read_kpi_frames


class KpiPeriodError(ValueError):
    """The report's dates do not make a period (e.g. `to` not after `from`)."""


def month_to_date(today: date) -> tuple[date, date]:
    """The daily report's default period: from the first of yesterday's month to today
    (excluded), so the run on the 1st reports the whole previous month."""
    yesterday = today - timedelta(days=1)
    return yesterday.replace(day=1), today


def kpi_period(start: date, end: date, *, tz: tzinfo, deals: DealRules) -> KpiPeriod:
    """[start 00:00, end 00:00) in the business time zone, with the deal outcomes' names.

    Raises KpiPeriodError when `end` is not after `start`.
    """
    if end <= start:
        raise KpiPeriodError(
            f"--to {end.isoformat()} must be after --from {start.isoformat()} "
            "(the period is [from, to): --to is the first day NOT included)"
        )
    won_aliases = tuple(a.lower() for a, target in deals.aliases.items() if target == deals.won)
    return KpiPeriod(
        start=datetime.combine(start, time(), tzinfo=tz),
        end=datetime.combine(end, time(), tzinfo=tz),
        tz=tz,
        won_stages=(deals.won, *won_aliases),
        lost_stages=deals.lost_names(),
    )


def kpi_report(engine: Engine, period: KpiPeriod) -> dict[str, Any]:
    """Every KPI of the period, as the JSON document `leadflow report kpi` prints."""
    with engine.connect() as conn:
        frames = read_kpi_frames(conn, start=period.start, end=period.end)
    return compute_kpis(frames, period)
