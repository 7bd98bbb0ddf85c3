"""Lifecycle rules that hold everywhere: which stage moves are allowed, for which kind."""

from enum import StrEnum

from models.enums import STAGE_ORDER, Stage


class TransitionKind(StrEnum):
    """Why a move is allowed: the only backward paths are recycle and re-nurture."""

    FORWARD = "forward"
    DISQUALIFY = "disqualify"
    RECYCLE = "recycle"
    RENURTURE = "renurture"


class InvalidTransition(ValueError):
    """A move that the lifecycle does not allow for its kind."""


_FUNNEL = {stage for stage, rank in STAGE_ORDER.items() if rank >= 0}
# Once a deal exists the contact is past qualification: it can no longer be disqualified.
_DISQUALIFIABLE = {Stage.SUBSCRIBER, Stage.LEAD, Stage.MQL, Stage.SQL, Stage.LOST_RENURTURE}


def known_stage(value: str | Stage | None) -> Stage | None:
    """The stage a stored value names, or None for no stage or a custom portal stage."""
    if value is None:
        return None
    try:
        return Stage(value)
    except ValueError:
        return None


def is_allowed(from_stage: str | Stage | None, to_stage: str | Stage, kind: TransitionKind) -> bool:
    """Whether moving `from_stage` → `to_stage` is allowed for `kind`.

    forward: into a later funnel stage (a disqualified contact never moves forward);
    disqualify: to `other`, before a deal exists; recycle: back to an earlier funnel
    stage, or out of `other`/`lost_renurture`; renurture: to `lost_renurture`.
    A contact without a (known) stage may enter any stage.
    """
    source = known_stage(from_stage)
    target = Stage(to_stage)
    if source == target:
        return False
    if source is None:
        return True
    if kind is TransitionKind.FORWARD:
        return (
            target in _FUNNEL
            and source is not Stage.OTHER
            and STAGE_ORDER[target] > STAGE_ORDER[source]
        )
    if kind is TransitionKind.DISQUALIFY:
        return target is Stage.OTHER and source in _DISQUALIFIABLE
    if kind is TransitionKind.RECYCLE:
        return target in _FUNNEL and (
            source not in _FUNNEL or STAGE_ORDER[target] < STAGE_ORDER[source]
        )
    return target is Stage.LOST_RENURTURE
