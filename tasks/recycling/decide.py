"""Deciding lead recycling (pure): which leads go back to marketing, and who is reminded.

Four rules, each over facts at or before `as_of`:

1. unreachable — a contact in mql/sql with status new or attempting and at least
   `recycling.unreachable_after_attempts` unreachable outcomes since its latest hand-off
   (and since its latest connecting outcome) → status recycle; the status writer moves
   the lifecycle back to lead and hands the owner to marketing;
2. statuses set without their lifecycle move (imports) — `recycle` in mql/sql → back to
   lead with the status' reason; `unqualified` → other;
3. lost deals — a deal lost at or before `as_of` → its contact to lost_renurture, unless
   it moved there (or anywhere) since the deal closed, or is a customer (a lost upsell);
4. retry dates — a contact at `retry` whose re-approach date is today (business time
   zone) and due → a reminder to its owner, once per contact and date.

A move is stamped with the instant of the fact that caused it (the N-th unreachable call,
the recycle status, the deal's close) when that is after the contact's latest stage and
status change, else with `as_of`: a history import recycles old leads at their real
dates, so nurture programs (which look back `within_days`) never mail the back catalogue.
"""

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, tzinfo

import pandas as pd

from models.deal_rules import DEFAULT_DEAL_RULES
from models.enums import ActivityOutcome, LeadStatus, Stage
from models.lifecycle import TransitionKind, is_allowed
from models.rules import Rules
from tasks.recycling.decisions import RECYCLE_REASON, RecyclingDecisions
from tasks.recycling.frames import RecyclingFrames
from tasks.recycling.retries import retry_reminders
from tasks.recycling.schemas import checked_frames, source_of
from tasks.recycling.timeline import (
    contacts_by_id,
    instants,
    latest_status_rows,
    ordered_until,
    stage_keys,
    stamps,
    texts,
)
from tasks.status.decide import (
    InvalidStatusMove,
    StatusChange,
    decide_status_change,
    lifecycle_moves,
)
from tasks.transitions import Transition

SOURCE = "recycling"
# The default pipeline's lost outcome and its aliases (HubSpot's closedlost), compared
# case-insensitively; `decide_recycling` reads the rules' own (`rules.deals`).
LOST_DEAL_STAGES = DEFAULT_DEAL_RULES.lost_names()
LOST_DEAL_REASON = "deal lost"
UNQUALIFIED_REASON = "unqualified"
LOST_DEAL_RULE = "recycling:lost_deal"
# Stages inside sales' hands: where a lead status means work in progress.
SALES_STAGES = (Stage.MQL.value, Stage.SQL.value)
UNREACHABLE_STATUSES = (LeadStatus.NEW.value, LeadStatus.ATTEMPTING.value)
# A customer's lost upsell is not a lost lead: it stays with customer success.
KEPT_ON_LOST_DEAL = (Stage.CUSTOMER.value, Stage.EVANGELIST.value)


def decide_recycling(
    frames: RecyclingFrames,
    *,
    rules: Rules,
    as_of: datetime,
    tz: tzinfo,
    max_bad_row_share: float = 1.0,
) -> RecyclingDecisions:
    """Recycles, disqualifications, re-nurtures and retry reminders at `as_of` (pure).

    `tz` is the business time zone: a retry date is due on its local calendar day. At
    most one move per contact; the rules are tried in the order above. Rows failing
    `tasks.recycling.schemas` are quarantined and the rest decided; more than
    `max_bad_row_share` of them raises `TooManyBadRows`.
    """
    frames, rejected = checked_frames(frames, max_bad_row_share=max_bad_row_share)
    bad_owners = {r.row_number for r in rejected if r.source == source_of("owners")}
    contacts = contacts_by_id(frames.contacts)
    history = ordered_until(frames.statuses, "at", as_of)
    contacts["status_since"] = history.groupby("_contact")["_at"].max().reindex(contacts.index)
    recycles = _unreachable(contacts, frames.activities, rules=rules, as_of=as_of)
    taken = {c.contact_id for c in recycles}
    transitions = _status_moves(contacts, history, rules=rules, as_of=as_of, taken=taken)
    taken |= {t.contact_id for t in transitions}
    transitions += _lost_deals(
        contacts, frames.deals, as_of=as_of, taken=taken, lost_stages=rules.deals.lost_names()
    )
    reminders, unowned = retry_reminders(
        contacts, history, as_of=as_of, tz=tz, bad_owners=bad_owners
    )
    return RecyclingDecisions(
        as_of=as_of, recycles=recycles, transitions=transitions, reminders=reminders,
        unowned_retries=unowned, quarantined=rejected,
    )


