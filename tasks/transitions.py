"""Lifecycle stage transitions: which moves are allowed and deciding them (pure).

Every flow that moves a contact's stage goes through here: the promotion flow proposes
forward moves and disqualifications, a recycle flow proposes `kind="recycle"` moves, a
lost-deal flow `kind="renurture"`. `decide_transitions` keeps only allowed moves (first
proposal per contact wins); `tasks.stage_history.apply_transitions` writes them.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from models.enums import STAGE_ORDER, Stage
from models.lifecycle import InvalidTransition, TransitionKind, is_allowed, known_stage

__all__ = [
    "InvalidTransition",
    "Proposal",
    "Transition",
    "TransitionKind",
    "company_stage",
    "decide_transitions",
    "is_allowed",
    "kind_for",
]


def kind_for(to_stage: str | Stage) -> TransitionKind:
    """The kind a rule's move has by default: `other` disqualifies, anything else is forward."""
    return TransitionKind.DISQUALIFY if Stage(to_stage) is Stage.OTHER else TransitionKind.FORWARD


@dataclass(frozen=True)
class Proposal:
    """A rule's wish to move a contact; `decide_transitions` checks it against the lifecycle."""

    contact_id: int
    to_stage: Stage
    rule: str
    kind: TransitionKind = TransitionKind.FORWARD
    reason: str | None = None


@dataclass(frozen=True)
class Transition:
    """A decided stage move; (contact_id, to_stage, at) is its natural key."""

    contact_id: int
    from_stage: str | None
    to_stage: Stage
    at: datetime
    rule: str
    kind: TransitionKind = TransitionKind.FORWARD
    reason: str | None = None

    @property
    def key(self) -> str:
        """The natural key as text, for idempotency keys of side effects."""
        return f"{self.contact_id}:{self.to_stage.value}:{self.at.strftime('%Y%m%dT%H%M%SZ')}"


def decide_transitions(
    current_stages: Mapping[int, str | None],
    proposals: Iterable[Proposal],
    *,
    as_of: datetime,
) -> list[Transition]:
    """Turn proposals (in priority order) into at most one allowed transition per contact.

    Proposals for unknown contacts or moves the lifecycle forbids are dropped, so a
    customer whose score drops is never proposed back into the funnel.
    """
    decided: dict[int, Transition] = {}
    for proposal in proposals:
        if proposal.contact_id in decided or proposal.contact_id not in current_stages:
            continue
        source = current_stages[proposal.contact_id]
        if not is_allowed(source, proposal.to_stage, proposal.kind):
            continue
        decided[proposal.contact_id] = Transition(
            contact_id=proposal.contact_id,
            from_stage=source,
            to_stage=proposal.to_stage,
            at=as_of,
            rule=proposal.rule,
            kind=proposal.kind,
            reason=proposal.reason,
        )
    return list(decided.values())


def company_stage(stages: Iterable[str | None]) -> Stage | None:
    """The most advanced stage among a company's contacts (unknown stages ignored)."""
    known = [stage for stage in (known_stage(s) for s in stages) if stage is not None]
    if not known:
        return None
    return max(known, key=lambda stage: STAGE_ORDER[stage])
