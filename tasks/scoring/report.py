"""What a scoring hour reports: the outcome's counts and the markdown artifact."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from models.rules import Rules
from tasks.scoring.apply import AppliedScores
from tasks.scoring.decide import ScoringDecision
from tasks.validation import QuarantineRecord


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
    quarantined: list[QuarantineRecord]
    score_distribution: dict[str, int]
    changed: pd.DataFrame
    beat_seconds: dict[str, float] = field(default_factory=dict)

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
            "quarantined": len(self.quarantined),
            "score_distribution": self.score_distribution,
            "beat_seconds": self.beat_seconds,
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


def outcome_of(
    decision: ScoringDecision,
    *,
    run_id: str,
    dry_run: bool,
    rules: Rules,
    applied: AppliedScores | None,
    beat_seconds: dict[str, float],
) -> ScoringOutcome:
    """Summarise a decided (and maybe applied) run.

    A real run's outcome keeps the changed scores without their breakdowns: those are
    stored, and a full hour's million of them stayed alive through the rest of the lead
    cycle (its peak memory). A dry run keeps them for its decision table.
    """
    changed = decision.changed if dry_run else decision.changed.drop(columns=["breakdown"])
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
        quarantined=decision.quarantined,
        score_distribution=score_distribution(decision.scores["score"], max_score=rules.max_score),
        changed=changed,
        beat_seconds=beat_seconds,
    )


def scoring_markdown(outcome: ScoringOutcome) -> str:
    """Counts, score distribution, the biggest movers and quarantined rows, as markdown."""
    mode = "dry run — nothing written" if outcome.dry_run else "applied"
    scope = "every contact" if outcome.full else "this hour's candidates only"
    lines = [
        f"# Scoring at {outcome.as_of.isoformat()} ({mode})",
        "",
        f"- run: `{outcome.run_id}`",
        f"- scope: {'full' if outcome.full else 'incremental'} — {outcome.reason}",
        f"- read: {outcome.candidates} candidate contacts",
        f"- decided: {outcome.scored} scored, {len(outcome.changed)} changed",
        f"- applied: {outcome.snapshots_written} snapshots, "
        f"{outcome.contacts_updated} contacts updated",
        f"- quarantined: {len(outcome.quarantined)} rows",
        "",
        f"## Score distribution ({scope}: {outcome.scored} contacts)",
        "",
        "| band | contacts |",
        "|---|---:|",
    ]
    lines += [f"| {band} | {count} |" for band, count in outcome.score_distribution.items()]
    if not outcome.changed.empty:
        top = outcome.changed.sort_values("score", ascending=False).head(10)
        lines += ["", "## Highest changed scores", "", "| contact | engagement | fit | score |",
                  "|---:|---:|---:|---:|"]
        lines += [
            f"| {r.contact_id} | {r.engagement_score} | {r.fit_score} | {r.score} |"
            for r in top.itertuples()
        ]
    if outcome.quarantined:
        lines += ["", "## Quarantined", "", "| source | row | field | reason |"]
        lines += ["|---|---:|---|---|"]
        lines += [
            f"| {q.source} | {q.row_number} | {q.field or ''} | {q.reason} |"
            for q in outcome.quarantined[:50]
        ]
    return "\n".join(lines) + "\n"
