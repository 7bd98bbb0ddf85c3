"""Decide beat of promotion: transitions, hot leads and owner assignments as data.

Pure: frames + rules + as_of in, `PromotionDecisions` out; no I/O, no clock, no Prefect.
"""

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from models.enums import Stage
from models.promotion_rules import TransitionRule
from models.promotion_schemas import promotion_contacts_schema, transitions_schema
from models.rules import Rules
from tasks.promotion.assignment import Assignment, decide_assignments, late_candidates
from tasks.promotion.matching import held_back_from_score, rule_matches
from tasks.transitions import Proposal, Transition, decide_transitions, kind_for
from tasks.validation import QuarantineRecord, check_bad_row_share, split_valid_rows

UNOWNED_COLUMNS = ["contact_id", "email", "lifecycle_stage", "owner_id", "lead_source",
                   "hot_at", "score", "last_stage_at", "last_stage_rule"]


def _no_unowned() -> pd.DataFrame:
    return pd.DataFrame(columns=UNOWNED_COLUMNS)


@dataclass(frozen=True)
class PromotionInputs:
    """Everything the decide beat needs for one as_of.

    `unowned`: contacts already in an assign stage that may need an owner outside this
    hour's moves (late assignment): those without one (promoted while their team had no
    active owner), and those a lead status moved there lately, with their owner.
    """

    as_of: datetime
    contacts: pd.DataFrame
    events: pd.DataFrame
    owners: pd.DataFrame
    assignments: pd.DataFrame
    unowned: pd.DataFrame = field(default_factory=_no_unowned)


@dataclass(frozen=True)
class HotMark:
    """A contact marked hot for field sales at `at`."""

    contact_id: int
    at: datetime
    score: int


@dataclass(frozen=True)
class PromotionDecisions:
    """Everything one promotion run would write."""

    as_of: datetime
    transitions: list[Transition] = field(default_factory=list)
    hot: list[HotMark] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    candidates: int = 0
    quarantined: list[QuarantineRecord] = field(default_factory=list)
    awaiting_owner: int = 0

    @property
    def bad_rows(self) -> int:
        """How many candidate contacts were set aside as invalid."""
        return len({r.row_number for r in self.quarantined})

    def counts(self) -> dict[str, int]:
        """Transitions per target stage, plus hot marks, assignments and late assignments.

        `handed_over`: contacts a lead status moved into another team's stage, given an
        owner of that team. `awaiting_owner`: late candidates whose team still has no
        active owner.
        """
        by_stage: dict[str, int] = {}
        for transition in self.transitions:
            by_stage[transition.to_stage.value] = by_stage.get(transition.to_stage.value, 0) + 1
        promoted = [a for a in self.assignments if not a.late]
        return {
            **dict(sorted(by_stage.items())),
            "hot": len(self.hot),
            "assigned": sum(1 for a in promoted if a.owner_id is not None),
            "unassigned": sum(1 for a in promoted if a.owner_id is None),
            "late_assigned": sum(1 for a in self.assignments if a.late and not a.handover),
            "handed_over": sum(1 for a in self.assignments if a.handover),
            "awaiting_owner": self.awaiting_owner,
        }


def _describe(rule: TransitionRule) -> str:
    return rule.description or rule.name


def transitions_frame(transitions: list[Transition]) -> pd.DataFrame:
    """Transitions as a frame, for validation and reports."""
    return pd.DataFrame(
        [
            {
                "contact_id": t.contact_id,
                "from_stage": t.from_stage,
                "to_stage": t.to_stage.value,
                "kind": t.kind.value,
                "rule": t.rule,
            }
            for t in transitions
        ],
        columns=["contact_id", "from_stage", "to_stage", "kind", "rule"],
    )


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


def promoted_stage(decisions: PromotionDecisions, contact_id: int) -> Stage | None:
    """The stage a contact moves to in these decisions, if any."""
    for transition in decisions.transitions:
        if transition.contact_id == contact_id:
            return transition.to_stage
    return None
