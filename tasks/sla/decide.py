"""Deciding SLA clocks, escalations and follow-up tasks for one hour (pure).

For every cycle of every contact read and every policy: the clock as the facts up to
`as_of` make it (written when new or changed), the ladder levels that fire now (once per
contact + cycle + policy + level, and only when the level came due within
`sla.max_escalation_age` of `as_of`), and for follow-up policies (levels with `touches`)
one follow-up task per level with the instant it was done.

Worked out over frames, one policy (and ladder level) at a time for all cycles at once;
tests/support/legacy_sla_decide.py keeps the row-by-row version the property tests
compare it with.
"""

from dataclasses import replace
from datetime import tzinfo
from typing import Any

import numpy as np
import pandas as pd

from models.enums import Stage
from models.rules import Rules
from tasks.promotion.assignment import route_team
from tasks.sla.business_time import FrameCalendar
from tasks.sla.clocks import Facts, clock_states
from tasks.sla.cycles import contact_cycles, known_stages
from tasks.sla.decisions import SlaDecisions, SlaInputs
from tasks.sla.ladders import fired_keys, firing_levels, follow_up_tasks
from tasks.sla.outputs import (
    clock_list,
    clock_rows,
    escalation_list,
    follow_up_list,
    stored_clocks,
)
from tasks.sla.schemas import (
    SLA_ACTIVITIES,
    SLA_ASSIGNMENTS,
    SLA_CONTACTS,
    SLA_OWNERS,
    SLA_STAGES,
    SLA_STATUSES,
    reason_text,
)
from tasks.sla.timelines import Timeline, instants
from tasks.validation import QuarantineRecord, check_bad_row_share, split_valid_rows


def _valid(frame: pd.DataFrame, schema: Any, source: str, key: str,
           rejected: list[QuarantineRecord]) -> pd.DataFrame:
    checked = split_valid_rows(frame, schema, source=source, row_numbers=frame[key])
    rejected.extend(replace(r, reason=reason_text(r.reason)) for r in checked.rejected)
    return checked.good


def _ids(values: pd.Series) -> np.ndarray:
    """Nullable ids as an object array of int or None."""
    ids = values.astype("Int64").astype(object).to_numpy(copy=True)
    ids[values.isna().to_numpy()] = None
    return ids


def _texts(values: pd.Series) -> np.ndarray:
    texts = values.astype(object).to_numpy(copy=True)
    texts[values.isna().to_numpy()] = None
    return texts


