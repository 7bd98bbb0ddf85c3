"""What one import read, landed and quarantined, and the report a person reads."""

import shlex
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tasks.imports.columns import ImportKind, printable
from tasks.imports.consent import NOT_EMAILABLE, emailable_lines
from tasks.validation import QuarantineRecord, TooManyBadRows, check_bad_row_share


@dataclass
class ImportSummary:
    """What one import read, landed and quarantined.

    Every row read either landed or was quarantined: `rows == landed + quarantined_rows`.
    """

    kind: ImportKind
    source: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined_rows: int = 0
    quarantine_records: int = 0
    companies_created: int = 0
    stage_moves: int = 0
    deal_stage_changes: int = 0
    status_changes: int = 0
    rescored_contacts: int = 0
    max_bad_row_share: float = 1.0
    dry_run: bool = False
    hubspot: bool = False
    notes: Counter[str] = field(default_factory=Counter)
    unknown_stages: Counter[str] = field(default_factory=Counter)
    reasons: list[str] = field(default_factory=list)
    # A bulk load's secondary indexes, rebuilt once at the end (see `import_file`).
    rebuilt_indexes: list[str] = field(default_factory=list)
    first_problem: QuarantineRecord | None = None
    # Contacts only: where consent came from (None: no consent column, no --consent-from),
    # what to pass instead, and the landed contacts that cannot get nurture email, by why.
    consent_source: str | None = None
    consent_hint: str = ""
    emailable_total: int = 0
    not_emailable: Counter[str] = field(default_factory=Counter)
    consent_granted: int = 0
    consent_withdrawn: int = 0
    opt_outs_recorded: Counter[str] = field(default_factory=Counter)
    consent_history: int = 0

    @property
    def emailable(self) -> int:
        """Landed contacts that can receive nurture email (consent, no suppression)."""
        return self.emailable_total - sum(self.not_emailable.values())

    @property
    def landed(self) -> int:
        """Rows that are in the database after the import: inserted, updated or unchanged."""
        return self.inserted + self.updated + self.unchanged

    @property
    def bad_row_share(self) -> float:
        """Quarantined rows ÷ rows read (0 for an empty file)."""
        return self.quarantined_rows / self.rows if self.rows else 0.0

    def check_bad_rows(self) -> None:
        """Raise `TooManyBadRows` when the bad-row share passes the configured limit."""
        check_bad_row_share(
            what=f"rows of {self.source}",
            bad=self.quarantined_rows,
            total=self.rows,
            limit=self.max_bad_row_share,
            first=self.first_problem,
        )

    @property
    def too_many_bad_rows(self) -> bool:
        """True when the bad-row share passes the configured limit."""
        try:
            self.check_bad_rows()
        except TooManyBadRows:
            return True
        return False

    def as_dict(self) -> dict[str, Any]:
        """Counts for a run summary or an artifact (JSON-ready)."""
        return {
            "kind": self.kind,
            "source": self.source,
            "hubspot": self.hubspot,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "landed": self.landed,
            "quarantined_rows": self.quarantined_rows,
            "bad_row_share": round(self.bad_row_share, 4),
            "too_many_bad_rows": self.too_many_bad_rows,
            "companies_created": self.companies_created,
            "stage_moves": self.stage_moves,
            "deal_stage_changes": self.deal_stage_changes,
            "status_changes": self.status_changes,
            "rescored_contacts": self.rescored_contacts,
            "unknown_stages": dict(self.unknown_stages),
            "notes": dict(self.notes),
            "rebuilt_indexes": list(self.rebuilt_indexes),
            **({"nurture_email": self._nurture_email()} if self.kind == "contacts" else {}),
        }

    def _nurture_email(self) -> dict[str, Any]:
        return {
            "contacts": self.emailable_total,
            "can_receive": self.emailable,
            "cannot": {key: self.not_emailable[key] for key in NOT_EMAILABLE},
            "consent_source": self.consent_source,
            "consent_granted": self.consent_granted,
            "consent_withdrawn": self.consent_withdrawn,
            "opt_outs_recorded": dict(self.opt_outs_recorded),
            "consent_history_rows": self.consent_history,
        }

    def _consent_lines(self) -> list[str]:
        out = emailable_lines(
            self.not_emailable,
            total=self.emailable_total,
            source=self.consent_source,
            hint=self.consent_hint,
        )
        if self.consent_granted or self.consent_withdrawn:
            out.append(
                f"  consent of known contacts changed: {self.consent_granted:,} granted, "
                f"{self.consent_withdrawn:,} withdrawn"
            )
        for reason, count in sorted(self.opt_outs_recorded.items()):
            if count:
                out.append(f"  {reason} recorded (email suppressions, source import): {count:,}")
        if self.consent_history:
            out.append(f"  consent-history rows written: {self.consent_history:,}")
        return out

    def lines(self) -> list[str]:
        """The report a person reads after an import."""
        label = f"{self.kind} (HubSpot export)" if self.hubspot else self.kind
        head = "dry run, nothing written — " if self.dry_run else ""
        out = [
            f"{head}{self.source}: {_rows(self.rows)} of {label}",
            f"  landed: {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged",
        ]
        if self.companies_created:
            out.append(f"  companies created: {self.companies_created}")
        if self.stage_moves:
            out.append(f"  stage-history rows written: {self.stage_moves}")
        if self.deal_stage_changes:
            out.append(f"  deal-stage-history rows written: {self.deal_stage_changes}")
        if self.status_changes or self.kind == "activities":
            out.append(f"  lead statuses changed: {self.status_changes}")
        if self.rescored_contacts:
            out.append(f"  contacts marked for rescoring: {self.rescored_contacts}")
        if self.rebuilt_indexes:
            rebuilt = "would be rebuilt" if self.dry_run else "rebuilt"
            out.append(
                f"  bulk load: {len(self.rebuilt_indexes)} indexes of the {self.kind} table "
                f"{rebuilt} once at the end instead of row by row"
            )
        if self.kind == "contacts":
            out.extend(self._consent_lines())
        out.append(
            f"  quarantined: {_rows(self.quarantined_rows)} ({self.bad_row_share:.1%}, "
            f"limit {self.max_bad_row_share:.0%})"
        )
        deals = self.kind == "deals"
        what, target = ("deal stage", "<deal stage>") if deals else ("lifecycle stage", "<stage>")
        for stage, count in sorted(self.unknown_stages.items()):
            out.append(
                f"  unknown {what} '{stage}': {_rows(count)} quarantined — "
                f"rerun with --stage-map '{stage}={target}'"
            )
        for note, count in sorted(self.notes.items()):
            out.append(f"  note: {note} ({_rows(count)})")
        out.extend(f"  {reason}" for reason in self.reasons)
        more = self.quarantine_records - len(self.reasons)
        if more > 0 and self.dry_run:
            # A dry run writes no quarantine rows, so `quarantine list` would show none.
            out.append(f"  … {more} more (an import without --dry-run lists them all)")
        elif more > 0:
            out.append(
                f"  … {more} more: leadflow quarantine list --source {shlex.quote(self.source)}"
            )
        if self.too_many_bad_rows:
            written = (
                "dry run: nothing was written" if self.dry_run else "good rows were still imported"
            )
            out.append(
                f"  FAILED: {self.bad_row_share:.1%} of rows are bad, more than the "
                f"{self.max_bad_row_share:.0%} allowed ({written})"
            )
        return out


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def reason_lines(quarantine: pd.DataFrame, *, source: str, limit: int) -> list[str]:
    """`FILE:ROW field=… reason` lines for the first `limit` quarantine records."""
    first = quarantine.sort_values(["row_number", "field"]).head(limit)
    return [
        printable(f"{source}:{row} field={fld} {reason}")
        for row, fld, reason in zip(
            first["row_number"], first["field"], first["reason"], strict=True
        )
    ]
