"""The frame-based promotion decide decides exactly what the row-by-row one did (property
tests).

tests/support/legacy_promotion_decide.py is the per-row implementation it replaced; every
example compares transitions, hot marks, owner assignments (owners, reasons, order),
quarantine and counts.
"""

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings

from models.rules import load_rules, parse_rules
from tasks.promotion.assignment import weighted_round_robin
from tasks.promotion.decide import PromotionDecisions, PromotionInputs, decide_promotions
from tests.support import legacy_promotion_decide as legacy
from tests.support.decide_worlds import AS_OF, promotion_worlds

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules" / "default.yaml")


def _other_rules() -> Any:
    """Every rule kind, lead-source routing and a shorter late-assignment window."""
    data = RULES.model_dump(mode="json")
    data["promotion"] = {
        **data["promotion"],
        "transitions": [
            *data["promotion"]["transitions"],
            {"kind": "sequence", "name": "download_then_service", "to": "mql",
             "within_days": 10,
             "steps": [{"events": ["form_submit"], "details": ["document_download"]},
                       {"events": ["page_view"], "details": ["service"], "min": 2}]},
            {"kind": "event", "name": "two_contacts", "to": "sql",
             "events": ["form_submit"], "details": ["contact"], "min": 2},
            {"kind": "score", "name": "hot_score", "to": "sql", "threshold": "hot"},
        ],
        "routing": {"default_team": "is", "by_stage": {"sql": "fs"},
                    "by_lead_source": {"trade_show": "fs", "Referral": "cs",
                                       "REFERRAL": "fs"}},
        "late_assignment_within_days": 5,
        "hot_stages": ["mql"],
    }
    return parse_rules(data, source=Path("equivalence.yaml"))


OTHER_RULES = _other_rules()


def assert_same(new: PromotionDecisions, old: PromotionDecisions) -> None:
    assert new.transitions == old.transitions
    assert new.hot == old.hot
    assert new.assignments == old.assignments
    assert new.quarantined == old.quarantined
    assert (new.candidates, new.awaiting_owner) == (old.candidates, old.awaiting_owner)
    assert new.counts() == old.counts()


def both(inputs: PromotionInputs, rules: Any = RULES) -> None:
    new = decide_promotions(inputs, rules, as_of=AS_OF)
    assert_same(new, legacy.decide_promotions(inputs, rules, as_of=AS_OF))
    for name, count in new.counts().items():
        event(f"{name}: {'some' if count else 'none'}")
    for rule in sorted({t.rule for t in new.transitions}):
        event(f"moved by {rule}")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(promotion_worlds())
def test_frame_promotion_decides_what_the_row_by_row_promotion_did(
    inputs: PromotionInputs,
) -> None:
    both(inputs)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(promotion_worlds())
def test_frame_promotion_agrees_with_every_rule_kind_and_lead_source_routing(
    inputs: PromotionInputs,
) -> None:
    both(inputs, OTHER_RULES)


@settings(max_examples=300, deadline=None)
@given(promotion_worlds())
def test_the_list_based_rotation_picks_what_the_dict_based_one_did(
    inputs: PromotionInputs,
) -> None:
    weights = {
        int(o): float(w) for o, w in zip(inputs.owners["owner_id"], inputs.owners["weight"],
                                         strict=True)
    }
    history = [int(o) for o in inputs.assignments["owner_id"]]
    for count in (0, 1, 7, 25):
        assert weighted_round_robin(weights, history=history, count=count) == (
            legacy.weighted_round_robin(weights, history=history, count=count)
        )