def _owners_now(contacts: pd.DataFrame, assignments: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """Each contact's owner at `as_of` (its current one, unless it was assigned after
    `as_of`: then the latest assignment at or before it) and the team of that latest
    assignment (None without one)."""
    latest = assignments[assignments["at"] <= as_of].groupby("contact_id").tail(1)
    later = set(assignments.loc[assignments["at"] > as_of, "contact_id"].tolist())
    owners = contacts.merge(latest[["contact_id", "owner_id", "team"]].rename(
        columns={"owner_id": "assigned_owner", "team": "assigned_team"}),
        on="contact_id", how="left")
    reassigned = owners["contact_id"].isin(later).to_numpy()
    owner = np.where(reassigned, _ids(owners["assigned_owner"]), owners["current_owner"])
    return pd.DataFrame({"contact_id": owners["contact_id"].to_numpy(), "owner_id": owner,
                         "assigned_team": _texts(owners["assigned_team"])})


def _teams(cycles: pd.DataFrame, owner_team: dict[int, str], rules: Rules) -> np.ndarray:
    """The owner's team; without one, the team of the latest assignment, else the team
    the routing rules give the cycle's hand-off stage and lead source."""
    owner = cycles["owner_id"].map(lambda o: o if isinstance(o, int) else -1)
    team = owner.map(owner_team).where(lambda t: t.notna() & (t != ""), cycles["assigned_team"])
    missing = team.isna().to_numpy()
    if missing.any():
        wanted = cycles.loc[missing, ["to_stage", "lead_source"]].astype(object)
        wanted["lead_source"] = wanted["lead_source"].where(wanted["lead_source"].notna(), None)
        routed = {
            (stage, source): route_team(
                rules.promotion.routing, lead_source=source,
                to_stage=Stage(stage) if stage in Stage._value2member_map_ else Stage.MQL,
            ).value
            for stage, source in set(zip(wanted["to_stage"], wanted["lead_source"], strict=True))
        }
        team[missing] = [routed[key] for key in zip(wanted["to_stage"], wanted["lead_source"],
                                                     strict=True)]
    return team.to_numpy(dtype=object)


def _stored_follow_ups(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["contact_id", "cycle", "day"]
    stored = pd.DataFrame({k: frame[k].to_numpy(dtype=np.int64) for k in keys})
    stored["done_before"] = instants(frame["done_at"])
    stored["owner_before"] = _ids(frame["owner_id"])
    stored["stored"] = True
    # As a dict keyed by contact, cycle and day would: the last row of a key wins.
    return stored.drop_duplicates(keys, keep="last")


def decide_sla(
    inputs: SlaInputs, rules: Rules, *, tz: tzinfo | str, max_bad_row_share: float = 1.0
) -> SlaDecisions:
    """Clocks, escalations and follow-up tasks for every contact read, as of `inputs.as_of`."""
    rejected: list[QuarantineRecord] = []
    contacts = _valid(inputs.contacts, SLA_CONTACTS, "sla:contacts", "contact_id", rejected)
    stages = _valid(inputs.stages, SLA_STAGES, "sla:stage_history", "contact_id", rejected)
    activities = _valid(inputs.activities, SLA_ACTIVITIES, "sla:activities", "contact_id",
                        rejected)
    statuses = _valid(inputs.statuses, SLA_STATUSES, "sla:lead_status_history", "contact_id",
                      rejected)
    assignments = _valid(inputs.assignments, SLA_ASSIGNMENTS, "sla:owner_assignments",
                         "contact_id", rejected)
    owners = _valid(inputs.owners, SLA_OWNERS, "sla:owners", "owner_id", rejected)
    total = sum(len(f) for f in (inputs.contacts, inputs.stages, inputs.activities,
                                 inputs.statuses, inputs.assignments, inputs.owners))
    decisions = SlaDecisions(as_of=inputs.as_of, contacts=len(contacts), quarantined=rejected)
    check_bad_row_share(what="SLA input rows", bad=decisions.bad_rows, total=total,
                        limit=max_bad_row_share, first=rejected[0] if rejected else None)

    as_of = int(pd.Timestamp(inputs.as_of).as_unit("ns").value)
    people = pd.DataFrame({
        "contact_id": contacts["contact_id"].to_numpy(dtype=np.int64),
        "position": np.arange(len(contacts)),
        "current_owner": _ids(contacts["owner_id"]),
        "lead_source": _texts(contacts["lead_source"]),
    })
    assigned = pd.DataFrame({
        "contact_id": assignments["contact_id"].to_numpy(dtype=np.int64),
        "owner_id": assignments["owner_id"].to_numpy(dtype=object),
        "team": assignments["team"].astype(str).to_numpy(dtype=object),
        "at": instants(assignments["at"]),
    }).sort_values(["contact_id", "at"], kind="stable", ignore_index=True)
    people = people.merge(_owners_now(people, assigned, as_of), on="contact_id")

    known = known_stages(stages, as_of)
    cycles = contact_cycles(known).merge(people, on="contact_id")
    cycles = cycles.sort_values(["position", "cycle"], kind="stable", ignore_index=True)
    owner_team = {int(o): str(t) for o, t in zip(owners["owner_id"], owners["team"], strict=True)}
    cycles["team"] = _teams(cycles, owner_team, rules)

    touch_at = instants(activities["occurred_at"])
    facts = Facts(
        as_of=as_of,
        known=known,
        touches=Timeline(activities["contact_id"].to_numpy(dtype=np.int64), touch_at),
        statuses=pd.DataFrame({
            "contact_id": statuses["contact_id"].to_numpy(dtype=np.int64),
            "to_status": statuses["to_status"].astype(str).to_numpy(dtype=object),
            "at": instants(statuses["at"]),
        }),
        assignments=Timeline(assigned["contact_id"].to_numpy(), assigned["at"].to_numpy()),
    )
    calendar = FrameCalendar.covering(
        rules.calendar, tz if isinstance(tz, str) else str(tz),
        np.concatenate([[as_of], cycles["started_at"].to_numpy()]),
    )
    clocks = stored_clocks(inputs.clocks)
    follow_ups = _stored_follow_ups(inputs.follow_ups)
    fired_parts, clock_parts, task_parts = [], [], []
    for index, policy in enumerate(rules.sla.policies):
        states = clock_states(policy, cycles, facts, calendar=calendar)
        states["policy"] = policy.name
        states["policy_index"] = index
        firing = firing_levels(policy, states, facts, calendar=calendar,
                               max_age=rules.sla.max_escalation_age,
                               fired=fired_keys(inputs.escalations, policy.name))
        fired_parts.append(firing)
        clock_parts.append(clock_rows(states, firing, clocks))
        task_parts.append(follow_up_tasks(policy, states, facts, calendar=calendar,
                                          existing=follow_ups))
    decisions.escalations.extend(escalation_list(fired_parts, as_of=inputs.as_of))
    decisions.clocks.extend(clock_list(clock_parts))
    decisions.follow_ups.extend(follow_up_list(task_parts))
    return decisions