def stamp(
    fact_at: datetime | None, *, after: Iterable[datetime | None], as_of: datetime
) -> datetime:
    """When a move happens: at its fact if that is at or before `as_of` and not before
    any of `after` (the contact's latest changes), else at `as_of`."""
    floor = max((t for t in after if t is not None), default=None)
    if fact_at is None or fact_at > as_of or (floor is not None and fact_at < floor):
        return as_of
    return fact_at


def _unreachable(
    contacts: pd.DataFrame, activities: pd.DataFrame, *, rules: Rules, as_of: datetime
) -> list[StatusChange]:
    recycling = rules.recycling
    unreachable = [o.value for o in recycling.unreachable_outcomes]
    connecting = [
        o.value for o in ActivityOutcome
        if o.value not in unreachable
        and rules.lead_status.activity_outcomes.get(o) is not LeadStatus.ATTEMPTING
    ]
    candidates = contacts[
        contacts["lifecycle_stage"].isin(SALES_STAGES)
        & contacts["lead_status"].isin(UNREACHABLE_STATUSES)
    ]
    touches = ordered_until(
        activities[activities["contact_id"].astype("int64").isin(candidates.index)],
        "occurred_at", as_of,
    )
    handoff = candidates["handoff_at_utc"].reindex(touches["_contact"]).to_numpy()
    touches = touches[(pd.isna(handoff) | (touches["_at"].to_numpy() >= handoff))]
    # A connecting touch starts a new streak: only the streak after the last one counts,
    # and it recycles at its N-th unreachable touch.
    streak = touches["outcome"].isin(connecting).astype(int).groupby(touches["_contact"]).cumsum()
    last = streak.groupby(touches["_contact"]).transform("max")
    missed = touches[((streak == last) & touches["outcome"].isin(unreachable)).to_numpy()]
    nth = missed.groupby("_contact").cumcount() + 1
    reached = missed[(nth == recycling.unreachable_after_attempts).to_numpy()].set_index(
        "_contact"
    )
    moved = candidates.loc[reached.index]
    at = stamps(
        reached["_at"], reached["occurred_at"],
        after=[moved["handoff_at_utc"], moved["last_stage_at_utc"], moved["status_since"]],
        as_of=as_of,
    )
    # Whether the rules let a status recycle depends on the status alone: ask once each.
    allowed = {
        status: _may_recycle(status, rules, as_of) for status in moved["lead_status"].unique()
    }
    return [
        StatusChange(
            contact_id=int(contact_id), from_status=status, to_status=LeadStatus.RECYCLE,
            at=when, source=SOURCE, reason=recycling.unreachable_reason,
        )
        for contact_id, status, when in zip(moved.index, moved["lead_status"], at, strict=True)
        if allowed[status]
    ]


def _may_recycle(status: str, rules: Rules, as_of: datetime) -> bool:
    try:
        decide_status_change(
            contact_id=0, current=status, to_status=LeadStatus.RECYCLE,
            at=as_of, source=SOURCE, rules=rules.lead_status,
            reason=rules.recycling.unreachable_reason,
        )
    except InvalidStatusMove:
        # The rules forbid recycling from this status: leave the lead with sales.
        return False
    return True


