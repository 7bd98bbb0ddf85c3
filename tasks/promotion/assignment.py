"""Owner assignment: route a promoted lead to a team, then rotate over the team's owners.

Pure functions only. The rotation is a smooth weighted round robin (as in nginx) whose
state is rebuilt by replaying the team's stored assignment history, so the same history
always yields the same next owners, and over any stretch of leads each active owner's
share stays within one lead of its weight share.
"""

from collections.abc import Mapping, Sequence

from models.enums import Stage, Team
from models.promotion_rules import Routing


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
