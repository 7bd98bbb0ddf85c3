"""What one erasure removed: the lines a person reads, the run summary, the artifact.

Nothing here names the person: the address, its hash and the contact id stay out, so
the summary and the artifact (visible to every Prefect UI user) hold counts only.
"""

from dataclasses import dataclass, field
from typing import Any

# Labels for the counts, in the order they are reported.
LABELS = {
    "contacts": "contact",
    "events": "events",
    "activities": "activities",
    "score_snapshots": "score snapshots",
    "stage_history": "stage history rows",
    "lead_status_history": "lead status history rows",
    "sla_clocks": "SLA clocks",
    "sla_escalations": "SLA escalations",
    "follow_up_tasks": "follow-up tasks",
    "owner_assignments": "owner assignments",
    "nurture_enrollments": "nurture enrollments",
    "nurture_history": "nurture history rows",
    "email_sends": "email sends",
    "outbox": "outbox messages (Slack and email)",
    "email_suppressions": "email suppressions",
    "consent_history": "consent history rows",
    "deals_detached": "deals kept without their contact",
    "quarantine_scrubbed": "quarantine rows scrubbed",
    "eml_files": ".eml files deleted",
}


@dataclass
class ErasureOutcome:
    """One erasure (or dry run): the counts per kind and what could not be removed."""

    run_id: str
    dry_run: bool
    found: bool
    counts: dict[str, int] = field(default_factory=dict)
    files_left: int = 0

    def summary(self) -> dict[str, Any]:
        """Counts for the run ledger and the flow's return value (no personal data)."""
        return {
            "dry_run": self.dry_run,
            "found": self.found,
            **{key: self.counts.get(key, 0) for key in LABELS},
            "files_left": self.files_left,
        }

    def lines(self) -> list[str]:
        """The report a person reads: what was (or would be) removed, per kind."""
        if not self.found:
            return ["nothing found for that address; its hash is recorded as erased"
                    if not self.dry_run else "dry run: nothing found for that address"]
        verb = "would remove" if self.dry_run else "removed"
        out = [f"dry run, nothing changed — {verb}:" if self.dry_run else f"{verb}:"]
        out += [
            f"  {LABELS[key]}: {self.counts[key]}"
            for key in LABELS
            if self.counts.get(key)
        ]
        if self.files_left:
            out.append(
                f"  {self.files_left} .eml files could not be deleted: check the outbox "
                "folder's permissions and run the erasure again"
            )
        if not self.dry_run:
            out.append("the address is suppressed: a later import takes no marketing consent")
        return out


def erasure_markdown(outcome: ErasureOutcome) -> str:
    """The flow's artifact: run id and counts, never the address, its hash or the contact id."""
    title = "Erasure (dry run)" if outcome.dry_run else "Erasure"
    rows = [f"| {LABELS[key]} | {outcome.counts.get(key, 0)} |" for key in LABELS]
    return "\n".join(
        [
            f"# {title}",
            "",
            f"Run `{outcome.run_id}`: "
            + ("a person was found." if outcome.found else "nobody was found."),
            "",
            "| removed | count |",
            "| --- | ---: |",
            *rows,
            "",
            f".eml files that could not be deleted: {outcome.files_left}",
        ]
    )
