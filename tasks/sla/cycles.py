"""Hand-offs and MQL cycles (pure): when sales starts owing a lead, and when that ends.

A hand-off is a stage-history row entering mql, or entering sql/opportunity from a
stage before mql (a demo request skips mql and still owes a first touch), whatever its
kind (`import` rows of `leadflow import contacts` too). The n-th hand-off of a contact
opens its cycle n, which ends at the contact's next hand-off or at its next recycle /
disqualify / re-nurture move (an imported move out of the funnel or back before mql
counts as one); the SLA clocks of a cycle that are not satisfied by then close then.
"""

import numpy as np
import pandas as pd

from models.enums import Stage
from models.lifecycle import TransitionKind
from tasks.sla.timelines import NAT, NEVER, Timeline, instants

# Stages sales is handed a lead into; entering sql/opportunity counts only from before mql.
HANDOFF_STAGE = Stage.MQL.value
DIRECT_HANDOFF_STAGES = (Stage.SQL.value, Stage.OPPORTUNITY.value)
# Known stages at or past mql (or outside the funnel): moving on from them is no hand-off.
NOT_BEFORE_MQL = tuple(
    s.value for s in Stage if s not in (Stage.SUBSCRIBER, Stage.LEAD)
)
ENDING_KINDS = (
    TransitionKind.RECYCLE.value,
    TransitionKind.DISQUALIFY.value,
    TransitionKind.RENURTURE.value,
)
# The kind of the stage-history rows `leadflow import contacts` writes: moves as HubSpot
# recorded them, forward or not.
IMPORT_KIND = "import"
# Kinds whose move into a decided stage is the SQL decision.
DECIDING_KINDS = (TransitionKind.FORWARD.value, IMPORT_KIND)
# An imported move into one of these took the lead away from sales: its cycle ends.
IMPORT_ENDING_STAGES = (
    Stage.SUBSCRIBER.value, Stage.LEAD.value, Stage.OTHER.value, Stage.LOST_RENURTURE.value,
)
# A forward (or imported) move into one of these decides the lead for sales.
DECIDED_STAGES = (
    Stage.SQL.value, Stage.OPPORTUNITY.value, Stage.CUSTOMER.value, Stage.EVANGELIST.value,
)


def is_handoff(from_stage: str | None, to_stage: str) -> bool:
    """Whether a move `from_stage` → `to_stage` hands the lead to sales."""
    if to_stage == HANDOFF_STAGE:
        return True
    return to_stage in DIRECT_HANDOFF_STAGES and (
        from_stage is None or from_stage not in NOT_BEFORE_MQL
    )


def handoff_rows(stages: pd.DataFrame) -> np.ndarray:
    """Which stage-history rows are hand-offs (`is_handoff`, row by row)."""
    to_stage, from_stage = stages["to_stage"], stages["from_stage"]
    direct = to_stage.isin(DIRECT_HANDOFF_STAGES) & (
        from_stage.isna() | ~from_stage.isin(NOT_BEFORE_MQL)
    )
    return np.asarray((to_stage == HANDOFF_STAGE) | direct, dtype=bool)


def ending_rows(stages: pd.DataFrame) -> np.ndarray:
    """Which stage-history rows (not hand-offs) end the cycle they fall in."""
    kind = stages["kind"]
    return np.asarray(
        kind.isin(ENDING_KINDS) | ((kind == IMPORT_KIND) & stages["to_stage"].isin(
            IMPORT_ENDING_STAGES)),
        dtype=bool,
    )


def known_stages(stages: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """Stage-history rows at or before `as_of` (ns), `at` as ns, sorted by contact then
    instant (rows at the same instant keep their order)."""
    frame = pd.DataFrame({
        "contact_id": stages["contact_id"].to_numpy(dtype=np.int64),
        "from_stage": stages["from_stage"].to_numpy(dtype=object),
        "to_stage": stages["to_stage"].astype(str).to_numpy(dtype=object),
        "at": instants(stages["at"]),
        "kind": stages["kind"].astype(str).to_numpy(dtype=object),
    })
    frame["from_stage"] = frame["from_stage"].where(frame["from_stage"].notna(), None)
    frame = frame[frame["at"] <= as_of]
    return frame.sort_values(["contact_id", "at"], kind="stable", ignore_index=True)


def contact_cycles(known: pd.DataFrame) -> pd.DataFrame:
    """Every contact's cycles from its known stage history: contact_id, cycle (1, 2, …
    oldest first), started_at, to_stage, ended_at (ns; NEVER while open)."""
    handoff = handoff_rows(known)
    boundary = Timeline(known["contact_id"].to_numpy()[handoff | ending_rows(known)],
                        known["at"].to_numpy()[handoff | ending_rows(known)])
    starts = known[handoff]
    contacts = starts["contact_id"].to_numpy()
    started = starts["at"].to_numpy()
    ended = boundary.nth_from(contacts, started, after=True)
    return pd.DataFrame({
        "contact_id": contacts,
        "cycle": starts.groupby("contact_id").cumcount().to_numpy() + 1,
        "started_at": started,
        "to_stage": starts["to_stage"].to_numpy(),
        "ended_at": np.where(ended == NAT, NEVER, ended),
    })


def first_move(known: pd.DataFrame, mask: np.ndarray, contacts: np.ndarray,
               starts: np.ndarray, ends: np.ndarray, *, with_end: bool) -> np.ndarray:
    """The first known row in `mask` of each contact at/after its start and before its
    end (`with_end`: at/before it); NAT where there is none."""
    rows = Timeline(known["contact_id"].to_numpy()[mask], known["at"].to_numpy()[mask])
    first = rows.nth_from(contacts, starts)
    inside = (first <= ends) if with_end else (first < ends)
    return np.where((first != NAT) & inside, first, NAT)


def decided_rows(known: pd.DataFrame) -> np.ndarray:
    """Forward or imported moves into sql or beyond: the SQL decision."""
    return np.asarray(known["kind"].isin(DECIDING_KINDS) & known["to_stage"].isin(
        DECIDED_STAGES), dtype=bool)
