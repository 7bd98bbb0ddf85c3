"""Compact breakdowns read back as exactly the full breakdowns scoring used to build.

The oracle is the old per-contact builder (tests/support/legacy_breakdowns.py); inputs are
random contacts and signal facts under both shipped rule presets.
"""

import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

from models.breakdowns import Breakdown, expand_breakdown, is_compact
from models.rules import Rules, load_rules
from tasks.scoring.decide import (
    behaviour_points,
    classify_job_levels,
    fit_points,
    score_contacts,
    score_frame,
)
from tests.support.legacy_breakdowns import build_breakdowns

ROOT = Path(__file__).resolve().parents[2]
PRESETS = [ROOT / "rules" / "default.yaml", ROOT / "rules" / "presets" / "fit40_behaviour60.yaml"]
AS_OF = datetime(2026, 11, 20, 3, tzinfo=UTC)
TITLES = [None, "CEO", "部長", "Engineering Manager", "担当", "VP Sales", "Director of IT"]
INDUSTRIES = [None, "manufacturing", "IT", "retail", "製造業", "Computer Software"]
REGIONS = [None, "東京都", "大阪府", "Kanagawa"]


def random_inputs(rules: Rules, rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Contacts and facts; about a third of the contacts have no facts row at all."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1, rows + 1)
    contacts = pd.DataFrame(
        {
            "contact_id": pd.Series(ids, dtype="int64"),
            "email": [f"c{i}@example.com" for i in ids],
            "job_title": rng.choice(np.array(TITLES, dtype=object), rows),
            "industry": rng.choice(np.array(INDUSTRIES, dtype=object), rows),
            "employee_count": pd.Series(
                [None if n < 0 else int(n) for n in rng.integers(-20, 400, rows)], dtype="Int64"
            ),
            "region": rng.choice(np.array(REGIONS, dtype=object), rows),
        }
    )
    with_facts = np.sort(rng.choice(ids, rows * 2 // 3, replace=False))
    facts = pd.DataFrame({"contact_id": pd.Series(with_facts, dtype="int64")})
    for signal in rules.scoring.behaviour.signals:
        units = rng.integers(0, 4, len(with_facts)) * rng.integers(0, 2, len(with_facts))
        seconds = rng.integers(0, 90 * 86400, len(with_facts))
        lasts = pd.Series(
            [AS_OF - timedelta(seconds=int(s), microseconds=int(s) % 997) for s in seconds],
            dtype="datetime64[ns, UTC]",
        )
        facts[f"{signal.name}__units"] = pd.Series(units, dtype="int64")
        facts[f"{signal.name}__last"] = lasts.where(units > 0)
    return contacts, facts


def legacy_breakdowns(
    contacts: pd.DataFrame, facts: pd.DataFrame, rules: Rules
) -> list[dict[str, object]]:
    """The old builder, fed the same intermediate frames scoring computes."""
    base = contacts.set_index("contact_id", drop=False)
    aligned = facts.set_index("contact_id").reindex(base.index)
    for signal in rules.scoring.behaviour.signals:
        units = f"{signal.name}__units"
        aligned[units] = aligned[units].fillna(0).astype("int64")
    behaviour = behaviour_points(rules, aligned)
    levels = classify_job_levels(base["job_title"], rules.scoring.job_levels)
    fit = pd.DataFrame(
        {s.name: fit_points(s, base, levels) for s in rules.scoring.fit.signals}, index=base.index
    )
    return build_breakdowns(
        rules=rules, behaviour=behaviour, facts=aligned, fit=fit, job_levels=levels,
        behaviour_raw=behaviour.sum(axis=1).astype("int64"),
        fit_raw=fit.sum(axis=1).astype("int64"), as_of=AS_OF,
    )


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_compact_breakdowns_read_back_as_the_full_ones_scoring_used_to_build(
    path: Path, seed: int
) -> None:
    rules = load_rules(path)
    contacts, facts = random_inputs(rules, 300, seed)
    compact = score_frame(contacts=contacts, facts=facts, rules=rules, as_of=AS_OF)["breakdown"]
    expected = legacy_breakdowns(contacts, facts, rules)
    assert [dict(b) for b in compact] == expected
    stored = [orjson.loads(b.text) for b in compact]
    assert all(is_compact(s) for s in stored)
    assert [expand_breakdown(s) for s in stored] == expected


def test_a_compact_breakdown_is_a_fraction_of_the_full_json() -> None:
    rules = load_rules(PRESETS[0])
    contacts, facts = random_inputs(rules, 300, 4)
    compact = score_frame(contacts=contacts, facts=facts, rules=rules, as_of=AS_OF)["breakdown"]
    full = legacy_breakdowns(contacts, facts, rules)
    assert sum(len(b.text) for b in compact) < 0.5 * sum(len(orjson.dumps(b)) for b in full)


def test_a_full_breakdown_expands_to_itself() -> None:
    old = {"signals": [{"name": "pricing_page", "group": "behaviour", "points": 10}]}
    assert not is_compact(old)
    assert expand_breakdown(old) == old


def test_a_decided_breakdown_survives_pickling_and_compares_by_content() -> None:
    rules = load_rules(PRESETS[0])
    contacts, facts = random_inputs(rules, 20, 5)
    first = score_frame(contacts=contacts, facts=facts, rules=rules, as_of=AS_OF)["breakdown"]
    copied = pickle.loads(pickle.dumps(first.tolist()))
    assert copied == first.tolist()
    assert all(isinstance(b, Breakdown) for b in copied)
    assert copied[0] == dict(first.iat[0])


def test_explain_still_gets_full_dictionaries() -> None:
    rules = load_rules(PRESETS[0])
    contacts, facts = random_inputs(rules, 10, 6)
    scores = score_contacts(contacts=contacts, facts=facts, rules=rules, as_of=AS_OF)
    assert all(type(b) is dict for b in scores["breakdown"])
