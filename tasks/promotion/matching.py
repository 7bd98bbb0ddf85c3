"""Which contacts a transition rule matches: scores, events, email domains, sequences.

Pure: the candidate and event frames of one hour in, contact ids out. A score rule
leaves alone the contacts sent back to marketing lately (`held_back_from_score`).
"""

from collections.abc import Iterable, Set
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from models.lifecycle import TransitionKind
from models.promotion_rules import (
    EmailDomainRule,
    EventMatch,
    EventRule,
    ScoreRule,
    SequenceRule,
    TransitionRule,
)

BACK_TO_MARKETING = (TransitionKind.RECYCLE.value, TransitionKind.RENURTURE.value)


def held_back_from_score(
    contacts: pd.DataFrame, *, cooldown_days: int, as_of: datetime
) -> set[int]:
    """Contacts whose latest stage change sent them back to marketing (recycle, re-nurture)
    less than `cooldown_days` ago, or that showed no behaviour since.

    The score such a lead keeps is the one sales already worked: it makes an MQL again
    only after the cool-down and new behaviour. `awaiting_reengagement` (read) says the
    contact has been silent since the move; `last_stage_kind`/`last_stage_at` date it.
    """
    silent = contacts["awaiting_reengagement"].astype("boolean").fillna(False).astype(bool)
    backward = contacts["last_stage_kind"].isin(BACK_TO_MARKETING)
    moved_at = pd.to_datetime(contacts["last_stage_at"], utc=True, errors="coerce")
    cooling = backward & (moved_at > pd.Timestamp(as_of - timedelta(days=cooldown_days)))
    held = silent | cooling.fillna(False).astype(bool)
    return {int(cid) for cid in contacts.loc[held, "contact_id"]}


def _matching(events: pd.DataFrame, match: EventMatch) -> pd.DataFrame:
    mask = events["type"].isin([e.value for e in match.events])
    if match.details is not None:
        mask &= events["detail"].isin(match.details)
    return events[mask]


def _contacts_with(events: pd.DataFrame, match: EventMatch) -> set[int]:
    counts = _matching(events, match).groupby("contact_id").size()
    return {int(cid) for cid in counts[counts >= match.min].index}


def text_cells(series: pd.Series) -> pd.Series:
    """Whether each cell holds text (NaN, None and numbers do not)."""
    if isinstance(series.dtype, pd.StringDtype):
        return series.notna()
    return pd.Series(
        np.fromiter((isinstance(v, str) for v in series), dtype=bool, count=len(series)),
        index=series.index,
    )


def in_domains(emails: pd.Series, domains: Iterable[str]) -> pd.Series:
    """Whether each email's domain is one of `domains` or a subdomain of one (any case)."""
    lowered = [d.lower() for d in domains]
    texts = emails[text_cells(emails)].astype(object)
    texts = texts[texts.str.contains("@", regex=False).astype(bool)]
    domain = texts.str.rsplit("@", n=1).str[-1].str.strip().str.lower()
    listed = domain.isin(lowered) | domain.str.endswith(tuple("." + d for d in lowered))
    return listed.astype(bool).reindex(emails.index, fill_value=False)


def _times_by_contact(frame: pd.DataFrame) -> dict[int, list[datetime]]:
    """Each contact's event instants, oldest first."""
    ordered = frame.sort_values("occurred_at", kind="stable")
    grouped = ordered.groupby("contact_id", sort=False)["occurred_at"].agg(list)
    return {int(cid): times for cid, times in grouped.items()}


def _sequence_contacts(events: pd.DataFrame, rule: SequenceRule) -> set[int]:
    within = timedelta(days=rule.within_days) if rule.within_days is not None else None
    per_step = [_matching(events, step) for step in rule.steps]
    candidates = set(per_step[0]["contact_id"].astype(int))
    for frame in per_step[1:]:
        candidates &= set(frame["contact_id"].astype(int))
    if not candidates:
        return set()
    # One grouping per step; the walk over each candidate's few instants stays in Python
    # (the earliest start that completes, step after step) as it is inherently ordered.
    by_step = [
        _times_by_contact(frame[frame["contact_id"].isin(list(candidates))])
        for frame in per_step
    ]
    minimums = [step.min for step in rule.steps]
    return {
        contact_id
        for contact_id in sorted(candidates)
        if _sequence_done([times[contact_id] for times in by_step], minimums, within=within)
    }


def _sequence_done(
    times: list[list[datetime]], minimums: list[int], *, within: timedelta | None
) -> bool:
    """Whether each step's `min` events happened after the previous step completed.

    The earliest start that completes (inside `within` of its first event) wins.
    """
    first_step = times[0]
    for start_index in range(len(first_step) - minimums[0] + 1):
        started = first_step[start_index]
        done = first_step[start_index + minimums[0] - 1]
        for step_times, minimum in zip(times[1:], minimums[1:], strict=True):
            later = [t for t in step_times if t > done]
            if len(later) < minimum:
                break
            done = later[minimum - 1]
        else:
            if within is None or done - started <= within:
                return True
    return False


def rule_matches(
    rule: TransitionRule,
    *,
    contacts: pd.DataFrame,
    events: pd.DataFrame,
    thresholds: dict[str, int],
    held: Set[int] = frozenset(),
) -> set[int]:
    """The contacts a transition rule matches, whatever their current stage.

    `held`: contacts a score rule leaves alone (see `held_back_from_score`); event,
    domain and sequence rules look at events since the latest stage change anyway.
    """
    if isinstance(rule, ScoreRule):
        line = thresholds[rule.threshold] if isinstance(rule.threshold, str) else rule.threshold
        scores = pd.to_numeric(contacts["score"], errors="coerce")
        reached = (scores >= line).fillna(False).astype(bool)
        return {int(cid) for cid in contacts.loc[reached, "contact_id"]} - set(held)
    if isinstance(rule, EmailDomainRule):
        senders = _contacts_with(events, rule)
        if not senders:
            return set()
        candidates = contacts[contacts["contact_id"].isin(list(senders))]
        listed = in_domains(candidates["email"], rule.domains)
        return {int(cid) for cid in candidates.loc[listed, "contact_id"]} & senders
    if isinstance(rule, EventRule):
        return _contacts_with(events, rule)
    return _sequence_contacts(events, rule)
