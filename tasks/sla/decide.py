"""Deciding SLA clocks, escalations and follow-up tasks for one hour (pure).

For every cycle of every contact read and every policy: the clock as the facts up to
`as_of` make it (written when new or changed), the ladder levels that fire now (once per
contact + cycle + policy + level, and only when the level came due within
`sla.max_escalation_age` of `as_of`), and for follow-up policies (levels with `touches`)
one follow-up task per level with the instant it was done.
"""

from collections import defaultdict
from dataclasses import replace
from datetime import datetime, tzinfo
from typing import Any

import pandas as pd

from models.enums import Stage
from models.rules import Rules
from models.sla_rules import SlaPolicy
from tasks.promotion.assignment import route_team
from tasks.sla.calendar import BusinessCalendar
from tasks.sla.clocks import (
    Assignment,
    ClockState,
    ContactFacts,
    clock_state,
    level_due,
    level_missed,
)
from tasks.sla.cycles import Cycle, contact_cycles, stage_rows
from tasks.sla.decisions import (
    NO_OWNER,
    ClockRow,
    Escalation,
    FollowUpTask,
    SlaDecisions,
    SlaInputs,
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
from tasks.validation import QuarantineRecord, check_bad_row_share, split_valid_rows

CLOCK_TIMES = ("started_at", "due_at", "satisfied_at", "breached_at", "closed_at")


def _valid(frame: pd.DataFrame, schema: Any, source: str, key: str,
           rejected: list[QuarantineRecord]) -> pd.DataFrame:
    checked = split_valid_rows(frame, schema, source=source, row_numbers=frame[key])
    rejected.extend(replace(r, reason=reason_text(r.reason)) for r in checked.rejected)
    return checked.good


def _by_contact(frame: pd.DataFrame) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in frame.to_dict("records"):
        grouped[int(record["contact_id"])].append(record)
    return grouped


def _when(value: Any) -> datetime:
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def _maybe(value: Any) -> Any:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def contact_facts(
    stages: list[dict[str, Any]],
    activities: list[dict[str, Any]],
    statuses: list[dict[str, Any]],
    assignments: list[dict[str, Any]],
) -> ContactFacts:
    """One contact's records as SLA facts, each list oldest first."""
    return ContactFacts(
        stages=stage_rows(stages),
        touches=sorted(_when(a["occurred_at"]) for a in activities),
        statuses=sorted((_when(s["at"]), str(s["to_status"])) for s in statuses),
        assignments=sorted(
            (Assignment(_when(a["at"]), int(a["owner_id"]), str(a["team"])) for a in assignments),
            key=lambda a: a.at,
        ),
    )


def owner_as_of(current: int | None, assignments: list[Assignment], as_of: datetime) -> int | None:
    """The contact's owner at `as_of`: its current owner, unless it was assigned after
    `as_of` (a past hour), then the latest assignment at or before it."""
    if not any(a.at > as_of for a in assignments):
        return current
    earlier = [a for a in assignments if a.at <= as_of]
    return earlier[-1].owner_id if earlier else None


def _existing(frame: pd.DataFrame, keys: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {
        tuple(int(r[k]) if k != "policy" else str(r[k]) for k in keys): r
        for r in frame.to_dict("records")
    }


def decide_sla(
    inputs: SlaInputs, rules: Rules, *, tz: tzinfo | str, max_bad_row_share: float = 1.0
) -> SlaDecisions:
    """Clocks, escalations and follow-up tasks for every contact read, as of `inputs.as_of`."""
    as_of = inputs.as_of
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
    decisions = SlaDecisions(as_of=as_of, contacts=len(contacts), quarantined=rejected)
    check_bad_row_share(what="SLA input rows", bad=decisions.bad_rows, total=total,
                        limit=max_bad_row_share, first=rejected[0] if rejected else None)

    calendar = BusinessCalendar(rules.calendar, tz if isinstance(tz, str) else str(tz))
    owner_team = {int(o): str(t) for o, t in zip(owners["owner_id"], owners["team"], strict=True)}
    grouped = [_by_contact(f) for f in (stages, activities, statuses, assignments)]
    clocks = _existing(inputs.clocks, ["contact_id", "cycle", "policy"])
    fired = set(_existing(inputs.escalations, ["contact_id", "cycle", "policy", "level"]))
    tasks = _existing(inputs.follow_ups, ["contact_id", "cycle", "day"])

    for contact in contacts.to_dict("records"):
        contact_id = int(contact["contact_id"])
        facts = contact_facts(*(g.get(contact_id, []) for g in grouped))
        current = _maybe(contact["owner_id"])
        owner = owner_as_of(None if current is None else int(current), facts.assignments, as_of)
        for cycle in contact_cycles(contact_id, facts.stages, as_of=as_of):
            team = owner_team.get(owner) if owner is not None else None
            team = team or _fallback_team(rules, cycle, facts, _maybe(contact["lead_source"]),
                                          as_of)
            for policy in rules.sla.policies:
                state = clock_state(policy, cycle, facts, calendar=calendar, as_of=as_of)
                if state is None:
                    continue
                key = (contact_id, cycle.cycle, policy.name)
                fires = _fire(state, policy, cycle, calendar=calendar, rules=rules, as_of=as_of,
                              fired=fired, owner=owner, team=team)
                decisions.escalations.extend(fires)
                row = _clock_row(state, cycle, clocks.get(key), fires, owner)
                if row is not None:
                    decisions.clocks.append(row)
                decisions.follow_ups.extend(
                    _follow_ups(state, cycle, calendar=calendar, existing=tasks, owner=owner)
                )
    return decisions


def _fallback_team(
    rules: Rules, cycle: Cycle, facts: ContactFacts, lead_source: str | None, as_of: datetime
) -> str:
    earlier = [a for a in facts.assignments if a.at <= as_of]
    if earlier:
        return earlier[-1].team
    stage = Stage(cycle.to_stage) if cycle.to_stage in Stage._value2member_map_ else Stage.MQL
    return route_team(rules.promotion.routing, to_stage=stage, lead_source=lead_source).value


def _fire(
    state: ClockState,
    policy: SlaPolicy,
    cycle: Cycle,
    *,
    calendar: BusinessCalendar,
    rules: Rules,
    as_of: datetime,
    fired: set[tuple[Any, ...]],
    owner: int | None,
    team: str | None,
) -> list[Escalation]:
    escalations = []
    for number, level in enumerate(policy.ladder, start=1):
        due = level_due(state, level, calendar)
        if as_of < due or not level_missed(state, level, due):
            continue
        # Done by now (a touch logged between the due time and this run): nobody to chase.
        if not level_missed(state, level, as_of):
            continue
        # Importing years of history opens clocks but pages nobody about them.
        if calendar.add(due, rules.sla.max_escalation_age) < as_of:
            continue
        if (cycle.contact_id, cycle.cycle, policy.name, number) in fired:
            continue
        escalations.append(
            Escalation(
                contact_id=cycle.contact_id, cycle=cycle.cycle, policy=policy.name,
                level=number, due_at=due, clock_due_at=state.due_at,
                started_at=state.started_at, at=as_of, action=level.action,
                notify=tuple(level.notify), via=tuple(level.via), owner_id=owner, team=team,
                touches=state.touches_by(as_of), touches_needed=level.touches,
                detail=NO_OWNER if owner is None else None,
            )
        )
    return escalations


def _clock_row(
    state: ClockState,
    cycle: Cycle,
    existing: dict[str, Any] | None,
    fires: list[Escalation],
    owner: int | None,
) -> ClockRow | None:
    before_level = int(existing["level"]) if existing else 0
    level = max([before_level, *(e.level for e in fires)])
    before = {k: _maybe(existing[k]) for k in CLOCK_TIMES} if existing else {}
    after: dict[str, Any] = {"started_at": state.started_at, "due_at": state.due_at,
                             "satisfied_at": state.satisfied_at,
                             # A stored breach stays (its escalations went out), even if
                             # a touch logged later is dated before the due time.
                             "breached_at": before.get("breached_at") or state.breached_at,
                             "closed_at": state.closed_at}
    if existing and level == before_level and all(
        _same(before[k], v) for k, v in after.items()
    ):
        return None
    return ClockRow(
        contact_id=cycle.contact_id, cycle=cycle.cycle, policy=state.policy.name, **after,
        level=level,
        owner_id=(None if _maybe(existing["owner_id"]) is None else int(existing["owner_id"]))
        if existing else owner,
        opened=existing is None,
        satisfied=state.satisfied_at is not None and before.get("satisfied_at") is None,
        breached=after["breached_at"] is not None and before.get("breached_at") is None,
        closed=state.closed_at is not None and before.get("closed_at") is None,
    )


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(_when(a) == _when(b))


def _follow_ups(
    state: ClockState,
    cycle: Cycle,
    *,
    calendar: BusinessCalendar,
    existing: dict[tuple[Any, ...], dict[str, Any]],
    owner: int | None,
) -> list[FollowUpTask]:
    tasks = []
    for level in state.policy.ladder:
        if level.touches is None:
            continue
        day = level.after.amount
        done = state.nth_touch(level.touches)
        before = existing.get((cycle.contact_id, cycle.cycle, day))
        if before is not None and _same(_maybe(before["done_at"]), done):
            continue
        tasks.append(
            FollowUpTask(
                contact_id=cycle.contact_id, cycle=cycle.cycle, day=day,
                due_at=level_due(state, level, calendar), done_at=done,
                owner_id=owner if before is None else _maybe(before["owner_id"]),
                opened=before is None,
            )
        )
    return tasks
