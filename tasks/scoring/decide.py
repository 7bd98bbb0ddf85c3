"""Decide beat of scoring: pure functions from frames + rules + as_of to scores.

No I/O, no clock, no Prefect: the same inputs always give the same scores and
breakdowns, which is what makes reruns safe and `leadflow explain` truthful.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from models.rules import JOB_LEVEL_RANK, FitSignal, JobLevel, JobLevelKeywords, Rules
from models.score_schemas import scores_schema, scoring_contacts_schema, scoring_facts_schema
from tasks.scoring.breakdowns import compact_breakdowns, epoch_seconds
from tasks.validation import QuarantineRecord, check_bad_row_share, split_valid_rows

SCORE_COLUMNS = ["contact_id", "engagement_score", "fit_score", "score", "breakdown"]


@dataclass(frozen=True)
class ScoringInputs:
    """Everything the decide beat needs for one as_of."""

    as_of: datetime
    full: bool
    reason: str
    contacts: pd.DataFrame
    facts: pd.DataFrame
    previous: pd.DataFrame


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


def _keyword_pattern(keywords: list[str]) -> str:
    # ASCII words need word boundaries ("CTO" must not match "Director"); Japanese has none.
    parts = []
    for word in sorted(keywords, key=len, reverse=True):
        escaped = re.escape(word)
        parts.append(rf"\b{escaped}\b" if word.isascii() else escaped)
    return "|".join(parts)


def classify_job_levels(titles: pd.Series, keywords: JobLevelKeywords) -> pd.Series:
    """Map job titles to job levels; the most senior matching keyword wins, else staff."""
    text = titles.fillna("").astype(str)
    # Titles repeat a lot ("Manager", "部長"): match each distinct title once.
    codes, distinct = pd.factorize(text)
    unique = pd.Series(distinct, dtype="object")
    levels = pd.Series(JobLevel.STAFF.value, index=unique.index, dtype="object")
    decided = pd.Series(False, index=unique.index)
    for level in (JobLevel.C_LEVEL, JobLevel.EXECUTIVE, JobLevel.DIRECTOR, JobLevel.MANAGER):
        words: list[str] = getattr(keywords, level.value)
        if not words:
            continue
        hit = unique.str.contains(_keyword_pattern(words), case=False, regex=True) & ~decided
        levels[hit] = level.value
        decided |= hit
    return pd.Series(levels.to_numpy()[codes], index=titles.index, dtype="object")


def _normalise(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str).str.strip().str.casefold()


def fit_points(signal: FitSignal, contacts: pd.DataFrame, job_levels: pd.Series) -> np.ndarray:
    """Points one fit signal gives each contact row."""
    if signal.attribute == "job_level":
        assert isinstance(signal.at_least, JobLevel)
        ranks = job_levels.map({level.value: rank for level, rank in JOB_LEVEL_RANK.items()})
        hit = ranks >= JOB_LEVEL_RANK[signal.at_least]
    elif signal.attribute == "employee_count":
        counts = pd.to_numeric(contacts["employee_count"]).astype("Float64")
        hit = (counts >= float(signal.at_least or 0)).fillna(False)
    else:
        wanted = {v.strip().casefold() for v in signal.any_of or []}
        hit = _normalise(contacts[signal.attribute]).isin(wanted)
    return np.where(hit.to_numpy(dtype=bool), signal.points, 0)


def behaviour_points(rules: Rules, facts: pd.DataFrame) -> pd.DataFrame:
    """Points per behaviour signal per contact row of `facts` (before the group cap)."""
    points = pd.DataFrame(index=facts.index)
    for signal in rules.scoring.behaviour.signals:
        units = facts[f"{signal.name}__units"].to_numpy(dtype=np.int64)
        earned = np.where(units >= signal.min, 1, 0)
        raw = signal.points * earned if signal.count == "once" else signal.points * units * earned
        if signal.cap is not None:
            raw = np.minimum(raw, signal.cap)
        points[signal.name] = raw
    return points


def score_frame(
    *, contacts: pd.DataFrame, facts: pd.DataFrame, rules: Rules, as_of: datetime
) -> pd.DataFrame:
    """Score every contact in `contacts`: engagement (capped), fit (capped), total, and the
    breakdown as a compact `Breakdown` (what a snapshot stores; it reads as the full one).

    `facts` carries, per contact with events, `<signal>__units` and `<signal>__last`
    (epoch seconds as tasks.scoring.read gives them, or datetimes); contacts without a
    facts row have no behaviour points.
    """
    scoring = rules.scoring
    base = contacts.set_index("contact_id", drop=False)
    signal_names = [s.name for s in scoring.behaviour.signals]
    fact_columns = [f"{n}__units" for n in signal_names] + [f"{n}__last" for n in signal_names]
    aligned = (
        facts.set_index("contact_id")[fact_columns].reindex(base.index)
        if len(facts)
        else pd.DataFrame(index=base.index, columns=fact_columns)
    )
    for name in signal_names:
        aligned[f"{name}__units"] = aligned[f"{name}__units"].fillna(0).astype("int64")
        aligned[f"{name}__last"] = epoch_seconds(aligned[f"{name}__last"])

    behaviour = behaviour_points(rules, aligned)
    job_levels = classify_job_levels(base["job_title"], scoring.job_levels)
    fit = pd.DataFrame(
        {s.name: fit_points(s, base, job_levels) for s in scoring.fit.signals}, index=base.index
    )
    behaviour_raw = behaviour.sum(axis=1).astype("int64")
    fit_raw = fit.sum(axis=1).astype("int64") if len(fit.columns) else behaviour_raw * 0
    engagement = np.minimum(behaviour_raw, scoring.behaviour.cap)
    fit_score = np.minimum(fit_raw, scoring.fit.cap)

    scores = pd.DataFrame(
        {
            "contact_id": base["contact_id"].astype("int64"),
            "engagement_score": engagement.astype("int64"),
            "fit_score": fit_score.astype("int64"),
            "score": (engagement + fit_score).astype("int64"),
        },
        index=base.index,
    )
    scores["breakdown"] = compact_breakdowns(
        rules=rules, as_of=as_of, behaviour=behaviour, facts=aligned, fit=fit,
        job_levels=job_levels,
    )
    return scores.reset_index(drop=True)


def score_contacts(
    *, contacts: pd.DataFrame, facts: pd.DataFrame, rules: Rules, as_of: datetime
) -> pd.DataFrame:
    """`score_frame` with each breakdown as a full dictionary: for a few contacts
    (`leadflow explain`), where people read every entry."""
    scores = score_frame(contacts=contacts, facts=facts, rules=rules, as_of=as_of)
    scores["breakdown"] = [dict(b) for b in scores["breakdown"]]
    return scores


def changed_scores(scores: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """The score rows that differ from each contact's previous snapshot (or have none)."""
    if scores.empty:
        return scores
    merged = scores.merge(previous, on="contact_id", how="left")
    differs = (
        merged["previous_score"].isna()
        | (merged["engagement_score"] != merged["previous_engagement"])
        | (merged["fit_score"] != merged["previous_fit"])
    )
    return scores[differs.to_numpy(dtype=bool)].reset_index(drop=True)


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
    check_bad_row_share(
        what="candidate contacts",
        bad=contacts.bad_rows + facts.bad_rows,
        total=contacts.total_rows,
        limit=max_bad_row_share,
        first=rejected[0] if rejected else None,
    )
    bad_facts = {r.row_number for r in facts.rejected}
    good_contacts = contacts.good[~contacts.good["contact_id"].isin(bad_facts)]
    scores = score_frame(
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
