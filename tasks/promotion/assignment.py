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

import numpy as np
import pandas as pd

from models.enums import Stage, Team
from models.promotion_rules import Routing
from models.rules import Rules
from tasks.promotion.matching import text_cells

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


def route_teams(routing: Routing, *, to_stages: pd.Series, lead_sources: pd.Series) -> pd.Series:
    """`route_team` over frames: the team value for each (stage, lead source) pair."""
    by_stage = {stage.value: team.value for stage, team in routing.by_stage.items()}
    by_source: dict[str, str] = {}
    for key, team in routing.by_lead_source.items():
        by_source.setdefault(key.lower(), team.value)
    teams = to_stages.astype(object).map(by_stage)
    if by_source:
        texts = lead_sources[text_cells(lead_sources)].astype(object)
        sourced = texts.str.strip().str.lower().map(by_source)
        teams = teams.fillna(sourced.reindex(teams.index))
    return teams.fillna(routing.default_team.value).astype(object)


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
    # Credits by position in `owners` (ascending ids); each step is sequential by nature.
    credit = [0.0] * len(owners)
    step_weights = [weights[o] for o in owners]
    slots = range(len(owners))
    position = {owner: index for index, owner in enumerate(owners)}

    def step(index: int | None) -> int:
        for i in slots:
            credit[i] = min(credit[i] + step_weights[i], total)
        # Highest credit wins; ties go to the lowest id (the first position).
        chosen = credit.index(max(credit)) if index is None else index
        credit[chosen] = max(credit[chosen] - total, -total)
        return chosen

    for past in history:
        if past in position:
            step(position[past])
    return [owners[step(None)] for _ in range(count)]


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


LATE_COLUMNS = ["contact_id", "team", "owner_id", "handover"]


def late_frame(
    unowned: pd.DataFrame,
    *,
    moved: set[int],
    owner_teams: Mapping[int, str],
    rules: Rules,
    as_of: datetime,
) -> pd.DataFrame:
    """`late_candidates` as a frame (LATE_COLUMNS, `team` a value, `owner_id` Int64), in
    contact id order."""
    assign_stages = [stage.value for stage in rules.promotion.assign_stages]
    window = rules.promotion.late_assignment_within_days
    frame = unowned.sort_values("contact_id")
    keep = ~frame["contact_id"].astype(int).isin(list(moved)) & frame["lifecycle_stage"].isin(
        assign_stages
    )
    if window is not None:
        entered = pd.to_datetime(frame["last_stage_at"], utc=True)
        keep &= (entered >= pd.Timestamp(as_of - timedelta(days=window))).fillna(False)
    frame = frame[keep.astype(bool)]
    teams = route_teams(
        rules.promotion.routing, to_stages=frame["lifecycle_stage"],
        lead_sources=frame["lead_source"],
    )
    current = pd.to_numeric(frame["owner_id"]).astype("Int64")
    unowned_now = current.isna()
    if "last_stage_rule" in frame.columns:
        rules_text = frame["last_stage_rule"][text_cells(frame["last_stage_rule"])].astype(object)
        by_status = rules_text.str.startswith(LEAD_STATUS_RULE_PREFIX).reindex(
            frame.index, fill_value=False
        ).astype(bool)
    else:
        by_status = pd.Series(False, index=frame.index)
    owner_team = current.astype(object).map(dict(owner_teams)).astype(object)
    handover = ~unowned_now & by_status & (owner_team != teams)
    chosen = (unowned_now | handover).astype(bool)
    return pd.DataFrame(
        {
            "contact_id": frame["contact_id"].astype(int),
            "team": teams,
            "owner_id": current.where(handover),
            "handover": handover.astype(bool),
        }
    )[chosen].reset_index(drop=True)[LATE_COLUMNS]


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
    frame = late_frame(unowned, moved=moved, owner_teams=owner_teams, rules=rules, as_of=as_of)
    return [
        LateCandidate(
            int(cid), Team(team), owner_id=None if pd.isna(owner) else int(owner),
            handover=bool(handover),
        )
        for cid, team, owner, handover in zip(
            frame["contact_id"], frame["team"], frame["owner_id"], frame["handover"], strict=True
        )
    ]


