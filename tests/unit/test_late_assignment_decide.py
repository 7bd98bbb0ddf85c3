"""Late assignment decided from frames: unowned leads join their team's rotation (pure)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from models.rules import load_rules
from tasks.promotion.decide import UNOWNED_COLUMNS, decide_promotions
from tasks.promotion.read import (
    ASSIGNMENT_COLUMNS,
    CONTACT_COLUMNS,
    EVENT_COLUMNS,
    OWNER_COLUMNS,
    PromotionInputs,
)

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules" / "default.yaml")
AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)


def unowned(cid: int, *, stage: str = "mql", **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(UNOWNED_COLUMNS)
    row.update(contact_id=cid, email=f"c{cid}@example.com", lifecycle_stage=stage, score=55.0,
               last_stage_at=AS_OF - timedelta(days=2))
    row.update(extra)
    return row


def world(
    rows: list[dict[str, Any]],
    *,
    owners: list[tuple[Any, ...]],
    candidates: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> PromotionInputs:
    return PromotionInputs(
        as_of=AS_OF,
        contacts=pd.DataFrame(list(candidates), columns=CONTACT_COLUMNS),
        events=pd.DataFrame(columns=EVENT_COLUMNS),
        owners=pd.DataFrame(owners, columns=OWNER_COLUMNS),
        assignments=pd.DataFrame(
            [(99, 1, "is", AS_OF.replace(hour=1))], columns=ASSIGNMENT_COLUMNS
        ),
        unowned=pd.DataFrame(rows, columns=UNOWNED_COLUMNS),
    )


def test_unowned_mqls_get_owners_in_the_team_rotation_marked_late() -> None:
    inputs = world(
        [unowned(1), unowned(2)],
        owners=[(1, "a", "a@x", "is", True, 1.0, None), (2, "b", "b@x", "is", True, 1.0, None)],
    )

    decisions = decide_promotions(inputs, RULES, as_of=AS_OF)

    # Owner 1 had the last lead, so the rotation continues with owner 2.
    assert [(a.contact_id, a.owner_id, a.late, a.reason) for a in decisions.assignments] == [
        (1, 2, True, "late assignment"),
        (2, 1, True, "late assignment"),
    ]
    assert decisions.counts()["late_assigned"] == 2
    assert decisions.counts()["assigned"] == 0


def test_a_late_candidate_whose_team_has_no_active_owner_waits() -> None:
    inputs = world(
        [unowned(1), unowned(2, stage="sql")],
        owners=[(1, "a", "a@x", "is", False, 1.0, None), (2, "f", "f@x", "fs", True, 1.0, None)],
    )

    decisions = decide_promotions(inputs, RULES, as_of=AS_OF)

    assert [(a.contact_id, a.team, a.owner_id) for a in decisions.assignments] == [(2, "fs", 2)]
    assert decisions.counts()["awaiting_owner"] == 1


def test_a_lead_promoted_this_hour_is_assigned_as_a_promotion_not_late() -> None:
    candidate: dict[str, Any] = dict.fromkeys(CONTACT_COLUMNS)
    candidate.update(contact_id=1, email="c1@example.com", lifecycle_stage="mql", score=90.0)
    inputs = world(
        [unowned(1)],
        owners=[(1, "a", "a@x", "is", True, 1.0, None), (2, "f", "f@x", "fs", True, 1.0, None)],
        candidates=[candidate],
    )
    inputs.events.loc[0] = [1, "form_submit", "demo_request", AS_OF.replace(hour=2)]

    decisions = decide_promotions(inputs, RULES, as_of=AS_OF)

    assert [(t.contact_id, t.to_stage.value) for t in decisions.transitions] == [(1, "sql")]
    assert [(a.owner_id, a.late) for a in decisions.assignments] == [(2, False)]


def test_leads_that_entered_their_stage_long_ago_or_at_no_known_time_are_not_assigned_late(
) -> None:
    # A migration of old MQLs without owners must not hand them all to sales at once.
    inputs = world(
        [unowned(1, last_stage_at=AS_OF - timedelta(days=15)), unowned(2, last_stage_at=None),
         unowned(3, last_stage_at=AS_OF - timedelta(days=13))],
        owners=[(1, "a", "a@x", "is", True, 1.0, None)],
    )

    decisions = decide_promotions(inputs, RULES, as_of=AS_OF)

    assert [a.contact_id for a in decisions.assignments] == [3]


IS_AND_FS = [(1, "a", "a@x", "is", True, 1.0, None), (2, "f", "f@x", "fs", True, 1.0, None)]


def test_an_sql_lead_made_sales_ready_by_inside_sales_is_handed_to_field_sales() -> None:
    inputs = world(
        [unowned(1, stage="sql", owner_id=1, last_stage_rule="lead_status:sales_ready")],
        owners=IS_AND_FS,
    )

    decisions = decide_promotions(inputs, RULES, as_of=AS_OF)

    [handed] = decisions.assignments
    assert (handed.contact_id, handed.owner_id, handed.team, handed.reason) == (
        1, 2, "fs", "handed to fs"
    )
    assert (handed.late, handed.handover, handed.replaces) == (True, True, 1)
    assert (decisions.counts()["handed_over"], decisions.counts()["late_assigned"]) == (1, 0)


def test_an_owned_lead_is_not_handed_over_when_no_lead_status_moved_it_or_its_owner_fits(
) -> None:
    inputs = world(
        [
            # Imported into sql with an inside-sales owner: the import's choice stands.
            unowned(1, stage="sql", owner_id=1, last_stage_rule="import"),
            # Already with field sales.
            unowned(2, stage="sql", owner_id=2, last_stage_rule="lead_status:sales_ready"),
            # Inside sales is the team of mql.
            unowned(3, stage="mql", owner_id=1, last_stage_rule="lead_status:connected"),
            # Moved by its lead status longer ago than late_assignment_within_days.
            unowned(4, stage="sql", owner_id=1, last_stage_rule="lead_status:sales_ready",
                    last_stage_at=AS_OF - timedelta(days=15)),
        ],
        owners=IS_AND_FS,
    )

    decisions = decide_promotions(inputs, RULES, as_of=AS_OF)

    assert decisions.assignments == []
    assert decisions.counts()["awaiting_owner"] == 0


def test_a_hand_over_waits_while_the_stages_team_has_no_active_owner() -> None:
    inputs = world(
        [unowned(1, stage="sql", owner_id=1, last_stage_rule="lead_status:sales_ready")],
        owners=[(1, "a", "a@x", "is", True, 1.0, None), (2, "f", "f@x", "fs", False, 1.0, None)],
    )

    decisions = decide_promotions(inputs, RULES, as_of=AS_OF)

    assert decisions.assignments == []
    assert decisions.counts()["awaiting_owner"] == 1
