"""pandera schemas for the scoring frames; bounds come from the rules, not from code.

Each schema is built once per process and scoring rules version (fingerprint): every hour
validates with the same objects.
"""

from collections.abc import Callable
from functools import cache

import pandera.pandas as pa

from models.rules import Rules

_BY_FINGERPRINT: dict[tuple[str, str], pa.DataFrameSchema] = {}


def _for_rules(
    kind: str, rules: Rules, build: Callable[[Rules], pa.DataFrameSchema]
) -> pa.DataFrameSchema:
    key = (kind, rules.fingerprint("scoring"))
    if key not in _BY_FINGERPRINT:
        _BY_FINGERPRINT[key] = build(rules)
    return _BY_FINGERPRINT[key]


@cache
def scoring_contacts_schema() -> pa.DataFrameSchema:
    """Contacts as scoring reads them: one row per contact, sane attributes."""
    return pa.DataFrameSchema(
        {
            "contact_id": pa.Column(int, unique=True),
            "email": pa.Column(nullable=False),
            "job_title": pa.Column(nullable=True),
            "industry": pa.Column(nullable=True),
            "employee_count": pa.Column(
                "Int64", pa.Check.ge(0, error="employee_count must be ≥ 0"), nullable=True
            ),
            "region": pa.Column(nullable=True),
        },
        strict=True,
        coerce=False,
    )


def scoring_facts_schema(rules: Rules) -> pa.DataFrameSchema:
    """Signal facts: one row per contact, non-negative unit counts for every signal."""
    return _for_rules("facts", rules, _facts_schema)


def _facts_schema(rules: Rules) -> pa.DataFrameSchema:
    columns: dict[str, pa.Column] = {"contact_id": pa.Column(int, unique=True)}
    for signal in rules.scoring.behaviour.signals:
        columns[f"{signal.name}__units"] = pa.Column(int, pa.Check.ge(0))
        # The latest event's time, whole UTC epoch seconds.
        columns[f"{signal.name}__last"] = pa.Column("Int64", nullable=True, coerce=True)
    return pa.DataFrameSchema(columns, strict=True)


def scores_schema(rules: Rules) -> pa.DataFrameSchema:
    """Decided scores: engagement ≤ behaviour cap, fit ≤ fit cap, total = their sum."""
    return _for_rules("scores", rules, _scores_schema)


def _scores_schema(rules: Rules) -> pa.DataFrameSchema:
    behaviour_cap = rules.scoring.behaviour.cap
    fit_cap = rules.scoring.fit.cap
    return pa.DataFrameSchema(
        {
            "contact_id": pa.Column(int, unique=True),
            "engagement_score": pa.Column(int, pa.Check.in_range(0, behaviour_cap)),
            "fit_score": pa.Column(int, pa.Check.in_range(0, fit_cap)),
            "score": pa.Column(int, pa.Check.in_range(0, behaviour_cap + fit_cap)),
            "breakdown": pa.Column(),
        },
        checks=[
            pa.Check(
                lambda df: df["score"] == df["engagement_score"] + df["fit_score"],
                error="score must equal engagement_score + fit_score",
            )
        ],
        strict=True,
    )
