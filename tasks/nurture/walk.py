"""One enrollment walked forward as far as `as_of` allows (pure).

Only enrollments that move this hour get here (due, finished, exiting, or new): waits
count from the actual send time of the email before them, branches look only at what is
known at `as_of`, and a send step asks the send-time gate (consent, suppression, window,
frequency cap) at `as_of`. A held email keeps its step and waits for the next allowed
slot, computed here.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from models.messages import HARD_BOUNCE_PREFIX
from models.nurture_rules import END, Condition, NurtureRules, Program
from tasks.nurture.decisions import EnrollmentState, HistoryEntry, PlannedEmail, Suppression
from tasks.nurture.facts import Lookups, stamp, text
from tasks.nurture.frames import COMPLETED, EXITED, FAILED, SENT, email_id
from tasks.nurture.timing import cap_frees_at, contact_zone, next_allowed_send, next_send_slot


def _due(clock: datetime, as_of: datetime) -> bool:
    # Runs are hourly: a step due at 00:00:03 (a send at 00:00:03 + 5 days) belongs to
    # the 00:00 run, not the next one.
    return clock.replace(minute=0, second=0, microsecond=0) <= as_of


@dataclass
class Walk:
    """One enrollment being moved forward inside a decide call."""

    state: EnrollmentState
    history: list[HistoryEntry] = field(default_factory=list)
    emails: list[PlannedEmail] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)

    def log(self, at: datetime, action: Any, step: str | None, detail: str | None = None) -> None:
        """Add a history line for this enrollment."""
        self.history.append(
            HistoryEntry(self.state.enrollment_key, self.state.contact_id, at, action, step, detail)
        )

    def move(self, **changes: Any) -> None:
        """Replace fields of the enrollment's state."""
        values = {**self.state.__dict__, **changes}
        self.state = EnrollmentState(**values)