def _moves_wanting_owners(
    moves: pd.DataFrame, contacts: pd.DataFrame, owners: pd.DataFrame, rules: Rules
) -> pd.DataFrame:
    """This hour's moves into an assign stage whose contact has no active owner of the
    routed team: contact_id, team, reason (in the moves' order)."""
    assign_stages = [stage.value for stage in rules.promotion.assign_stages]
    moved = moves[moves["to_stage"].isin(assign_stages)]
    moved = moved.merge(
        contacts[["contact_id", "lead_source", "owner_id"]], on="contact_id", how="left"
    )
    teams = route_teams(
        rules.promotion.routing, to_stages=moved["to_stage"], lead_sources=moved["lead_source"]
    )
    active = owners[owners["active"].astype(bool)]
    active_ids = {int(o) for o in active["owner_id"]}
    owner_team = {
        int(o): str(t) for o, t in zip(owners["owner_id"], owners["team"], strict=True)
        if int(o) in active_ids
    }
    current = pd.to_numeric(moved["owner_id"]).astype("Int64").astype(object)
    kept = current.map(owner_team).astype(object) == teams
    wanted = moved[~kept.astype(bool)]
    return pd.DataFrame(
        {
            "contact_id": wanted["contact_id"].astype(int),
            "team": teams[~kept.astype(bool)],
            "reason": wanted["to_stage"].astype(object) + " via " + wanted["rule"].astype(object),
        }
    )


def decide_assignments(
    *,
    contacts: pd.DataFrame,
    owners: pd.DataFrame,
    history: pd.DataFrame,
    moves: pd.DataFrame,
    late: pd.DataFrame,
    rules: Rules,
    as_of: datetime,
) -> list[Assignment]:
    """Owners for this hour's moves, then for late candidates, in one rotation per team.

    `moves`: this hour's transitions (contact_id, to_stage value, rule) in decided order;
    `late`: `late_frame`. A moved contact keeps an active owner of its team. A late
    candidate whose team has no active owner yet gets no assignment: it waits for a
    later run.
    """
    wanted = _moves_wanting_owners(moves, contacts, owners, rules)
    waiting = late.assign(
        reason=np.where(
            late["handover"].astype(bool), "handed to " + late["team"].astype(object),
            LATE_ASSIGNMENT_REASON,
        )
    )
    rows = pd.concat(
        [
            wanted.assign(late=False, handover=False, replaces=pd.NA),
            waiting.assign(late=True, replaces=waiting["owner_id"]).drop(columns="owner_id"),
        ],
        ignore_index=True,
    )
    if rows.empty:
        return []
    active = owners[owners["active"].astype(bool)]
    rows["position"] = rows.groupby("team", sort=False).cumcount()
    rows["owner_id"] = pd.NA
    for team_name, team_rows in rows.groupby("team", sort=True):
        members = active[active["team"] == team_name]
        weights = {
            int(o): float(w) for o, w in zip(members["owner_id"], members["weight"], strict=True)
        }
        past = [int(o) for o in history.loc[history["team"] == team_name, "owner_id"]]
        picks = weighted_round_robin(weights, history=past, count=len(team_rows))
        if picks:
            rows.loc[team_rows.index, "owner_id"] = pd.Series(
                picks, index=team_rows.index, dtype=object
            )
    rows = rows[~(rows["late"].astype(bool) & rows["owner_id"].isna())]
    # Teams in name order, each in its wanted order (this hour's moves, then late ones).
    rows = rows.sort_values(["team", "position"], kind="stable")
    return [
        Assignment(
            contact_id=int(cid), owner_id=None if pd.isna(owner) else int(owner), team=str(team),
            at=as_of, reason=str(reason), late=bool(late), handover=bool(handover),
            replaces=None if pd.isna(replaces) else int(replaces),
        )
        for cid, owner, team, reason, late, handover, replaces in zip(
            rows["contact_id"], rows["owner_id"], rows["team"], rows["reason"], rows["late"],
            rows["handover"], rows["replaces"], strict=True,
        )
    ]
