"""The promotion decide beat as it was before it worked on frames — kept as the test oracle.

Verbatim copies of tasks/promotion/decide.py (decide_promotions, _decide_hot),
assignment.py (late_candidates, decide_assignments, weighted_round_robin) and matching.py
(every function) as they were before issue 13 moved matching, transitions, hot marks and
owner assignment onto frames: the property tests
(tests/unit/test_promotion_decide_equivalence.py) compare the frame version with this
per-row one on random inputs, so any drift in the decisions, reasons or owners shows up.
Only the imports were merged and public names kept; do not "fix" or restyle this code —
it is the reference.
"""

from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import datetime, timedelta

import pandas as pd

from models.enums import Stage
from models.lifecycle import TransitionKind
from models.promotion_rules import (
    EmailDomainRule,
    EventMatch,
    EventRule,
    ScoreRule,
    SequenceRule,
    TransitionRule,
)
from models.promotion_schemas import promotion_contacts_schema, transitions_schema
from models.rules import Rules
from tasks.promotion.assignment import (
    Assignment,
    LateCandidate,
    moved_by_lead_status,
    route_team,
)
from tasks.promotion.decide import (
    HotMark,
    PromotionDecisions,
    PromotionInputs,
    transitions_frame,
)
from tasks.transitions import Proposal, Transition, decide_transitions, kind_for
from tasks.validation import check_bad_row_share, split_valid_rows

# --- tasks/promotion/matching.py ---------------------------------------------------------

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


# --- tasks/promotion/assignment.py -------------------------------------------------------


def weighted_round_robin(
    weights: Mapping[int, float], *, history: Sequence[int], count: int
) -> list[int]:
    """The next `count` owners, given active owners' weights and past picks (oldest first).

    Past picks of owners no longer active are ignored. Replayed credit is clamped to
    one round (the total weight), so an owner who joins late gets a fair share from
    now on instead of a burst that "catches up" on the past.
    """
    owners = sorted(owner for owner, weight in weights.items() if weight > 0)
    if not owners or count <= 0:
        return []
    total = float(sum(weights[o] for o in owners))
    current = dict.fromkeys(owners, 0.0)

    def step(pick: int | None) -> int:
        for owner in owners:
            current[owner] = min(current[owner] + weights[owner], total)
        # Highest credit wins; ties go to the lowest id so the order is deterministic.
        chosen = pick if pick is not None else max(owners, key=lambda o: (current[o], -o))
        current[chosen] = max(current[chosen] - total, -total)
        return chosen

    for past in history:
        if past in current:
            step(past)
    return [step(None) for _ in range(count)]


def late_candidates(
    unowned: pd.DataFrame,
    *,
    moved: set[int],
    owner_teams: Mapping[int, str],
    rules: Rules,
    as_of: datetime,
) -> list[LateCandidate]:
    """Contacts in an assign stage, not moved this hour, that need an owner of their routed
    team: unowned ones, and those a lead status moved into the stage (its latest change)
    whose owner is not of the team routing gives the stage (`owner_teams`: owner → team).

    Only contacts that entered their stage within `promotion.late_assignment_within_days`
    of `as_of`: importing years of old MQLs without owners must not hand them all to
    sales at once (a contact without stage history has no known hand-off time either).
    A contact imported into the stage with an owner keeps it: only a lead status hands over.
    """
    assign_stages = {stage.value for stage in rules.promotion.assign_stages}
    window = rules.promotion.late_assignment_within_days
    since = None if window is None else as_of - timedelta(days=window)
    late: list[LateCandidate] = []
    for row in unowned.sort_values("contact_id").to_dict("records"):
        contact_id = int(row["contact_id"])
        stage = row["lifecycle_stage"]
        if contact_id in moved or stage not in assign_stages:
            continue
        entered = row["last_stage_at"]
        if since is not None and (pd.isna(entered) or entered < since):
            continue
        source = row["lead_source"] if isinstance(row["lead_source"], str) else None
        team = route_team(rules.promotion.routing, to_stage=Stage(stage), lead_source=source)
        current = row["owner_id"]
        if pd.isna(current):
            late.append(LateCandidate(contact_id, team))
        elif (
            moved_by_lead_status(row.get("last_stage_rule"))
            and owner_teams.get(int(current)) != team.value
        ):
            late.append(LateCandidate(contact_id, team, owner_id=int(current), handover=True))
    return late


