"""What a dry run would apply, as one table: a row per decision, in words.

Pure: each step's decisions + the names of the people they mention, rows out; no I/O,
no clock, no Prefect. Every row has one shape — step, contact, decision, detail — so the
CLI prints the whole cycle as one table and the UI shows it as one table artifact:

    step       contact  decision                                detail
    scoring    42       score 35 → 52                           engagement 32 + fit 20; …
    promotion  42       lead → mql                              rule mql_score: …
    nurture    42       email new_lead/email_1                  template …, sends 2026-…
    sla        43       escalate first_touch level 2 → manager  via slack+email; owner …

Rows carry the contact's id; `as_records` puts the address beside it for people (the
CLI), while artifacts keep ids only (they carry no personal data).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import pandas as pd

from models.lifecycle import TransitionKind
from tasks.nurture.decide import NurtureDecisions
from tasks.promotion.decide import PromotionDecisions
from tasks.recycling.decisions import RecyclingDecisions
from tasks.sla.decisions import SlaDecisions

# The steps as the cycle names them (tasks.cycle.CycleStep's values).
SCORING, PROMOTION, RECYCLING, NURTURE, SLA = "scoring", "promotion", "recycling", "nurture", "sla"
TOP_SIGNALS = 3


@dataclass(frozen=True)
class DecisionRow:
    """One decision a run would apply: whose, what, and why (rule, reason, owner, times)."""

    step: str
    contact_id: int
    decision: str
    detail: str = ""


@dataclass(frozen=True)
class DecisionNames:
    """What the ids in decisions stand for, as far as they are known.

    `owners`: owner id → name (empty for artifacts: owners then show as `#7`);
    `previous_scores`: each scored contact's latest score before the hour.
    """

    owners: Mapping[int, str] = field(default_factory=dict)
    previous_scores: Mapping[int, int] = field(default_factory=dict)

    def owner(self, owner_id: int | None) -> str:
        """An owner as people read it: the name, else `#<id>`; `nobody` for None."""
        if owner_id is None:
            return "nobody"
        return self.owners.get(owner_id) or f"#{owner_id}"

    def without_owner_names(self) -> "DecisionNames":
        """The same names with owners as ids only: what artifacts show."""
        return DecisionNames(previous_scores=self.previous_scores)


class Reassigned(Protocol):
    """A lead the SLA ladder moves to another owner (tasks.sla.messages.Reassignment)."""

    @property
    def contact_id(self) -> int: ...
    @property
    def from_owner_id(self) -> int | None: ...
    @property
    def to_owner_id(self) -> int | None: ...
    @property
    def team(self) -> str: ...
    @property
    def reason(self) -> str: ...


def when(instant: datetime | None) -> str:
    """An instant in a row: UTC to the minute, e.g. `2026-11-20T03:00Z`."""
    return "-" if instant is None else f"{instant:%Y-%m-%dT%H:%MZ}"


def by_contact(step_rows: Iterable[DecisionRow]) -> list[DecisionRow]:
    """Rows grouped by contact (ids ascending), each contact's rows in decision order."""
    return sorted(step_rows, key=lambda row: row.contact_id)


def scoring_rows(changed: pd.DataFrame, names: DecisionNames) -> list[DecisionRow]:
    """A row per changed score: `score 35 → 52` (`–` when never scored), with its split
    and the signals that gave the most points."""
    rows = []
    for contact_id, engagement, fit, score, breakdown in zip(
        changed["contact_id"], changed["engagement_score"], changed["fit_score"],
        changed["score"], changed["breakdown"], strict=True,
    ):
        before = names.previous_scores.get(int(contact_id))
        detail = f"engagement {int(engagement)} + fit {int(fit)}"
        top = _top_signals(breakdown)
        rows.append(
            DecisionRow(
                SCORING, int(contact_id),
                f"score {'–' if before is None else before} → {int(score)}",
                f"{detail}; {top}" if top else detail,
            )
        )
    return by_contact(rows)


def _top_signals(breakdown: Any) -> str:
    signals = breakdown.get("signals", []) if isinstance(breakdown, Mapping) else []
    paid = sorted(signals, key=lambda s: (-int(s.get("points", 0)), str(s.get("signal"))))
    return ", ".join(f"{s.get('signal')} +{int(s.get('points', 0))}" for s in paid[:TOP_SIGNALS])


def promotion_rows(decisions: PromotionDecisions, names: DecisionNames) -> list[DecisionRow]:
    """Stage moves (`lead → mql`, with the rule), hot marks and owner assignments."""
    rows = [
        DecisionRow(
            PROMOTION, t.contact_id, _move(t.from_stage, t.to_stage.value),
            f"rule {t.rule}" + (f": {t.reason}" if t.reason and t.reason != t.rule else ""),
        )
        for t in decisions.transitions
    ]
    rows += [
        DecisionRow(PROMOTION, h.contact_id, "hot lead", f"score {h.score}: field sales now")
        for h in decisions.hot
    ]
    for a in decisions.assignments:
        decision = (
            f"assign owner {names.owner(a.owner_id)}" if a.owner_id is not None
            else "no owner: none active"
        )
        rows.append(DecisionRow(PROMOTION, a.contact_id, decision, f"team {a.team}; {a.reason}"))
    return by_contact(rows)


