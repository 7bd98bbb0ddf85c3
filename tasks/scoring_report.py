"""The markdown a scoring run leaves in the Prefect UI (and prints in the CLI)."""

from tasks.scoring import ScoringOutcome
from tasks.validation import QuarantineRecord


def scoring_markdown(outcome: ScoringOutcome, quarantined: list[QuarantineRecord]) -> str:
    """Counts, score distribution, the biggest movers and quarantined rows, as markdown."""
    mode = "dry run — nothing written" if outcome.dry_run else "applied"
    lines = [
        f"# Scoring at {outcome.as_of.isoformat()} ({mode})",
        "",
        f"- run: `{outcome.run_id}`",
        f"- scope: {'full' if outcome.full else 'incremental'} — {outcome.reason}",
        f"- read: {outcome.candidates} candidate contacts",
        f"- decided: {outcome.scored} scored, {len(outcome.changed)} changed",
        f"- applied: {outcome.snapshots_written} snapshots, "
        f"{outcome.contacts_updated} contacts updated",
        f"- quarantined: {outcome.quarantined} rows",
        "",
        "## Score distribution",
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
    if quarantined:
        lines += ["", "## Quarantined", "", "| source | row | field | reason |"]
        lines += ["|---|---:|---|---|"]
        lines += [
            f"| {q.source} | {q.row_number} | {q.field or ''} | {q.reason} |"
            for q in quarantined[:50]
        ]
    return "\n".join(lines) + "\n"
