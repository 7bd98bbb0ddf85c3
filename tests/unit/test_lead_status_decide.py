"""Lead-status decisions (pure): allowed moves, their conditions, moves from activities."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from leadflow.paths import DEFAULT_RULES_PATH
from models.enums import LeadStatus, Stage
from models.lifecycle import TransitionKind
from models.rules import load_rules
from tasks.status.decide import (
    CurrentStatus,
    InvalidStatusMove,
    StatusChange,
    Touch,
    changes_from_activities,
    changes_from_new_activities,
    decide_status_change,
    imported_status_changes,
    lifecycle_moves,
)

RULES = load_rules(DEFAULT_RULES_PATH).lead_status
AT = datetime(2026, 5, 1, 1, tzinfo=UTC)
S = LeadStatus


def decide(current: str | None, to: LeadStatus, **extra: object) -> StatusChange:
    return decide_status_change(
        contact_id=1, current=current, to_status=to, at=AT, source="cli", rules=RULES,
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("new", S.ATTEMPTING), ("new", S.CONNECTED), ("new", S.UNQUALIFIED),
        ("attempting", S.CONNECTED), ("attempting", S.UNQUALIFIED),
        ("connected", S.SALES_READY), ("connected", S.UNQUALIFIED),
        ("retry", S.CONNECTED), ("retry", S.SALES_READY),
        (None, S.NEW),
    ],
)
def test_the_default_rules_allow_the_moves_of_the_status_table(
    current: str | None, target: LeadStatus
) -> None:
    change = decide(current, target)

    assert (change.from_status, change.to_status, change.at) == (current, target, AT)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("connected", S.NEW), ("connected", S.ATTEMPTING), ("attempting", S.SALES_READY),
        ("new", S.SALES_READY), ("sales_ready", S.CONNECTED), ("recycle", S.NEW),
        ("unqualified", S.CONNECTED), ("retry", S.ATTEMPTING),
    ],
)
def test_a_move_the_rules_forbid_is_refused_naming_both_statuses(
    current: str, target: LeadStatus
) -> None:
    with pytest.raises(InvalidStatusMove, match=f"{current} → {target.value}"):
        decide(current, target)


def test_moving_to_the_status_a_lead_already_has_is_refused() -> None:
    with pytest.raises(InvalidStatusMove, match="already connected"):
        decide("connected", S.CONNECTED)


@pytest.mark.parametrize("retry_at", [None, AT, AT - timedelta(days=1)])
def test_retry_needs_a_re_approach_date_after_the_change(retry_at: datetime | None) -> None:
    with pytest.raises(InvalidStatusMove, match="retry needs a re-approach date"):
        decide("connected", S.RETRY, retry_at=retry_at)


def test_retry_keeps_its_re_approach_date() -> None:
    later = AT + timedelta(days=7)

    assert decide("connected", S.RETRY, retry_at=later).retry_at == later


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_recycle_needs_a_reason(reason: str | None) -> None:
    with pytest.raises(InvalidStatusMove, match="recycle needs a reason"):
        decide("attempting", S.RECYCLE, reason=reason)


def test_a_change_dated_before_the_current_status_was_set_is_refused() -> None:
    with pytest.raises(InvalidStatusMove, match="connected → sales_ready"):
        decide("connected", S.SALES_READY, since=AT + timedelta(hours=1))


def test_a_change_dated_too_early_names_both_instants_in_the_given_time_zone() -> None:
    message = (
        "cannot move lead status connected → sales_ready at 2026-05-01T10:00+09:00: "
        "it became connected later, at 2026-05-01T11:00+09:00"
    )

    with pytest.raises(InvalidStatusMove) as refused:
        decide("connected", S.SALES_READY, since=AT + timedelta(hours=1),
               tz=ZoneInfo("Asia/Tokyo"))

    assert str(refused.value) == message


def test_activities_walk_the_status_forward_in_time_order() -> None:
    changes = changes_from_activities(
        contact_id=7, current="new", rules=RULES,
        activities=[("no_answer", AT), ("voicemail", AT + timedelta(hours=1)),
                    ("connected", AT + timedelta(days=1))],
    )

    assert [(c.from_status, c.to_status.value, c.at) for c in changes] == [
        ("new", "attempting", AT),
        ("attempting", "connected", AT + timedelta(days=1)),
    ]
    assert {c.source for c in changes} == {"activity"}


def test_a_late_no_answer_does_not_pull_a_connected_lead_back() -> None:
    changes = changes_from_activities(
        contact_id=7, current="connected", rules=RULES, activities=[("no_answer", AT)]
    )

    assert changes == []


def test_outcomes_that_need_a_date_or_a_reason_leave_the_status_alone() -> None:
    changes = changes_from_activities(
        contact_id=7, current="connected", rules=RULES,
        activities=[("bad_timing", AT), ("not_interested", AT + timedelta(hours=1))],
    )

    assert [(c.from_status, c.to_status) for c in changes] == [("connected", S.UNQUALIFIED)]


def test_a_contact_without_a_status_is_not_moved_by_activities() -> None:
    assert changes_from_activities(
        contact_id=7, current=None, rules=RULES, activities=[("connected", AT)]
    ) == []


def test_only_activities_after_the_latest_status_change_count_oldest_first() -> None:
    touches = [
        Touch(1, "connected", AT + timedelta(hours=2)),
        Touch(1, "no_answer", AT + timedelta(hours=1)),
        Touch(1, "connected", AT - timedelta(hours=1)),
        Touch(2, "connected", AT - timedelta(hours=1)),
        Touch(3, "no_answer", AT),
    ]
    current = {1: CurrentStatus("new", AT), 2: CurrentStatus("new", AT)}

    changes = changes_from_new_activities(touches, current, rules=RULES, source="import")

    assert [(c.contact_id, c.to_status.value, c.at, c.source) for c in changes] == [
        (1, "attempting", AT + timedelta(hours=1), "import"),
        (1, "connected", AT + timedelta(hours=2), "import"),
    ]


def test_an_activity_in_the_same_instant_as_the_latest_status_change_still_counts() -> None:
    changes = changes_from_new_activities(
        [Touch(1, "connected", AT)], {1: CurrentStatus("attempting", AT)}, rules=RULES,
        source="activity",
    )

    assert [(c.from_status, c.to_status.value, c.at) for c in changes] == [
        ("attempting", "connected", AT)
    ]


def test_an_import_records_the_statuses_it_set_or_changed_and_nothing_else() -> None:
    changes = imported_status_changes(
        {1: "new", 2: "connected", 3: None}, {1: "attempting", 2: "connected", 4: "new"},
        at=AT, reason="imported from a.csv",
    )

    assert [(c.contact_id, c.from_status, c.to_status.value, c.source) for c in changes] == [
        (1, "new", "attempting", "import"),
        (4, None, "new", "import"),
    ]


def test_statuses_bring_their_lifecycle_moves() -> None:
    changes = [
        StatusChange(1, "connected", S.SALES_READY, AT, "cli"),
        StatusChange(2, "attempting", S.RECYCLE, AT, "cli", reason="unreachable"),
        StatusChange(3, "new", S.UNQUALIFIED, AT, "cli"),
        StatusChange(4, "connected", S.UNQUALIFIED, AT, "cli"),
        StatusChange(5, "new", S.ATTEMPTING, AT, "cli"),
    ]
    stages = {1: "mql", 2: "mql", 3: "mql", 4: "customer", 5: "mql"}

    moves = lifecycle_moves(changes, stages, RULES)

    assert [(t.contact_id, t.from_stage, t.to_stage, t.kind, t.reason) for t in moves] == [
        (1, "mql", Stage.SQL, TransitionKind.FORWARD, None),
        (2, "mql", Stage.LEAD, TransitionKind.RECYCLE, "unreachable"),
        (3, "mql", Stage.OTHER, TransitionKind.DISQUALIFY, None),
    ]