def recycling_rows(decisions: RecyclingDecisions, names: DecisionNames) -> list[DecisionRow]:
    """Recycles (`recycle: unreachable`), disqualifications, re-nurtures and reminders."""
    rows = [
        DecisionRow(
            RECYCLING, c.contact_id, f"recycle: {c.reason or 'recycle'}",
            f"lead status {c.from_status or '-'} → recycle; back to lead, owner to marketing",
        )
        for c in decisions.recycles
    ]
    for t in decisions.transitions:
        move = _move(t.from_stage, t.to_stage.value)
        if t.kind is TransitionKind.RECYCLE:
            rows.append(DecisionRow(RECYCLING, t.contact_id, f"recycle: {t.reason or 'recycle'}",
                                    f"{move} (rule {t.rule})"))
        else:
            rows.append(DecisionRow(RECYCLING, t.contact_id, move,
                                    f"{t.kind.value}: {t.reason or t.rule}"))
    rows += [
        DecisionRow(
            RECYCLING, r.contact_id, f"retry reminder → {names.owner(r.owner_id)}",
            f"re-approach date {when(r.retry_at)}; Slack DM + email",
        )
        for r in decisions.reminders
    ]
    return by_contact(rows)


def nurture_rows(decisions: NurtureDecisions) -> list[DecisionRow]:
    """Enrollments, emails to send (`email welcome/1`, with template and send time),
    holds (with the next slot), branches, exits, completions and suppressions."""
    planned = {email.email_id: email for email in decisions.emails}
    rows = []
    for entry in decisions.history:
        program = entry.enrollment_key.split(":", 1)[0]
        at_step = f"{program}/{entry.step}"
        if entry.action == "entered":
            row = (f"enrol {program}", f"trigger {entry.detail or '-'}")
        elif entry.action == "queued":
            email = planned.get(entry.detail or "")
            template = f"template {email.template} ({email.locale}), " if email else ""
            row = (f"email {at_step}", f"{template}sends {when(entry.at)}")
        elif entry.action == "held":
            row = (f"hold email {at_step}", entry.detail or "")
        elif entry.action == "branch":
            row = (f"branch {at_step}", entry.detail or "")
        elif entry.action == "exited":
            row = (f"exit {program}", f"{entry.detail or '-'} at step {entry.step or '-'}")
        elif entry.action == "completed":
            row = (f"complete {program}", "every step done")
        else:
            # `sent`: an earlier send recorded on its enrollment; nothing new goes out.
            continue
        rows.append(DecisionRow(NURTURE, entry.contact_id, *row))
    rows += [
        DecisionRow(NURTURE, s.contact_id, f"suppress: {s.reason}", f"seen by {s.source}")
        for s in decisions.suppressions
    ]
    return by_contact(rows)


def sla_rows(
    decisions: SlaDecisions, reassignments: Sequence[Reassigned], names: DecisionNames
) -> list[DecisionRow]:
    """Clocks opened, met, breached and closed; escalations
    (`escalate first_touch level 2 → manager`); reassignments; follow-up tasks."""
    rows = []
    for c in decisions.clocks:
        for happened, decision, detail in (
            (c.opened, f"open SLA clock {c.policy}",
             f"due {when(c.due_at)}; owner {names.owner(c.owner_id)}"),
            (c.satisfied, f"SLA {c.policy} met", f"at {when(c.satisfied_at)}"),
            # The clock keeps the owner it opened with; escalations name today's.
            (c.breached, f"SLA {c.policy} breached", f"was due {when(c.due_at)}"),
            (c.closed, f"close SLA clock {c.policy}", f"cycle ended {when(c.closed_at)}"),
        ):
            if happened:
                rows.append(DecisionRow(SLA, c.contact_id, decision, detail))
    for e in decisions.escalations:
        action = ", reassign" if e.action == "reassign" else ""
        needed = f" of {e.touches_needed}" if e.touches_needed is not None else ""
        rows.append(
            DecisionRow(
                SLA, e.contact_id,
                f"escalate {e.policy} level {e.level} → {'+'.join(e.notify)}{action}",
                f"via {'+'.join(e.via)}; owner {names.owner(e.owner_id)}; level due "
                f"{when(e.due_at)}; {e.touches}{needed} touches"
                + (f"; {e.detail}" if e.detail else ""),
            )
        )
    rows += [
        DecisionRow(
            SLA, r.contact_id, f"reassign → {names.owner(r.to_owner_id)}",
            f"from {names.owner(r.from_owner_id)}; team {r.team}; {r.reason}",
        )
        for r in reassignments
    ]
    for t in decisions.follow_ups:
        if t.opened:
            rows.append(DecisionRow(SLA, t.contact_id, f"follow-up task day {t.day}",
                                    f"due {when(t.due_at)}; owner {names.owner(t.owner_id)}"))
        elif t.done_at is not None:
            rows.append(DecisionRow(SLA, t.contact_id, f"follow-up day {t.day} done",
                                    f"touch at {when(t.done_at)}"))
    return by_contact(rows)


def _move(from_stage: str | None, to_stage: str) -> str:
    return f"{from_stage or '-'} → {to_stage}"


def as_records(
    rows: Iterable[DecisionRow],
    *,
    emails: Mapping[int, str] | None = None,
    as_of: datetime | None = None,
) -> list[dict[str, object]]:
    """Rows as JSON-ready dicts: `step, contact_id, decision, detail`, plus `contact` (the
    address) when `emails` is given and `as_of` (ISO, UTC) first when given."""
    records = []
    for row in rows:
        record: dict[str, object] = {} if as_of is None else {"as_of": as_of.isoformat()}
        record["step"] = row.step
        if emails is not None:
            record["contact"] = emails.get(row.contact_id) or f"contact {row.contact_id}"
        record.update(contact_id=row.contact_id, decision=row.decision, detail=row.detail)
        records.append(record)
    return records