class Walker:
    """Moves enrollments forward over shared lookups (a queued email counts at once)."""

    def __init__(
        self, facts: Lookups, *, rules: NurtureRules, as_of: datetime, business_timezone: str
    ) -> None:
        self.facts = facts
        self.rules = rules
        self.as_of = as_of
        self.business_timezone = business_timezone
        # The first window slot at or after as_of is the same for every contact of a zone.
        self._slots: dict[ZoneInfo, datetime] = {}

    # --- conditions -------------------------------------------------------------------

    def _email_events(self, contact_id: int, key: str, types: tuple[str, ...]) -> bool:
        return any(e["type"] in types and e["detail"] == key for e in self.facts.events[contact_id])

    def condition_holds(self, condition: Condition, walk: Walk) -> bool:
        """Evaluate a branch condition on what is known at as_of."""
        state = walk.state
        contact = self.facts.contacts.get(state.contact_id, {})
        if condition.opened is not None:
            key = email_id(state.enrollment_key, condition.opened)
            return self._email_events(state.contact_id, key, ("email_open", "email_click"))
        if condition.clicked is not None:
            key = email_id(state.enrollment_key, condition.clicked)
            return self._email_events(state.contact_id, key, ("email_click",))
        if condition.score_at_least is not None:
            score = contact.get("score")
            return score is not None and not pd.isna(score) and score >= condition.score_at_least
        if condition.stage_in is not None:
            return contact.get("lifecycle_stage") in condition.stage_in
        forms = condition.form_submitted or []
        return any(
            e["type"] == "form_submit"
            and e["detail"] in forms
            and stamp(e["occurred_at"]) >= state.entered_at  # type: ignore[operator]
            for e in self.facts.events[state.contact_id]
        )

    # --- send gate --------------------------------------------------------------------

    def _locale(self, contact: dict[str, Any]) -> str:
        zone = text(contact.get("timezone"))
        if zone and zone != self.business_timezone:
            return self.rules.foreign_timezone_locale
        return self.rules.default_locale

    def _first_slot(self, zone: ZoneInfo) -> datetime:
        slot = self._slots.get(zone)
        if slot is None:
            slot = next_send_slot(self.as_of, zone=zone, window=self.rules.send_window)
            self._slots[zone] = slot
        return slot

    def send_gate(self, contact_id: int) -> tuple[str, datetime | None, str]:
        """('send'|'hold'|'block', hold-until, reason) for a send at as_of."""
        suppressed = self.facts.suppressed.get(contact_id)
        if suppressed is not None:
            return "block", None, suppressed
        contact = self.facts.contacts.get(contact_id)
        if contact is None:
            return "block", None, "contact_gone"
        if not bool(contact["consent"]):
            return "block", None, "no_consent"
        zone = contact_zone(text(contact.get("timezone")) or None, self.business_timezone)
        sent = self.facts.sent_times[contact_id]
        first = self._first_slot(zone)
        slot = first
        if cap_frees_at(sent, at=first, cap=self.rules.frequency_cap) is not None:
            slot = next_allowed_send(
                at=self.as_of,
                sent=sent,
                zone=zone,
                window=self.rules.send_window,
                cap=self.rules.frequency_cap,
            )
        if slot <= self.as_of:
            return "send", None, ""
        return "hold", slot, "frequency cap" if first == self.as_of else "outside send window"

    # --- the walk ---------------------------------------------------------------------

    def walk(self, program: Program, walk: Walk) -> None:
        """Move one active enrollment forward as far as as_of allows."""
        as_of = self.as_of
        for _ in range(2 * len(program.steps) + 2):
            state = walk.state
            step_id = state.step
            if step_id is None or step_id == END:
                walk.move(status=COMPLETED, step=None, next_step_at=None)
                walk.log(as_of, "completed", None)
                return
            clock = state.next_step_at or as_of
            if not _due(clock, as_of):
                return
            step = program.step(step_id)
            if step.wait is not None:
                walk.move(step=program.successors(step_id)[0], next_step_at=clock + step.wait.delta)
                continue
            if step.branch is not None:
                holds = self.condition_holds(step.branch.condition, walk)
                target = step.branch.then if holds else step.branch.otherwise
                walk.log(as_of, "branch", step_id, f"{'yes' if holds else 'no'} → {target}")
                walk.move(step=target, next_step_at=clock)
                continue
            if not self._send(program, walk, step_id):
                return
        raise RuntimeError(f"{walk.state.enrollment_key}: the walk did not settle")

    def _send(self, program: Program, walk: Walk, step_id: str) -> bool:
        """Handle a due send step; True when the walk may continue to the next step."""
        state = walk.state
        key = email_id(state.enrollment_key, step_id)
        existing = self.facts.sends.get(key)
        if existing is not None:
            return self._known_send(program, walk, step_id, existing)
        verdict, until, reason = self.send_gate(state.contact_id)
        if verdict == "block":
            self.exit(walk, reason, step_id)
            return False
        if verdict == "hold":
            walk.log(self.as_of, "held", step_id, f"{reason}; next slot {until:%Y-%m-%dT%H:%MZ}")
            walk.move(next_step_at=until)
            return False
        contact = self.facts.contacts[state.contact_id]
        walk.emails.append(
            PlannedEmail(
                email_id=key,
                enrollment_key=state.enrollment_key,
                contact_id=state.contact_id,
                program=program.name,
                step=step_id,
                template=program.template_name(step_id),
                locale=self._locale(contact),
                to=str(contact["email"]),
                first_name=text(contact.get("first_name")),
                last_name=text(contact.get("last_name")),
                company=text(contact.get("company_name")),
                timezone=text(contact.get("timezone")) or self.business_timezone,
            )
        )
        self.facts.sent_times[state.contact_id].append(self.as_of)
        walk.log(self.as_of, "queued", step_id, key)
        walk.move(next_step_at=self.as_of)
        return False

    def _known_send(
        self, program: Program, walk: Walk, step_id: str, existing: dict[str, Any]
    ) -> bool:
        """A send step whose email exists: continue once sent, exit when it failed."""
        state = walk.state
        status = existing["status"]
        sent_at = stamp(existing["sent_at"])
        if status == SENT and sent_at is not None and sent_at <= self.as_of:
            walk.log(sent_at, "sent", step_id)
            walk.move(
                step=program.successors(step_id)[0], next_step_at=sent_at, last_sent_at=sent_at
            )
            return True
        if status == FAILED:
            error = text(existing["last_error"])
            reason = "bounced" if error.startswith(HARD_BOUNCE_PREFIX) else "send_failed"
            if reason == "bounced":
                contact = self.facts.contacts.get(state.contact_id, {})
                walk.suppressions.append(
                    Suppression(
                        state.contact_id, text(contact.get("email")), "bounced", "smtp", error[:500]
                    )
                )
            self.exit(walk, reason, step_id)
        return False

    def exit(self, walk: Walk, reason: str, step_id: str | None) -> None:
        """Leave the program now, for `reason`."""
        walk.move(status=EXITED, exit_reason=reason, next_step_at=None)
        walk.log(self.as_of, "exited", step_id, reason)
