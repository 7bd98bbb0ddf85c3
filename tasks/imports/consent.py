"""Marketing consent from the columns a file has, as the person importing says. Pure.

HubSpot exports carry no `consent` column; they carry `Marketing contact status`,
`Unsubscribed from all email`, legal-basis columns… Which of them means opt-in is the
operator's call, never a guess: `--consent-from COLUMN=VALUE` (opt-in),
`--unsubscribed-from COLUMN=VALUE` and `--bounced-from COLUMN=VALUE` (no email, ever:
recorded like an unsubscribe link or a hard bounce). The rules here turn cells into a
consent value per row and say, after the import, who can receive nurture email and why
not the rest.
"""

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from models.schemas import FALSE_WORDS, TRUE_WORDS

Verdict = Literal["consent", "unsubscribed", "bounced"]
OPTIONS: dict[Verdict, str] = {
    "consent": "--consent-from",
    "unsubscribed": "--unsubscribed-from",
    "bounced": "--bounced-from",
}
# Opt-outs, strongest first; each becomes an email_suppressions row with this reason.
OPT_OUTS: tuple[Verdict, ...] = ("bounced", "unsubscribed")
ANY_VALUE = "*"
# HubSpot writes several values of a multi-select property into one cell, split by ";".
MULTI_SEPARATOR = ";"
EXAMPLE = "'Marketing contact status=Marketing contact'"

# HubSpot's own columns, and the option a person most likely means for each: shown as a
# hint only (never applied), when an import has no consent column.
HUBSPOT_HINTS: dict[str, str] = {
    "marketing contact status": "--consent-from 'Marketing contact status=Marketing contact'",
    "unsubscribed from all email": "--unsubscribed-from 'Unsubscribed from all email=true'",
}

# Why a landed contact cannot receive nurture email, in the order the summary lists them.
NOT_EMAILABLE: dict[str, str] = {
    "no_consent": "no opt-in consent",
    "unsubscribed": "unsubscribed",
    "bounced": "bounced",
    "erased": "address erased earlier",
}


@dataclass(frozen=True)
class ConsentRule:
    """One `--consent-from` / `--unsubscribed-from` / `--bounced-from` entry."""

    verdict: Verdict
    column: str
    value: str

    @property
    def shown(self) -> str:
        """The option as a person would type it."""
        return f"{OPTIONS[self.verdict]} '{self.column}={self.value}'"


def fold(value: str) -> str:
    """Case- and spacing-free cell or header text: " Marketing  Contact " → "marketing contact"."""
    return re.sub(r"\s+", " ", value.strip().casefold())


@dataclass(frozen=True)
class ConsentMapping:
    """The consent rules of one import (empty: the file's own `consent` column, if any)."""

    rules: tuple[ConsentRule, ...] = ()

    @property
    def grants(self) -> bool:
        """True when some rule says what opt-in consent looks like."""
        return any(rule.verdict == "consent" for rule in self.rules)

    def internal(self, rule: ConsentRule) -> str:
        """The frame column a rule reads (rules on one file column share it)."""
        headers = list(dict.fromkeys(fold(r.column) for r in self.rules))
        return f"consent_source_{headers.index(fold(rule.column))}"

    def columns(self) -> dict[str, str]:
        """Frame column → the file header it reads, as the rule names it."""
        return {self.internal(rule): rule.column for rule in self.rules}


def parse_consent_options(
    *,
    consent_from: Iterable[str] = (),
    unsubscribed_from: Iterable[str] = (),
    bounced_from: Iterable[str] = (),
) -> ConsentMapping:
    """`COLUMN=VALUE` entries of the three options → rules; a malformed one is a ValueError."""
    rules: list[ConsentRule] = []
    given: dict[Verdict, Iterable[str]] = {
        "consent": consent_from,
        "unsubscribed": unsubscribed_from,
        "bounced": bounced_from,
    }
    for verdict, entries in given.items():
        for entry in entries:
            column, sep, value = entry.rpartition("=")
            if not sep or not column.strip() or not value.strip():
                raise ValueError(
                    f"{OPTIONS[verdict]} '{entry}': write it as COLUMN=VALUE, e.g. {EXAMPLE} "
                    f"(VALUE {ANY_VALUE} means any non-empty cell)"
                )
            rules.append(ConsentRule(verdict, column.strip(), value.strip()))
    return ConsentMapping(tuple(rules))


def _synonyms(value: str) -> set[str]:
    folded = fold(value)
    for words in (TRUE_WORDS, FALSE_WORDS):
        if folded in words:
            return set(words)
    return {folded}


def cells_match(values: pd.Series, wanted: str) -> pd.Series:
    """Cells holding `wanted`: equal ignoring case and spacing, or one of the `;`-separated
    values of a multi-select cell; true/yes/1 and false/no/0 are synonyms; `*` matches any
    non-empty cell."""
    present = values.notna() & values.fillna("").str.strip().ne("")
    if wanted.strip() == ANY_VALUE:
        return present
    targets = list(_synonyms(wanted))
    cells = values[present].astype("str")
    parts = cells.str.split(MULTI_SEPARATOR).explode().astype("str")
    hit = _folded(parts).isin(targets).groupby(level=0).any()
    whole = _folded(cells).isin(targets)
    matched = hit.reindex(values.index, fill_value=False) | whole.reindex(values.index)
    return matched.fillna(False).astype(bool)


def _folded(values: pd.Series) -> pd.Series:
    return values.str.strip().str.casefold().str.replace(r"\s+", " ", regex=True)


def column_evidence(consent: pd.Series, *, label: str) -> pd.Series:
    """Why each row has the consent it has when the file's own column decides it:
    `consent=true` (the column as the file names it), missing where the cell is blank."""
    shown = label + "=" + consent.astype("str")
    return shown.where(consent.notna()).astype("str")


