"""Owner assignment: route a promoted lead to a team, then rotate over the team's owners.

Pure functions only. The rotation is a smooth weighted round robin (as in nginx) whose
state is rebuilt by replaying the team's stored assignment history, so the same history
always yields the same next owners, and over any stretch of leads each active owner's
share stays within one lead of its weight share. Contacts promoted while their team had
no active owner get one later ("late assignment"), in the same rotation, once an owner
of the team is active; so do contacts a lead status moved into the stage of another team
(sales_ready → sql goes to field sales: the "hand-over").
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from models.enums import Stage, Team
from models.promotion_rules import Routing
from models.rules import Rules
from tasks.transitions import Transition

LATE_ASSIGNMENT_REASON = "late assignment"
# The rule of a stage move a lead status brought, as tasks.status names it
# ("lead_status:sales_ready").
LEAD_STATUS_RULE_PREFIX = "lead_status:"


def route_team(routing: Routing, *, to_stage: Stage, lead_source: str | None) -> Team:
    """The team a contact entering `to_stage` goes to: by stage, else by lead source."""
    if to_stage in routing.by_stage:
        return routing.by_stage[to_stage]
    if lead_source is not None:
        source = lead_source.strip().lower()
        for key, team in routing.by_lead_source.items():
            if key.lower() == source:
                return team
    return routing.default_team


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


@dataclass(frozen=True)
class Assignment:
    """An owner for a contact; `owner_id` None when the team has no active owner.

    `late`: assigned outside this hour's moves: the contact was promoted earlier while its
    team had no active owner, or (`handover`) a lead status moved it into the stage of
    another team. `replaces`: its owner when read; the new owner is kept only if that
    is unchanged.
    """

    contact_id: int
    owner_id: int | None
    team: str
    at: datetime
    reason: str
    late: bool = False
    handover: bool = False
    replaces: int | None = None


@dataclass(frozen=True)
class LateCandidate:
    """A contact of an assign stage that needs an owner of `team` outside this hour's moves.

    `owner_id`: its owner when read (None: unowned). `handover`: a lead status moved it
    into a stage another team works, and its owner is not of that team.
    """

    contact_id: int
    team: Team
    owner_id: int | None = None
    handover: bool = False

    @property
    def reason(self) -> str:
        """Why the contact gets an owner, as the assignment history stores it."""
        return f"handed to {self.team.value}" if self.handover else LATE_ASSIGNMENT_REASON


def moved_by_lead_status(rule: object) -> bool:
    """Whether a stage-history rule is the move a lead status brought."""
    return isinstance(rule, str) and rule.startswith(LEAD_STATUS_RULE_PREFIX)


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
