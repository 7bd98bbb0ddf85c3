"""The KPI figures equal a hand computation on a small, fully spelled-out dataset.

Period: April 2026 in Asia/Tokyo, i.e. [2026-04-01 00:00 JST, 2026-05-01 00:00 JST).
The dataset (with a comment on every row) is tests/support/kpi_dataset.py; every expected
number below is worked out by hand in the comments next to it.
"""

from datetime import date
from typing import Any

import pytest

from tasks.kpi.compute import KpiFrames, compute_kpis
from tasks.kpi.report import month_to_date
from tests.support.kpi_dataset import FRAMES, PERIOD, frame, jst


@pytest.fixture(scope="module")
def kpis() -> dict[str, Any]:
    return compute_kpis(FRAMES, PERIOD)


def test_the_mql_cohort_is_the_contacts_whose_first_mql_entry_falls_in_the_period(
    kpis: dict[str, Any],
) -> None:
    # Cohort: 1 (Apr 2), 2 (Apr 3), 3 (Apr 1 00:00), 5 (Apr 28) = 4. Not 4 (first MQL in
    # March), not 7 (May 1 00:00 = the end).
    assert kpis["mql_count"] == 4
    # SQL by the end: 1, 2 → 2/4. Customer by the end: 1 → 1/4.
    assert kpis["mql_to_sql_rate"] == 0.5
    assert kpis["mql_to_customer_rate"] == 0.25
    # Contact 1: customer Apr 12 09:00 − MQL Apr 2 09:00 = 10 days (the only one).
    assert kpis["median_days_mql_to_customer"] == 10.0
    assert kpis["monthly_mql_count"] == [{"month": "2026-04", "mql_count": 4}]
    assert kpis["warnings"] == []


def test_deals_closed_in_the_period_give_won_lost_rate_length_and_amount(
    kpis: dict[str, Any],
) -> None:
    # Won: deals 1, 2 (closedwon alias), 5; deal 4 closed at the end. Lost: deal 3.
    assert (kpis["deals_won"], kpis["deals_lost"]) == (3, 1)
    assert kpis["deal_win_rate"] == 0.75  # 3 / (3 + 1)
    assert kpis["average_deal_days"] == pytest.approx(59 / 3)  # (31 + 20 + 8) / 3
    assert kpis["won_amount"] == 1750.0  # 1000 + 500 + 250
    # Through MQL: deal 1 (contact 1 MQL Apr 2) + deal 2 (contact 3 MQL Apr 1) = 1500;
    # through SQL: only deal 1 (contact 3 never SQL) = 1000; deal 5's contact never MQL.
    assert kpis["won_amount_through_mql"] == 1500.0
    assert kpis["won_amount_through_sql"] == 1000.0


def test_the_funnel_rates_divide_first_stage_entries_in_the_period(
    kpis: dict[str, Any],
) -> None:
    # First entries in April: mql 1,2,3,5 = 4; sql 1,2,4 = 3 (5's is in May);
    # opportunity 1 = 1; customer 1 = 1. New leads: 5.
    assert kpis["new_leads"] == 5
    assert kpis["stage_entries"] == {"mql": 4, "sql": 3, "opportunity": 1, "customer": 1}
    assert kpis["mql_rate"] == 0.8  # 4 / 5
    assert kpis["sql_rate"] == 0.75  # 3 / 4
    assert kpis["opportunity_rate"] == pytest.approx(1 / 3)
    assert kpis["win_rate"] == 1.0  # 1 customer / 1 opportunity
    assert kpis["lead_to_won_rate"] == 0.2  # 1 / 5


def test_dwell_counts_the_stays_that_ended_in_the_period(kpis: dict[str, Any]) -> None:
    # lead: 1 Mar 20→Apr 2 = 13 d, 4 Mar 30→Apr 15 = 16 d. mql: 1 = 3 d, 2 = 7 d, 4 = 1 d
    # (4's March stay ended in March). sql: 1 = 1 d. opportunity: 1 = 6 d.
    assert kpis["stage_dwell_days"] == {
        "lead": {"stays": 2, "mean_days": 14.5, "median_days": 14.5},
        "mql": {"stays": 3, "mean_days": pytest.approx(11 / 3), "median_days": 3.0},
        "sql": {"stays": 1, "mean_days": 1.0, "median_days": 1.0},
        "opportunity": {"stays": 1, "mean_days": 6.0, "median_days": 6.0},
    }
    # Deal 1: value_agreed Mar 20→Apr 12 = 23 d (problem_agreed ended in March);
    # deal 2: value_agreed 10 d, terms_agreed 10 d.
    assert kpis["deal_stage_dwell_days"] == {
        "value_agreed": {"stays": 2, "mean_days": 16.5, "median_days": 16.5},
        "terms_agreed": {"stays": 1, "mean_days": 10.0, "median_days": 10.0},
    }


