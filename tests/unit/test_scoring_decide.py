"""Pure scoring decisions: no database, no clock."""

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from models.rules import load_rules
from tasks.scoring.decide import (
    ScoringInputs,
    changed_scores,
    classify_job_levels,
    decide_scoring,
    score_contacts,
)
from tasks.scoring.report import score_distribution
from tasks.validation import TooManyBadRows

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules" / "default.yaml")
AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("代表取締役社長", "c_level"),
        ("CEO", "c_level"),
        ("取締役 営業本部長", "executive"),
        ("VP Sales", "executive"),
        ("営業部長", "director"),
        ("Director of Marketing", "director"),
        ("情報システム課長", "manager"),
        ("Engineering Manager", "manager"),
        ("マーケティング担当", "staff"),
        ("Software Engineer", "staff"),
        (None, "staff"),
        ("Doctor", "staff"),
    ],
)
def test_job_titles_classify_to_the_most_senior_matching_level(
    title: str | None, level: str
) -> None:
    assert classify_job_levels(pd.Series([title]), RULES.scoring.job_levels).iat[0] == level


def contacts_frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "contact_id": pd.Series(range(1, n + 1), dtype="int64"),
            "email": [f"c{i}@example.com" for i in range(1, n + 1)],
            "job_title": [None] * n,
            "industry": [None] * n,
            "employee_count": pd.Series([None] * n, dtype="Int64"),
            "region": [None] * n,
        }
    )


def facts_frame(contact_ids: list[int], **units: list[int]) -> pd.DataFrame:
    frame = pd.DataFrame({"contact_id": pd.Series(contact_ids, dtype="int64")})
    for signal in RULES.scoring.behaviour.signals:
        frame[f"{signal.name}__units"] = pd.Series(
            units.get(signal.name, [0] * len(contact_ids)), dtype="int64"
        )
        frame[f"{signal.name}__last"] = pd.Series([AS_OF] * len(contact_ids),
                                                  dtype="datetime64[ns, UTC]")
    return frame


def test_contacts_without_events_score_only_their_fit() -> None:
    scores = score_contacts(contacts=contacts_frame(2), facts=facts_frame([]), rules=RULES,
                            as_of=AS_OF)
    assert scores["engagement_score"].tolist() == [0, 0]
    assert scores["breakdown"].iat[0]["signals"] == []


def test_behaviour_cap_applies_after_all_signals_are_summed() -> None:
    facts = facts_frame([1], email_click=[30], demo_request=[1])
    scores = score_contacts(contacts=contacts_frame(1), facts=facts, rules=RULES, as_of=AS_OF)
    assert scores["engagement_score"].iat[0] == 80
    assert scores["breakdown"].iat[0]["behaviour_raw"] == 175


def test_same_inputs_give_identical_scores_and_breakdowns() -> None:
    facts = facts_frame([1, 2], email_open=[2, 5], pricing_page=[1, 0])
    first = score_contacts(contacts=contacts_frame(2), facts=facts, rules=RULES, as_of=AS_OF)
    second = score_contacts(contacts=contacts_frame(2), facts=facts, rules=RULES, as_of=AS_OF)
    pd.testing.assert_frame_equal(first, second)


def test_only_scores_that_differ_from_the_previous_snapshot_are_kept() -> None:
    facts = facts_frame([1, 2, 3], email_open=[1, 2, 3])
    scores = score_contacts(contacts=contacts_frame(3), facts=facts, rules=RULES, as_of=AS_OF)
    previous = pd.DataFrame(
        {"contact_id": [1, 2], "previous_as_of": [AS_OF, AS_OF], "previous_engagement": [3, 0],
         "previous_fit": [0, 0], "previous_score": [3, 0]}
    )
    assert changed_scores(scores, previous)["contact_id"].tolist() == [2, 3]


def test_a_contact_with_an_impossible_attribute_is_quarantined_and_the_rest_are_scored() -> None:
    contacts = contacts_frame(3)
    contacts.loc[1, "employee_count"] = -5
    inputs = ScoringInputs(
        as_of=AS_OF, full=True, reason="test", contacts=contacts, facts=facts_frame([]),
        previous=pd.DataFrame(columns=["contact_id", "previous_as_of", "previous_engagement",
                                       "previous_fit", "previous_score"]),
    )
    decision = decide_scoring(inputs, rules=RULES, max_bad_row_share=0.5)
    assert decision.scores["contact_id"].tolist() == [1, 3]
    [record] = decision.quarantined
    assert (record.source, record.row_number, record.field) == ("contacts", 2, "employee_count")
    assert "≥ 0" in record.reason


def test_too_many_bad_rows_fail_the_run_with_a_clear_message() -> None:
    contacts = contacts_frame(2)
    contacts["employee_count"] = pd.Series([-1, -2], dtype="Int64")
    inputs = ScoringInputs(
        as_of=AS_OF, full=True, reason="test", contacts=contacts, facts=facts_frame([]),
        previous=pd.DataFrame(columns=["contact_id", "previous_as_of", "previous_engagement",
                                       "previous_fit", "previous_score"]),
    )
    with pytest.raises(
        TooManyBadRows, match=r"2 of 2 candidate contacts failed validation.*employee_count"
    ):
        decide_scoring(inputs, rules=RULES, max_bad_row_share=0.2)


def test_score_distribution_bands_cover_zero_to_the_maximum() -> None:
    bands = score_distribution(pd.Series([0, 9, 10, 55, 99, 100]), max_score=100)
    assert bands["0-9"] == 2
    assert bands["10-19"] == 1
    assert bands["50-59"] == 1
    assert bands["90-100"] == 2
    assert sum(bands.values()) == 6