def _unmatched(values: pd.Series, column: str, limit: int = 60) -> pd.Series:
    """`COLUMN='cell', no --consent-from matches`, the cell on one line and cut at `limit`."""
    cells = values.astype("str").str.strip().str.replace(r"\s+", " ", regex=True)
    cells = cells.where(cells.str.len() <= limit, cells.str.slice(0, limit - 1) + "…")
    return (column + "='" + cells + "', no --consent-from matches").astype("str")


def consent_verdicts(
    frame: pd.DataFrame, mapping: ConsentMapping, *, consent: pd.Series, label: str = "consent"
) -> pd.DataFrame:
    """Per row: `consent` as text ("true", "false" or missing), for each opt-out the rule
    that matched (`unsubscribed_by`, `bounced_by`; missing when none did), and
    `consent_evidence`: what decided the consent (the rule as typed, the cell no opt-in
    rule matched, or the file's own column, named `label`), missing where nothing did.

    With opt-in rules: a row matching one has consent; a row with some opt-in column
    filled that matches none has not; a row with all of them blank keeps what it had
    (`consent`: the file's own column, usually missing: a new contact then gets none, a
    known one keeps its own). Any opt-out wins over opt-in.
    """
    out = pd.DataFrame(index=frame.index)
    result = consent.copy()
    evidence = column_evidence(consent, label=label)
    grants = [r for r in mapping.rules if r.verdict == "consent"]
    if grants:
        matched = pd.Series(False, index=frame.index)
        given = pd.Series(False, index=frame.index)
        evidence = pd.Series(pd.NA, index=frame.index, dtype="str")
        for rule in grants:
            values = frame[mapping.internal(rule)]
            hit = cells_match(values, rule.value)
            evidence = evidence.where(~(hit & ~matched), rule.shown)
            matched |= hit
            given |= cells_match(values, ANY_VALUE)
        for rule in grants:
            values = frame[mapping.internal(rule)]
            unmatched = cells_match(values, ANY_VALUE) & ~matched & evidence.isna()
            evidence = evidence.where(~unmatched, _unmatched(values, rule.column))
        result = pd.Series(pd.NA, index=frame.index, dtype="str")
        result = result.where(~given, "false").where(~matched, "true")
    opted_out = pd.Series(False, index=frame.index)
    for verdict in OPT_OUTS:
        by = pd.Series(None, index=frame.index, dtype="str")
        for rule in (r for r in mapping.rules if r.verdict == verdict):
            hit = cells_match(frame[mapping.internal(rule)], rule.value) & by.isna()
            by = by.where(~hit, rule.shown)
        out[f"{verdict}_by"] = by
        result = result.where(by.isna(), "false")
        # OPT_OUTS is strongest first: the strongest opt-out is the evidence.
        evidence = evidence.where(~(by.notna() & ~opted_out), by)
        opted_out |= by.notna()
    out["consent"] = result.astype("str")
    out["consent_evidence"] = evidence.astype("str")
    return out


def consent_changes(stored: pd.DataFrame, updates: pd.DataFrame) -> tuple[int, int]:
    """(granted, withdrawn): known contacts whose consent an import turns on / off."""
    if updates.empty or stored.empty:
        return 0, 0
    before = stored.set_index("id")["consent"].astype(object)
    was = updates["id"].map(before).fillna(False).astype(bool)
    now = updates["consent"].astype(object).fillna(False).astype(bool)
    return int((now & ~was).sum()), int((~now & was).sum())


def why_not_emailable(
    contacts: pd.DataFrame, *, suppressions: pd.DataFrame, erased: set[str]
) -> pd.Series:
    """Per landed contact (`id`, `email`, `consent`): why it cannot receive nurture email
    (a NOT_EMAILABLE key), or missing when it can. `suppressions`: contact_id, reason."""
    ids = contacts["id"]
    suppressed = ids.isin(suppressions["contact_id"])
    bounced = ids.isin(suppressions.loc[suppressions["reason"] == "bounced", "contact_id"])
    consent = contacts["consent"].astype(object).fillna(False).astype(bool)
    reasons = pd.Series(None, index=contacts.index, dtype=object)
    for key, hit in (
        ("no_consent", ~consent),
        ("erased", contacts["email"].isin(erased)),
        ("unsubscribed", suppressed),
        ("bounced", bounced),
    ):
        # Later conditions are stronger reasons and overwrite earlier ones.
        reasons = reasons.where(~hit.to_numpy(), key)
    return reasons


def consent_hint(headers: Iterable[str]) -> str:
    """What to pass for HubSpot's consent columns found among `headers` (never applied)."""
    present = {fold(h) for h in headers}
    options = [option for column, option in HUBSPOT_HINTS.items() if column in present]
    if options:
        return "this file has HubSpot's consent columns: use " + " ".join(options)
    return f"HubSpot exports: use --consent-from {EXAMPLE}"


def emailable_lines(
    reasons: Counter[str], *, total: int, source: str | None, hint: str
) -> list[str]:
    """The summary's nurture-email lines: how many landed contacts can get nurture email
    and why not the rest. `source` says where consent came from (None: nowhere)."""
    blocked = sum(reasons.values())
    can = total - blocked
    if source is None:
        head = (
            f"  WARNING: {can:,} of {total:,} contacts can receive nurture email: "
            f"no consent column ({hint})"
        )
    else:
        head = f"  nurture email: {can:,} of {total:,} contacts can receive it ({source})"
    out = [head]
    if blocked:
        parts = [
            f"{reasons[key]:,} {text}" for key, text in NOT_EMAILABLE.items() if reasons[key]
        ]
        out.append(f"    not the other {blocked:,}: " + ", ".join(parts))
    return out