def test_sla_compliance_reads_the_clocks_started_in_the_period(kpis: dict[str, Any]) -> None:
    # First touch in hours: 6, 36, 3 → median 6, mean 15. In time: 1 and 4 of 1, 2, 3, 4
    # (5's cycle closed, 4's March clock is outside) → 2/4.
    assert kpis["first_touch_hours_median"] == 6.0
    assert kpis["first_touch_hours_mean"] == 15.0
    assert kpis["first_touch_in_time_rate"] == 0.5
    # SQL decisions: 1 and 2 in time, 3 overdue, 5 not yet due → 2/3.
    assert kpis["sql_decision_in_time_rate"] == pytest.approx(2 / 3)
    assert kpis["follow_up_completion"] == [
        {"owner": "(unassigned)", "due": 1, "done": 1, "completion_rate": 1.0},
        {"owner": "Aoki", "due": 3, "done": 2, "completion_rate": pytest.approx(2 / 3)},
        {"owner": "Baba", "due": 1, "done": 0, "completion_rate": 0.0},
    ]


def test_scores_at_mql_fill_ten_point_bands_and_sources_split_the_sql_rate(
    kpis: dict[str, Any],
) -> None:
    # Score at first MQL: 1 → 62 (Apr 2 08:00; the 80 came later), 2 → 65 (same instant),
    # 5 → 58, 3 → 45 (Mar 31 20:00, before the period).
    bands = {row["band"]: row["contacts"] for row in kpis["mql_score_histogram"]}
    assert bands.pop("60-69") == 2
    assert bands.pop("50-59") == 1
    assert bands.pop("40-49") == 1
    assert set(bands.values()) == {0}
    assert list(bands) == ["0-9", "10-19", "20-29", "30-39", "70-79", "80-89", "90-99",
                           "100+", "unscored"]
    # web: 1, 2 both SQL; event: 3, 5 neither.
    assert kpis["sql_rate_by_lead_source"] == [
        {"lead_source": "event", "mql": 2, "sql": 0, "sql_rate": 0.0},
        {"lead_source": "web", "mql": 2, "sql": 2, "sql_rate": 1.0},
    ]


def test_calibration_counts_who_would_have_been_mql_at_each_threshold(
    kpis: dict[str, Any],
) -> None:
    # Peak April score: 1 → 80, 4 → 72, 2 → 65, 5 → 58, 6 → 31 (7's 95 is at the end,
    # 3's 45 on Mar 31).
    # SQL by the end: 1, 2, 4.
    expected = {30: (5, 3), 35: (4, 3), 40: (4, 3), 45: (4, 3), 50: (4, 3), 55: (4, 3),
                60: (3, 3), 65: (3, 3), 70: (2, 2), 75: (1, 1), 80: (1, 1), 85: (0, 0),
                90: (0, 0)}
    got = {row["threshold"]: (row["would_be_mql"], row["reached_sql"])
           for row in kpis["calibration"]}
    assert got == expected
    assert kpis["calibration"][-1]["sql_rate"] is None


def test_an_mql_to_sql_rate_below_15_percent_adds_a_warning() -> None:
    # 7 MQLs in April, 1 of them SQL: 1/7 = 14.3 % < 15 %.
    stages = frame("contact_id to_stage at", [(i, "mql", jst(4, 2)) for i in range(1, 8)]
                   + [(1, "sql", jst(4, 3))])
    frames = KpiFrames(**{**FRAMES.__dict__, "stage_history": stages})

    kpis = compute_kpis(frames, PERIOD)

    assert kpis["mql_to_sql_rate"] == pytest.approx(1 / 7)
    assert len(kpis["warnings"]) == 1
    assert "MQL → SQL is 14.3%, below 15%" in kpis["warnings"][0]


def test_an_empty_database_gives_zero_counts_and_null_rates_without_crashing() -> None:
    empty = KpiFrames(**{name: value.iloc[0:0] for name, value in FRAMES.__dict__.items()})

    kpis = compute_kpis(empty, PERIOD)

    assert kpis["mql_count"] == 0 and kpis["deals_won"] == 0 and kpis["won_amount"] == 0.0
    for key in ("mql_to_sql_rate", "mql_to_customer_rate", "median_days_mql_to_customer",
                "deal_win_rate", "average_deal_days", "mql_rate", "sql_rate", "win_rate",
                "first_touch_hours_median", "first_touch_in_time_rate"):
        assert kpis[key] is None, key
    assert kpis["follow_up_completion"] == [] and kpis["warnings"] == []
    assert [row["would_be_mql"] for row in kpis["calibration"]] == [0] * 13


@pytest.mark.parametrize(
    ("today", "period"),
    [
        (date(2026, 4, 15), (date(2026, 4, 1), date(2026, 4, 15))),
        (date(2026, 5, 1), (date(2026, 4, 1), date(2026, 5, 1))),
        (date(2026, 1, 1), (date(2025, 12, 1), date(2026, 1, 1))),
    ],
)
def test_the_daily_report_covers_yesterdays_month_up_to_today(
    today: date, period: tuple[date, date]
) -> None:
    assert month_to_date(today) == period
