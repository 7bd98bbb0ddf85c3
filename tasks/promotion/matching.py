"""Which contacts a transition rule matches: scores, events, email domains, sequences.

Pure: the candidate and event frames of one hour in, contact ids out. A score rule
leaves alone the contacts sent back to marketing lately (`held_back_from_score`).
"""

from collections.abc import Iterable, Set
from datetime import datetime, timedelta

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


def _email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower()


def _in_domains(email: object, domains: Iterable[str]) -> bool:
    if not isinstance(email, str) or "@" not in email:
        return False
    domain = _email_domain(email)
    return any(domain == d.lower() or domain.endswith("." + d.lower()) for d in domains)


def _sequence_contacts(events: pd.DataFrame, rule: SequenceRule) -> set[int]:
    within = timedelta(days=rule.within_days) if rule.within_days is not None else None
    per_step = [_matching(events, step) for step in rule.steps]
    candidates = set(per_step[0]["contact_id"].astype(int))
    for frame in per_step[1:]:
        candidates &= set(frame["contact_id"].astype(int))
    matched: set[int] = set()
    for contact_id in sorted(candidates):
        times = [
            sorted(frame.loc[frame["contact_id"] == contact_id, "occurred_at"])
            for frame in per_step
        ]
        if _sequence_done(times, [step.min for step in rule.steps], within=within):
            matched.add(contact_id)
    return matched


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
        listed = contacts["email"].map(lambda email: _in_domains(email, rule.domains))
        return {int(cid) for cid in contacts.loc[listed.astype(bool), "contact_id"]} & (
            _contacts_with(events, rule)
        )
    if isinstance(rule, EventRule):
        return _contacts_with(events, rule)
    return _sequence_contacts(events, rule)
