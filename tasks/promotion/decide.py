"""Decide beat of promotion: transitions, hot leads and owner assignments as data.

Pure: frames + rules + as_of in, `PromotionDecisions` out; no I/O, no clock, no Prefect.
"""

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from models.enums import Stage
from models.lifecycle import TransitionKind, is_allowed
from models.promotion_rules import TransitionRule
from models.promotion_schemas import promotion_contacts_schema, transitions_schema
from models.rules import Rules
from tasks.promotion.assignment import Assignment, decide_assignments, late_frame
from tasks.promotion.matching import held_back_from_score, rule_matches, text_cells
from tasks.transitions import Transition, kind_for
from tasks.validation import QuarantineRecord, check_bad_row_share, split_valid_rows

STAGES = {stage.value: stage for stage in Stage}
KINDS = {kind.value: kind for kind in TransitionKind}
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


def _stages(contacts: pd.DataFrame) -> pd.Series:
    """Each candidate's stage (None when not text), indexed by contact id."""
    stages = contacts["lifecycle_stage"].astype(object)
    return pd.Series(
        stages.where(text_cells(stages), None).to_numpy(),
        index=contacts["contact_id"].astype(int).to_numpy(), dtype=object,
    )


def _proposals(
    rules: Rules, contacts: pd.DataFrame, events: pd.DataFrame, held: set[int]
) -> pd.DataFrame:
    """Every rule's matches in priority order (rule order, then contact id)."""
    thresholds = {"mql": rules.scoring.thresholds.mql, "hot": rules.scoring.thresholds.hot}
    parts = []
    for order, rule in enumerate(rules.promotion.transitions):
        matched = rule_matches(
            rule, contacts=contacts, events=events, thresholds=thresholds, held=held
        )
        parts.append(
            pd.DataFrame(
                {
                    "contact_id": np.array(sorted(matched), dtype=np.int64),
                    "order": order,
                    "to_stage": rule.to.value,
                    "kind": kind_for(rule.to).value,
                    "rule": rule.name,
                    "reason": _describe(rule),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def decide_moves(proposals: pd.DataFrame, stages: pd.Series) -> pd.DataFrame:
    """`decide_transitions` over frames: each known contact's first allowed proposal.

    `proposals` in priority order; `stages`: contact id → current stage. Adds
    `from_stage`; keeps the priority order.
    """
    known = proposals[proposals["contact_id"].isin(stages.index)]
    known = known.assign(from_stage=stages.reindex(known["contact_id"]).to_numpy())
    columns = ["from_stage", "to_stage", "kind"]
    triples = known[columns].drop_duplicates()
    # The lifecycle check once per distinct (from, to, kind), not per proposal.
    triples["allowed"] = [
        is_allowed(source, target, TransitionKind(kind))
        for source, target, kind in triples.itertuples(index=False)
    ]
    checked = known.merge(triples, on=columns, how="left", validate="many_to_one")
    source = checked["from_stage"].astype(object)
    checked["from_stage"] = source.where(source.notna(), None)
    return checked[checked["allowed"].astype(bool)].drop(columns="allowed").drop_duplicates(
        "contact_id", keep="first"
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
    stages = _stages(contacts)
    held = held_back_from_score(
        contacts, cooldown_days=rules.promotion.recycle_cooldown_days, as_of=as_of
    )
    moves = decide_moves(_proposals(rules, contacts, inputs.events, held), stages)
    if len(moves):
        transitions_schema().validate(
            moves[["contact_id", "from_stage", "to_stage", "kind", "rule"]].reset_index(drop=True)
        )
    transitions = [
        Transition(
            contact_id=int(cid), from_stage=source, to_stage=STAGES[target], at=as_of,
            rule=rule, kind=KINDS[kind], reason=reason,
        )
        for cid, source, target, rule, kind, reason in zip(
            moves["contact_id"], moves["from_stage"], moves["to_stage"], moves["rule"],
            moves["kind"], moves["reason"], strict=True,
        )
    ]
    after = stages.copy()
    after.loc[moves["contact_id"].to_numpy()] = moves["to_stage"].to_numpy()
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
    late = late_frame(
        unowned.good,
        moved={int(cid) for cid in moves["contact_id"]},
        owner_teams=owner_teams,
        rules=rules,
        as_of=as_of,
    )
    assignments = decide_assignments(
        contacts=inputs.contacts,
        owners=inputs.owners,
        history=inputs.assignments,
        moves=moves[["contact_id", "to_stage", "rule"]],
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
    contacts: pd.DataFrame, stages: pd.Series, rules: Rules, *, as_of: datetime
) -> list[HotMark]:
    """Contacts at or above the hot line, not yet hot, in a hot stage after this hour's
    moves (`stages`: contact id → stage), in the candidates' order."""
    hot_stages = [stage.value for stage in rules.promotion.hot_stages]
    line = rules.scoring.thresholds.hot
    scores = pd.to_numeric(contacts["score"]).astype("Float64")
    in_stage = stages.reindex(contacts["contact_id"].astype(int)).isin(hot_stages).to_numpy()
    marked = (scores >= line).fillna(False).to_numpy(dtype=bool) & contacts["hot_at"].isna()
    chosen = contacts[marked.to_numpy() & in_stage]
    return [
        HotMark(contact_id=int(cid), at=as_of, score=int(score))
        for cid, score in zip(chosen["contact_id"], chosen["score"], strict=True)
    ]


def promoted_stage(decisions: PromotionDecisions, contact_id: int) -> Stage | None:
    """The stage a contact moves to in these decisions, if any."""
    for transition in decisions.transitions:
        if transition.contact_id == contact_id:
            return transition.to_stage
    return None