def decide_assignments(
    *,
    contacts: pd.DataFrame,
    owners: pd.DataFrame,
    history: pd.DataFrame,
    transitions: Sequence[Transition],
    late: Sequence[LateCandidate],
    rules: Rules,
    as_of: datetime,
) -> list[Assignment]:
    """Owners for this hour's moves, then for late candidates, in one rotation per team.

    A moved contact keeps an active owner of its team. A late candidate whose team has
    no active owner yet gets no assignment: it waits for a later run.
    """
    assign_stages = set(rules.promotion.assign_stages)
    active = owners[owners["active"].astype(bool)]
    owner_team = {int(o): str(t) for o, t in zip(owners["owner_id"], owners["team"], strict=True)}
    active_ids = {int(o) for o in active["owner_id"]}
    by_id = contacts.set_index("contact_id")

    # Per team: (contact, reason, late candidate or None), this hour's moves first.
    wanted: dict[str, list[tuple[int, str, LateCandidate | None]]] = {}
    for transition in transitions:
        if transition.to_stage not in assign_stages:
            continue
        row = by_id.loc[transition.contact_id]
        source = row["lead_source"] if isinstance(row["lead_source"], str) else None
        team = route_team(rules.promotion.routing, to_stage=transition.to_stage, lead_source=source)
        current = row["owner_id"]
        if (
            not pd.isna(current)
            and int(current) in active_ids
            and owner_team.get(int(current)) == team.value
        ):
            continue
        reason = f"{transition.to_stage.value} via {transition.rule}"
        wanted.setdefault(team.value, []).append((transition.contact_id, reason, None))
    for waiting in late:
        wanted.setdefault(waiting.team.value, []).append(
            (waiting.contact_id, waiting.reason, waiting)
        )

    assignments: list[Assignment] = []
    for team_name, team_wanted in sorted(wanted.items()):
        members = active[active["team"] == team_name]
        weights = {
            int(o): float(w) for o, w in zip(members["owner_id"], members["weight"], strict=True)
        }
        past = [int(o) for o in history.loc[history["team"] == team_name, "owner_id"]]
        picks = weighted_round_robin(weights, history=past, count=len(team_wanted))
        for index, (contact_id, reason, candidate) in enumerate(team_wanted):
            owner = picks[index] if index < len(picks) else None
            if candidate is not None and owner is None:
                continue
            assignments.append(
                Assignment(
                    contact_id=contact_id, owner_id=owner, team=team_name, at=as_of,
                    reason=reason, late=candidate is not None,
                    handover=candidate is not None and candidate.handover,
                    replaces=None if candidate is None else candidate.owner_id,
                )
            )
    return assignments


# --- tasks/promotion/decide.py -----------------------------------------------------------


def _describe(rule: TransitionRule) -> str:
    return rule.description or rule.name


