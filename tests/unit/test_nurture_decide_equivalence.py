"""The frame-wise nurture decide decides exactly what the row-by-row one did.

`tests.support.legacy_nurture_decide` is the implementation before decide was rewritten
over frames, kept as the oracle: same rows, same order, same reasons, same times.
"""

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from models.nurture_rules import NurtureRules
from tasks.nurture.decide import NurtureDecisions, NurtureFrames, decide_nurture
from tests.support import legacy_nurture_decide as legacy
from tests.support.nurture_inputs import nurture_frames
from tests.support.nurture_strategies import RULES, THRESHOLDS, nurture_cases

PARTS = ("enrollments", "emails", "history", "suppressions")


def _rows(decisions: Any) -> dict[str, list[dict[str, Any]]]:
    return {part: [asdict(item) for item in getattr(decisions, part)] for part in PARTS}


def _both(
    frames: NurtureFrames, rules: NurtureRules, as_of: datetime, zone: str = "Asia/Tokyo"
) -> tuple[dict[str, list[dict[str, Any]]], NurtureDecisions]:
    old = legacy.decide_nurture(
        legacy.NurtureFrames(**frames.__dict__),
        rules=rules,
        thresholds=THRESHOLDS,
        as_of=as_of,
        business_timezone=zone,
    )
    new = decide_nurture(
        frames, rules=rules, thresholds=THRESHOLDS, as_of=as_of, business_timezone=zone
    )
    assert old.counts() == new.counts()
    return _rows(old), new


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=nurture_cases())
def test_random_worlds_get_the_same_decisions_as_the_row_by_row_decide(
    case: tuple[NurtureRules, NurtureFrames, datetime],
) -> None:
    rules, frames, as_of = case
    old, new = _both(frames, rules, as_of)
    assert _rows(new) == old


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=nurture_cases())
def test_a_foreign_business_time_zone_gets_the_same_decisions_as_the_row_by_row_decide(
    case: tuple[NurtureRules, NurtureFrames, datetime],
) -> None:
    rules, frames, as_of = case
    old, new = _both(frames, rules, as_of, zone="America/New_York")
    assert _rows(new) == old


@pytest.mark.parametrize(
    "as_of",
    [
        datetime(2026, 12, 8, 2, tzinfo=UTC),  # Tuesday 11:00 in Tokyo
        datetime(2026, 12, 7, 0, tzinfo=UTC),  # Monday 09:00: the held weekend mail
        datetime(2026, 12, 5, 3, tzinfo=UTC),  # Saturday
        datetime(2026, 11, 23, 1, tzinfo=UTC),  # Labour Thanksgiving Day
        datetime(2026, 12, 8, 9, tzinfo=UTC),  # 18:00, the window just closed
    ],
)
def test_a_synthetic_hour_of_2000_enrolments_gets_the_same_decisions(as_of: datetime) -> None:
    frames = nurture_frames(2000, rules=RULES.nurture, as_of=as_of, due_share=0.2)
    old, new = _both(frames, RULES.nurture, as_of)
    assert _rows(new) == old
    assert new.history  # the hour did move enrollments (not an empty comparison)


def test_a_run_with_no_rows_decides_nothing_in_both() -> None:
    empty = nurture_frames(1, rules=RULES.nurture)
    nothing = NurtureFrames(**{name: frame.iloc[0:0] for name, frame in empty.__dict__.items()})
    old, new = _both(nothing, RULES.nurture, datetime(2026, 12, 8, 2, tzinfo=UTC))
    assert _rows(new) == old == {part: [] for part in PARTS}


def test_frames_built_from_database_rows_with_all_null_columns_decide_the_same() -> None:
    # The read beat builds frames from tuples: a column of only None stays object dtype.
    frames = nurture_frames(50, rules=RULES.nurture, due_share=0.5)
    enrollments = frames.enrollments.assign(
        next_step_at=None, last_sent_at=None, exit_reason=None
    ).astype({"next_step_at": object, "last_sent_at": object})
    contacts = frames.contacts.assign(score=None, timezone=None, company_name=None)
    as_of = datetime(2026, 12, 8, 2, tzinfo=UTC) + timedelta(minutes=30)
    changed = NurtureFrames(**{**frames.__dict__, "enrollments": enrollments,
                               "contacts": contacts})
    old, new = _both(changed, RULES.nurture, as_of)
    assert _rows(new) == old