def _status_moves(
    contacts: pd.DataFrame,
    history: pd.DataFrame,
    *,
    rules: Rules,
    as_of: datetime,
    taken: set[int],
) -> list[Transition]:
    wanted = {
        LeadStatus.RECYCLE.value: RECYCLE_REASON,
        LeadStatus.UNQUALIFIED.value: UNQUALIFIED_REASON,
    }
    status = contacts["lead_status"]
    chosen = contacts[
        ~contacts.index.isin(list(taken))
        & (
            ((status == LeadStatus.RECYCLE.value) & contacts["lifecycle_stage"].isin(SALES_STAGES))
            | (status == LeadStatus.UNQUALIFIED.value)
        ).fillna(False).astype(bool)
    ].copy()
    set_by = pd.concat(
        [
            latest_status_rows(history, value)
            .reindex(chosen.index[(chosen["lead_status"] == value).to_numpy()])
            for value in wanted
        ]
    ).reindex(chosen.index)
    at = stamps(
        set_by["_at"], set_by["at"],
        after=[chosen["last_stage_at_utc"], chosen["status_since"]], as_of=as_of,
    )
    reasons = texts(set_by["reason"])
    # The lifecycle move a status brings depends on (stage, status) alone: decide it once
    # per pair, then date and explain it per contact.
    keys = list(zip(stage_keys(chosen["lifecycle_stage"]), chosen["lead_status"], strict=True))
    moves = {
        (stage, value): lifecycle_moves(
            [StatusChange(contact_id=0, from_status=value, to_status=LeadStatus(value),
                          at=as_of, source=SOURCE)],
            {0: stage}, rules.lead_status,
        )
        for stage, value in set(keys)
    }
    return [
        replace(move, contact_id=int(contact_id), from_stage=stage, at=when,
                reason=reason or wanted[key[1]])
        for contact_id, stage, key, when, reason in zip(
            chosen.index, chosen["lifecycle_stage"], keys, at, reasons, strict=True,
        )
        for move in moves[key]
    ]


def _lost_deals(
    contacts: pd.DataFrame,
    deals: pd.DataFrame,
    *,
    as_of: datetime,
    taken: set[int],
    lost_stages: tuple[str, ...],
) -> list[Transition]:
    closed = instants(deals["closed_at"])
    lost = deals.assign(_closed=closed)[
        (
            deals["stage"].astype(str).str.strip().str.lower().isin(list(lost_stages))
            & closed.notna() & (closed <= pd.Timestamp(as_of)) & deals["contact_id"].notna()
        ).to_numpy(dtype=bool)
    ]
    # The latest lost deal of a contact speaks for it; a contact already decided, gone,
    # kept by customer success or moved since that deal closed is left alone.
    lost = lost.assign(_contact=lost["contact_id"].astype("int64"), _deal=lost["deal_id"])
    lost = lost.sort_values(["_closed", "_deal"], ascending=False, kind="stable")
    lost = lost.drop_duplicates("_contact", keep="first")
    lost = lost[lost["_contact"].isin(contacts.index) & ~lost["_contact"].isin(list(taken))]
    contact = contacts.loc[lost["_contact"]]
    renurtured = contact["renurtured_at_utc"].to_numpy()
    moved_on = contact["last_stage_at_utc"].to_numpy()
    deal_closed = lost["_closed"].to_numpy()
    keep = (
        ~contact["lifecycle_stage"].isin(KEPT_ON_LOST_DEAL).to_numpy(dtype=bool)
        & ~(pd.notna(renurtured) & (renurtured >= deal_closed))
        & ~(pd.notna(moved_on) & (moved_on > deal_closed))
    )
    lost, contact = lost[keep], contact[keep]
    at = stamps(
        lost["_closed"].set_axis(contact.index), lost["closed_at"].set_axis(contact.index),
        after=[contact["last_stage_at_utc"], contact["status_since"]], as_of=as_of,
    )
    allowed = {
        stage: is_allowed(stage, Stage.LOST_RENURTURE, TransitionKind.RENURTURE)
        for stage in set(stage_keys(contact["lifecycle_stage"]))
    }
    moved = [
        Transition(
            contact_id=int(contact_id), from_stage=stage, to_stage=Stage.LOST_RENURTURE,
            at=when, rule=LOST_DEAL_RULE, kind=TransitionKind.RENURTURE,
            reason=reason or LOST_DEAL_REASON,
        )
        for contact_id, stage, key, when, reason in zip(
            contact.index, contact["lifecycle_stage"], stage_keys(contact["lifecycle_stage"]),
            at, texts(lost["lost_reason"]), strict=True,
        )
        if allowed[key]
    ]
    taken.update(int(c) for c in contact.index)
    return moved