def decide_promotions(
    inputs: PromotionInputs,
    rules: Rules,
    *,
    as_of: datetime,
    max_bad_row_share: float = 1.0,
) -> PromotionDecisions:
    """Decide transitions (first matching allowed rule wins), hot marks and owners.

    Candidates that fail validation (unknown stage, score outside the rules' range) are
    set aside as quarantine records; more than `max_bad_row_share` of them fails the run.
    """
    thresholds = {"mql": rules.scoring.thresholds.mql, "hot": rules.scoring.thresholds.hot}
    validated = split_valid_rows(
        inputs.contacts,
        promotion_contacts_schema(rules),
        source="promotion:contacts",
        row_numbers=inputs.contacts["contact_id"],
    )
    total = len(inputs.contacts)
    check_bad_row_share(
        what="candidate contacts", bad=validated.bad_rows, total=total, limit=max_bad_row_share,
        first=validated.rejected[0] if validated.rejected else None,
    )
    contacts = validated.good
    if len(contacts) != total:
        inputs = PromotionInputs(
            as_of=inputs.as_of,
            contacts=contacts,
            events=inputs.events[inputs.events["contact_id"].isin(contacts["contact_id"])],
            owners=inputs.owners,
            assignments=inputs.assignments,
            unowned=inputs.unowned,
        )
    stages: dict[int, str | None] = {
        int(cid): (stage if isinstance(stage, str) else None)
        for cid, stage in zip(contacts["contact_id"], contacts["lifecycle_stage"], strict=True)
    }
    held = held_back_from_score(
        contacts, cooldown_days=rules.promotion.recycle_cooldown_days, as_of=as_of
    )
    proposals: list[Proposal] = []
    for rule in rules.promotion.transitions:
        matched = rule_matches(
            rule, contacts=contacts, events=inputs.events, thresholds=thresholds, held=held
        )
        for contact_id in sorted(matched):
            proposals.append(
                Proposal(
                    contact_id=contact_id,
                    to_stage=rule.to,
                    rule=rule.name,
                    kind=kind_for(rule.to),
                    reason=_describe(rule),
                )
            )
    # Rule order is priority: stable-sort proposals by it, contacts in id order within.
    order = {rule.name: index for index, rule in enumerate(rules.promotion.transitions)}
    proposals.sort(key=lambda p: (order[p.rule], p.contact_id))
    transitions = decide_transitions(stages, proposals, as_of=as_of)
    if transitions:
        transitions_schema().validate(transitions_frame(transitions))

    after = dict(stages)
    after.update({t.contact_id: t.to_stage.value for t in transitions})
    hot = _decide_hot(contacts, after, rules, as_of=as_of)
    unowned = split_valid_rows(
        inputs.unowned,
        promotion_contacts_schema(rules),
        source="promotion:unowned",
        row_numbers=inputs.unowned["contact_id"],
    )
    known_bad = {r.row_number for r in validated.rejected}
    owner_teams = {
        int(o): str(t)
        for o, t in zip(inputs.owners["owner_id"], inputs.owners["team"], strict=True)
    }
    late = late_candidates(
        unowned.good,
        moved={t.contact_id for t in transitions},
        owner_teams=owner_teams,
        rules=rules,
        as_of=as_of,
    )
    assignments = decide_assignments(
        contacts=inputs.contacts,
        owners=inputs.owners,
        history=inputs.assignments,
        transitions=transitions,
        late=late,
        rules=rules,
        as_of=as_of,
    )
    late_assigned = sum(1 for a in assignments if a.late)
    return PromotionDecisions(
        as_of=as_of,
        transitions=transitions,
        hot=hot,
        assignments=assignments,
        candidates=total,
        quarantined=[
            *validated.rejected,
            *(r for r in unowned.rejected if r.row_number not in known_bad),
        ],
        awaiting_owner=len(late) - late_assigned,
    )


def _decide_hot(
    contacts: pd.DataFrame, stages: dict[int, str | None], rules: Rules, *, as_of: datetime
) -> list[HotMark]:
    hot_stages = {stage.value for stage in rules.promotion.hot_stages}
    line = rules.scoring.thresholds.hot
    marks: list[HotMark] = []
    for contact_id, score, hot_at in zip(
        contacts["contact_id"], contacts["score"], contacts["hot_at"], strict=True
    ):
        if pd.isna(score) or score < line or not pd.isna(hot_at):
            continue
        if stages.get(int(contact_id)) in hot_stages:
            marks.append(HotMark(contact_id=int(contact_id), at=as_of, score=int(score)))
    return marks
