"""Which lifecycle moves are allowed, and how proposals become transitions (pure)."""

from datetime import UTC, datetime

import pytest

from models.enums import Stage
from tasks.transitions import (
    Proposal,
    TransitionKind,
    company_stage,
    decide_transitions,
    is_allowed,
)

AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)
FORWARD = TransitionKind.FORWARD


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("subscriber", "lead"),
        ("lead", "mql"),
        ("lead", "sql"),
        ("mql", "sql"),
        ("lost_renurture", "mql"),
        (None, "mql"),
        ("opportunity", "customer"),
    ],
)
def test_forward_moves_into_a_later_funnel_stage_are_allowed(
    source: str | None, target: str
) -> None:
    assert is_allowed(source, target, FORWARD)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("customer", "mql"),
        ("sql", "mql"),
        ("mql", "mql"),
        ("other", "mql"),
        ("lead", "other"),
        ("lead", "lost_renurture"),
        ("evangelist", "sql"),
    ],
)
def test_backward_sideways_and_out_of_funnel_moves_are_not_forward(
    source: str, target: str
) -> None:
    assert not is_allowed(source, target, FORWARD)


def test_disqualification_reaches_other_only_before_a_deal_exists() -> None:
    assert is_allowed("lead", "other", TransitionKind.DISQUALIFY)
    assert is_allowed("sql", "other", TransitionKind.DISQUALIFY)
    assert not is_allowed("opportunity", "other", TransitionKind.DISQUALIFY)
    assert not is_allowed("customer", "other", TransitionKind.DISQUALIFY)
    assert not is_allowed("lead", "mql", TransitionKind.DISQUALIFY)


def test_recycle_and_renurture_are_the_only_ways_back() -> None:
    assert is_allowed("mql", "lead", TransitionKind.RECYCLE)
    assert is_allowed("other", "lead", TransitionKind.RECYCLE)
    assert not is_allowed("lead", "mql", TransitionKind.RECYCLE)
    assert is_allowed("opportunity", "lost_renurture", TransitionKind.RENURTURE)
    assert not is_allowed("opportunity", "lead", TransitionKind.RENURTURE)


def test_the_first_allowed_proposal_per_contact_wins_and_forbidden_ones_are_dropped() -> None:
    stages = {1: "lead", 2: "customer", 3: "mql"}
    proposals = [
        Proposal(1, Stage.SQL, "demo_request"),
        Proposal(1, Stage.MQL, "mql_score"),
        Proposal(2, Stage.MQL, "mql_score"),
        Proposal(3, Stage.MQL, "mql_score"),
        Proposal(9, Stage.MQL, "mql_score"),
        Proposal(3, Stage.LEAD, "recycle", kind=TransitionKind.RECYCLE, reason="no answer"),
    ]

    decided = decide_transitions(stages, proposals, as_of=AS_OF)

    assert [(t.contact_id, t.from_stage, t.to_stage, t.rule, t.kind) for t in decided] == [
        (1, "lead", Stage.SQL, "demo_request", FORWARD),
        (3, "mql", Stage.LEAD, "recycle", TransitionKind.RECYCLE),
    ]
    assert decided[0].at == AS_OF
    assert decided[0].key == "1:sql:20261120T030000Z"


def test_a_company_takes_its_most_advanced_contact_stage() -> None:
    assert company_stage(["subscriber", "mql", "other"]) == Stage.MQL
    assert company_stage(["other", "lost_renurture"]) == Stage.LOST_RENURTURE
    assert company_stage(["lead", "customer", "sql"]) == Stage.CUSTOMER
    assert company_stage([None, "a_custom_portal_stage"]) is None
