"""Promotion decisions from frames and rules: every rule kind, hot marks, owners (pure)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from models.enums import Stage
from models.promotion_rules import SequenceRule
from models.rules import RulesError, load_rules, parse_rules
from tasks.promotion.decide import decide_promotions
from tasks.promotion.read import (
    ASSIGNMENT_COLUMNS,
    CONTACT_COLUMNS,
    EVENT_COLUMNS,
    OWNER_COLUMNS,
    PromotionInputs,
)
from tasks.validation import TooManyBadRows

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules" / "default.yaml")
AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)
DAY = timedelta(days=1)

SEQUENCE = {
    "kind": "sequence",
    "name": "download_then_service_pages",
    "to": "mql",
    "within_days": 30,
    "steps": [
        {"events": ["form_submit"], "details": ["document_download"]},
        {"events": ["page_view"], "details": ["service"], "min": 3},
    ],
}


def contact(cid: int, *, stage: str = "lead", score: float | None = None, **extra: Any) -> dict:
    row: dict[str, Any] = dict.fromkeys(CONTACT_COLUMNS)
    row.update(contact_id=cid, email=f"c{cid}@example.com", lifecycle_stage=stage, score=score)
    row.update(extra)
    return row


def inputs(
    contacts: list[dict],
    events: list[tuple[int, str, str | None, datetime]] = (),  # type: ignore[assignment]
    owners: list[tuple] = (),  # type: ignore[assignment]
    assignments: list[tuple] = (),  # type: ignore[assignment]
) -> PromotionInputs:
    return PromotionInputs(
        as_of=AS_OF,
        contacts=pd.DataFrame(contacts, columns=CONTACT_COLUMNS),
        events=pd.DataFrame(list(events), columns=EVENT_COLUMNS),
        owners=pd.DataFrame(list(owners), columns=OWNER_COLUMNS),
        assignments=pd.DataFrame(list(assignments), columns=ASSIGNMENT_COLUMNS),
    )


def with_promotion(**section: Any) -> Any:
    data = RULES.model_dump(mode="json")
    data["promotion"] = {**data["promotion"], **section}
    return parse_rules(data, source=Path("test.yaml"))


def test_a_rules_file_without_transitions_is_refused_naming_the_key() -> None:
    data = RULES.model_dump(mode="json")
    del data["promotion"]["transitions"]
    with pytest.raises(RulesError, match=r"promotion\.transitions"):
        parse_rules(data, source=Path("test.yaml"))


def moves(decisions: Any) -> dict[int, tuple[str, str]]:
    return {t.contact_id: (t.to_stage.value, t.rule) for t in decisions.transitions}


def test_the_default_rules_file_carries_the_domain_defaults() -> None:
    assert [r.name for r in RULES.promotion.transitions] == [
        "competitor_form",
        "demo_request",
        "mql_score",
    ]


def test_the_mql_line_comes_from_the_scoring_thresholds() -> None:
    frame = inputs([contact(1, score=49), contact(2, score=50), contact(3, score=None)])
    assert moves(decide_promotions(frame, RULES, as_of=AS_OF)) == {2: ("mql", "mql_score")}

    data = RULES.model_dump(mode="json")
    data["scoring"]["thresholds"]["mql"] = 40
    lowered = parse_rules(data, source=Path("t.yaml"))
    frame = inputs([contact(1, score=45)])
    assert moves(decide_promotions(frame, lowered, as_of=AS_OF)) == {1: ("mql", "mql_score")}


def test_a_demo_request_beats_the_score_rule_because_it_is_listed_first() -> None:
    frame = inputs([contact(1, score=90)], events=[(1, "form_submit", "demo_request", AS_OF - DAY)])
    assert moves(decide_promotions(frame, RULES, as_of=AS_OF)) == {1: ("sql", "demo_request")}


def recycled(cid: int, *, days_ago: float, silent: bool = False, kind: str = "recycle") -> dict:
    """A lead sent back to marketing `days_ago` days before AS_OF, keeping score 65."""
    return contact(cid, score=65, last_stage_kind=kind, awaiting_reengagement=silent,
                   last_stage_at=AS_OF - timedelta(days=days_ago))


def test_a_recycled_lead_is_promoted_by_score_only_after_the_cooldown_and_new_behaviour() -> None:
    assert RULES.promotion.recycle_cooldown_days == 30
    frame = inputs(
        [
            recycled(1, days_ago=29),
            recycled(2, days_ago=30),
            recycled(3, days_ago=45, silent=True),
            recycled(4, days_ago=2, kind="renurture"),
            recycled(5, days_ago=2, kind="forward"),
        ]
    )

    assert moves(decide_promotions(frame, RULES, as_of=AS_OF)) == {
        2: ("mql", "mql_score"), 5: ("mql", "mql_score"),
    }


def test_a_demo_request_promotes_a_recycled_lead_during_the_cooldown() -> None:
    frame = inputs(
        [recycled(1, days_ago=1)], events=[(1, "form_submit", "demo_request", AS_OF - DAY / 2)]
    )
    assert moves(decide_promotions(frame, RULES, as_of=AS_OF)) == {1: ("sql", "demo_request")}


def test_the_recycle_cooldown_is_rules_data() -> None:
    frame = inputs([recycled(1, days_ago=8)])
    week = with_promotion(recycle_cooldown_days=7)
    assert moves(decide_promotions(frame, week, as_of=AS_OF)) == {1: ("mql", "mql_score")}


def test_a_competitor_form_disqualifies_even_a_high_score_and_is_not_hot() -> None:
    frame = inputs(
        [contact(1, score=95, email="x@competitor.example")],
        events=[(1, "form_submit", "contact", AS_OF - DAY)],
    )
    decisions = decide_promotions(frame, RULES, as_of=AS_OF)
    assert moves(decisions) == {1: ("other", "competitor_form")}
    assert decisions.hot == []


def test_a_competitor_address_without_a_form_is_left_to_the_other_rules() -> None:
    frame = inputs([contact(1, score=60, email="x@competitor.example")])
    assert moves(decide_promotions(frame, RULES, as_of=AS_OF)) == {1: ("mql", "mql_score")}


def test_a_sequence_rule_needs_its_steps_in_order() -> None:
    rules = with_promotion(transitions=[SEQUENCE])
    download, service = ("form_submit", "document_download"), ("page_view", "service")
    frame = inputs(
        [contact(1), contact(2), contact(3), contact(4)],
        events=[
            # 1: download, then three service pages → mql
            (1, *download, AS_OF - 5 * DAY),
            *[(1, *service, AS_OF - d * DAY) for d in (4, 3, 2)],
            # 2: service pages first, download last → no
            *[(2, *service, AS_OF - d * DAY) for d in (9, 8, 7)],
            (2, *download, AS_OF - DAY),
            # 3: only two service pages after the download → no
            (3, *service, AS_OF - 9 * DAY),
            (3, *download, AS_OF - 5 * DAY),
            *[(3, *service, AS_OF - d * DAY) for d in (4, 3)],
            # 4: the pages came more than 30 days after the download → no
            (4, *download, AS_OF - 60 * DAY),
            *[(4, *service, AS_OF - d * DAY) for d in (3, 2, 1)],
        ],
    )
    assert moves(decide_promotions(frame, rules, as_of=AS_OF)) == {
        1: ("mql", "download_then_service_pages")
    }


def test_a_sequence_needs_at_least_two_steps() -> None:
    with pytest.raises(ValueError, match="steps"):
        SequenceRule.model_validate({**SEQUENCE, "steps": SEQUENCE["steps"][:1]})


def test_a_bad_promotion_key_is_named_in_the_error() -> None:
    data = RULES.model_dump(mode="json")
    data["promotion"]["transitions"][2]["threshold"] = "lukewarm"
    with pytest.raises(RulesError, match=r"promotion\.transitions\.2"):
        parse_rules(data, source=Path("bad.yaml"))


def test_hot_marks_only_contacts_in_the_sales_stages_not_yet_hot() -> None:
    frame = inputs(
        [
            contact(1, score=75),
            contact(2, stage="mql", score=80),
            contact(3, stage="mql", score=80, hot_at=AS_OF - DAY),
            contact(4, stage="customer", score=99),
            contact(5, score=69),
        ]
    )
    decisions = decide_promotions(frame, RULES, as_of=AS_OF)
    assert sorted(h.contact_id for h in decisions.hot) == [1, 2]


def test_owners_rotate_by_weight_skip_inactive_ones_and_keep_a_fitting_current_owner() -> None:
    owners = [
        (1, "a", "a@x", "is", True, 2.0, "UA"),
        (2, "b", "b@x", "is", False, 5.0, "UB"),
        (3, "c", "c@x", "is", True, 1.0, None),
        (4, "f", "f@x", "fs", True, 1.0, None),
    ]
    contacts = [contact(i, score=60) for i in range(1, 7)]
    contacts.append(contact(7, score=60, owner_id=3))
    contacts.append(contact(8, score=60, owner_id=4))
    contacts.append(contact(9, score=60, owner_id=2))
    decisions = decide_promotions(inputs(contacts, owners=owners), RULES, as_of=AS_OF)
    picked = {a.contact_id: a.owner_id for a in decisions.assignments}
    assert 7 not in picked
    assert picked[8] in (1, 3)
    assert picked[9] in (1, 3)
    assert sorted(picked.values()).count(1) == 5
    assert sorted(picked.values()).count(3) == 3
    assert {a.team for a in decisions.assignments} == {"is"}


def test_a_team_without_active_owners_leaves_the_lead_unassigned() -> None:
    frame = inputs(
        [contact(1, score=10)],
        events=[(1, "form_submit", "demo_request", AS_OF - DAY)],
        owners=[(1, "a", "a@x", "is", True, 1.0, None)],
    )
    [assignment] = decide_promotions(frame, RULES, as_of=AS_OF).assignments
    assert (assignment.team, assignment.owner_id) == ("fs", None)
    assert Stage.SQL.value in assignment.reason


def test_a_candidate_with_an_impossible_score_is_set_aside_and_the_rest_proceed() -> None:
    frame = inputs([contact(1, score=60), contact(2, score=250), contact(3, score=55)])
    decisions = decide_promotions(frame, RULES, as_of=AS_OF, max_bad_row_share=0.5)
    assert sorted(moves(decisions)) == [1, 3]
    assert decisions.bad_rows == 1
    assert decisions.quarantined[0].row_number == 2
    assert decisions.quarantined[0].field == "score"


def test_too_many_invalid_candidates_fail_the_run() -> None:
    frame = inputs([contact(1, score=60), contact(2, score=250, lifecycle_stage="bogus")])
    with pytest.raises(TooManyBadRows, match="1 of 2"):
        decide_promotions(frame, RULES, as_of=AS_OF, max_bad_row_share=0.2)
