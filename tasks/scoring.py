"""Scoring, one `as_of` at a time: read → decide → apply, as plain functions.

`flows/hourly_scoring.py` wraps the same three beats in Prefect tasks; benchmarks, the
demo and tests call `run_scoring` directly when they do not need a flow run.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from leadflow.runs import previous_run, recorded_run
from models.rules import Rules
from models.score_schemas import scores_schema, scoring_contacts_schema, scoring_facts_schema
from tasks.scoring_apply import AppliedScores, apply_scores
from tasks.scoring_decide import changed_scores, score_contacts
from tasks.scoring_read import ScoringInputs, read_scoring_inputs
from tasks.validation import QuarantineRecord, split_valid_rows, store_quarantine

FLOW_NAME = "hourly-scoring"


class TooManyBadRows(RuntimeError):
    """More input rows failed validation than the configured share allows."""


@dataclass(frozen=True)
class ScoringDecision:
    """What the decide beat produced for one as_of."""

    as_of: datetime
    full: bool
    reason: str
    candidates: int
    scores: pd.DataFrame
    changed: pd.DataFrame
    quarantined: list[QuarantineRecord] = field(default_factory=list)


@dataclass(frozen=True)
class ScoringOutcome:
    """A scoring run's result: counts for the run summary and the artifact."""

    run_id: str
    as_of: datetime
    dry_run: bool
    full: bool
    reason: str
    candidates: int
    scored: int
    snapshots_written: int
    contacts_updated: int
    quarantined: int
    score_distribution: dict[str, int]
    changed: pd.DataFrame

    def summary(self) -> dict[str, Any]:
        """JSON-ready counts for the run ledger."""
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "full": self.full,
            "reason": self.reason,
            "candidates": self.candidates,
            "scored": self.scored,
            "snapshots_written": self.snapshots_written,
            "contacts_updated": self.contacts_updated,
            "quarantined": self.quarantined,
            "score_distribution": self.score_distribution,
        }


def score_distribution(scores: pd.Series, *, max_score: int, width: int = 10) -> dict[str, int]:
    """Counts of scores per band of `width` points, e.g. {"0-9": 12, ..., "90-100": 3}."""
    bands: dict[str, int] = {}
    edges = list(range(0, max_score + 1, width))
    for low in edges:
        high = low + width - 1
        if high >= max_score - 1 or low == edges[-1]:
            label = f"{low}-{max_score}"
            bands[label] = int((scores >= low).sum())
            break
        bands[f"{low}-{high}"] = int(((scores >= low) & (scores <= high)).sum())
    return bands


def decide_scoring(
    inputs: ScoringInputs, *, rules: Rules, max_bad_row_share: float
) -> ScoringDecision:
    """Validate the inputs, score every candidate and keep the rows that changed (pure)."""
    contacts = split_valid_rows(
        inputs.contacts, scoring_contacts_schema(), source="contacts",
        row_numbers=inputs.contacts["contact_id"],
    )
    facts = split_valid_rows(
        inputs.facts, scoring_facts_schema(rules), source="events",
        row_numbers=inputs.facts["contact_id"],
    )
    rejected = contacts.rejected + facts.rejected
    total = max(contacts.total_rows, 1)
    bad_share = (contacts.bad_rows + facts.bad_rows) / total
    if rejected and bad_share > max_bad_row_share:
        raise TooManyBadRows(
            f"{contacts.bad_rows + facts.bad_rows} of {contacts.total_rows} contacts failed "
            f"validation ({bad_share:.0%} > limit {max_bad_row_share:.0%}); first: "
            f"{rejected[0].source} id {rejected[0].row_number} field {rejected[0].field}: "
            f"{rejected[0].reason}"
        )
    bad_facts = {r.row_number for r in facts.rejected}
    good_contacts = contacts.good[~contacts.good["contact_id"].isin(bad_facts)]
    scores = score_contacts(
        contacts=good_contacts, facts=facts.good, rules=rules, as_of=inputs.as_of
    )
    scores = scores_schema(rules).validate(scores)
    return ScoringDecision(
        as_of=inputs.as_of,
        full=inputs.full,
        reason=inputs.reason,
        candidates=len(inputs.contacts),
        scores=scores,
        changed=changed_scores(scores, inputs.previous),
        quarantined=rejected,
    )


def read_for_run(engine: Engine, *, rules: Rules, as_of: datetime, full: bool) -> ScoringInputs:
    """Read beat: the frames one scoring run needs."""
    with engine.connect() as conn:
        previous = previous_run(conn, flow=FLOW_NAME, before=as_of)
        return read_scoring_inputs(conn, rules=rules, as_of=as_of, previous=previous, full=full)


def apply_decision(
    engine: Engine, decision: ScoringDecision, *, run_id: str, rules: Rules
) -> tuple[AppliedScores, int]:
    """Apply beat: one transaction for snapshots, current scores and quarantine."""
    with engine.begin() as conn:
        applied = apply_scores(
            conn, changed=decision.changed, as_of=decision.as_of, run_id=run_id,
            rules_hash=rules.fingerprint("scoring"),
        )
        quarantined = store_quarantine(conn, decision.quarantined, run_id=run_id)
    return applied, quarantined


def outcome_of(
    decision: ScoringDecision,
    *,
    run_id: str,
    dry_run: bool,
    rules: Rules,
    applied: AppliedScores | None,
) -> ScoringOutcome:
    """Summarise a decided (and maybe applied) run."""
    return ScoringOutcome(
        run_id=run_id,
        as_of=decision.as_of,
        dry_run=dry_run,
        full=decision.full,
        reason=decision.reason,
        candidates=decision.candidates,
        scored=len(decision.scores),
        snapshots_written=applied.snapshots_written if applied else 0,
        contacts_updated=applied.contacts_updated if applied else 0,
        quarantined=len(decision.quarantined),
        score_distribution=score_distribution(decision.scores["score"], max_score=rules.max_score),
        changed=decision.changed,
    )


def run_scoring(
    engine: Engine,
    *,
    rules: Rules,
    as_of: datetime,
    run_id: str | None = None,
    full: bool = False,
    dry_run: bool = False,
    max_bad_row_share: float = 0.2,
) -> ScoringOutcome:
    """Score every contact whose score can have changed at `as_of` (all of them if `full`).

    `dry_run` stops after decide and reports what apply would write.
    """
    if run_id is not None:
        return _score(engine, rules=rules, as_of=as_of, run_id=run_id, full=full,
                      dry_run=dry_run, max_bad_row_share=max_bad_row_share)
    with recorded_run(
        engine, flow=FLOW_NAME, as_of=as_of, dry_run=dry_run,
        rules_hash=rules.fingerprint("scoring"),
    ) as run:
        outcome = _score(engine, rules=rules, as_of=as_of, run_id=run.run_id, full=full,
                         dry_run=dry_run, max_bad_row_share=max_bad_row_share)
        run.summary = outcome.summary()
    return outcome


def _score(
    engine: Engine,
    *,
    rules: Rules,
    as_of: datetime,
    run_id: str,
    full: bool,
    dry_run: bool,
    max_bad_row_share: float,
) -> ScoringOutcome:
    inputs = read_for_run(engine, rules=rules, as_of=as_of, full=full)
    decision = decide_scoring(inputs, rules=rules, max_bad_row_share=max_bad_row_share)
    applied = None
    if not dry_run:
        applied, _ = apply_decision(engine, decision, run_id=run_id, rules=rules)
    return outcome_of(decision, run_id=run_id, dry_run=dry_run, rules=rules, applied=applied)
