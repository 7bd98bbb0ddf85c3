"""Routing to a team and weighted round-robin over its owners (pure)."""

from collections import Counter

import pytest

from models.enums import Stage, Team
from models.promotion_rules import Routing
from tasks.promotion.assignment import route_team, weighted_round_robin


@pytest.mark.parametrize(
    "weights",
    [
        {1: 3.0, 2: 2.0, 3: 1.0},
        {1: 1.5, 2: 1.0, 3: 0.5},
        {10: 5, 11: 3, 12: 1, 13: 1},
        {1: 0.7, 2: 0.2, 3: 0.1},
        {1: 1, 2: 1, 3: 1},
    ],
)
def test_a_hundred_leads_are_spread_by_weight_within_one_lead(
    weights: dict[int, float],
) -> None:
    picks = weighted_round_robin(weights, history=[], count=100)
    counts = Counter(picks)
    total = sum(weights.values())
    for owner, weight in weights.items():
        assert abs(counts[owner] - 100 * weight / total) <= 1


def test_the_rotation_continues_from_the_stored_history_as_if_in_one_run() -> None:
    weights = {1: 3.0, 2: 2.0, 3: 1.0}
    in_one_go = weighted_round_robin(weights, history=[], count=60)
    history: list[int] = []
    for batch in (7, 1, 13, 39):
        history += weighted_round_robin(weights, history=history, count=batch)
    assert history == in_one_go


def test_the_same_history_always_gives_the_same_next_owners() -> None:
    weights = {4: 2.0, 7: 1.0}
    history = [4, 7, 4, 4]
    assert weighted_round_robin(weights, history=history, count=5) == weighted_round_robin(
        weights, history=history, count=5
    )


def test_an_owner_missing_from_the_active_set_gets_nothing_and_the_others_share() -> None:
    picks = weighted_round_robin({1: 1.0, 3: 1.0}, history=[1, 2, 3, 2], count=10)
    assert set(picks) == {1, 3}
    assert Counter(picks) == {1: 5, 3: 5}


def test_an_owner_who_joins_late_gets_a_fair_share_not_a_burst() -> None:
    history = weighted_round_robin({1: 1.0, 2: 1.0}, history=[], count=40)
    picks = weighted_round_robin({1: 1.0, 2: 1.0, 3: 1.0}, history=history, count=9)
    assert Counter(picks)[3] <= 4


def test_no_active_owner_means_no_pick() -> None:
    assert weighted_round_robin({}, history=[1], count=3) == []
    assert weighted_round_robin({1: 0.0}, history=[], count=3) == []


def test_routing_goes_by_stage_then_lead_source_then_default() -> None:
    routing = Routing(
        default_team=Team.IS,
        by_stage={Stage.SQL: Team.FS},
        by_lead_source={"Trade_Show": Team.FS, "referral": Team.CS},
    )
    assert route_team(routing, to_stage=Stage.SQL, lead_source="webinar") == Team.FS
    assert route_team(routing, to_stage=Stage.MQL, lead_source=" trade_show ") == Team.FS
    assert route_team(routing, to_stage=Stage.MQL, lead_source="referral") == Team.CS
    assert route_team(routing, to_stage=Stage.MQL, lead_source=None) == Team.IS
