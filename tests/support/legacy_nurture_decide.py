"""ORACLE ONLY: the pre-vectorisation nurture decide, kept only to check the new one.

This is a verbatim copy of tasks/nurture/decide.py (and of the send-time arithmetic of
tasks/nurture/timing.py it called) as they were before decide was rewritten over frames
(issue 13). The property tests in tests/unit/test_nurture_decide_equivalence.py assert
that `tasks.nurture.decide.decide_nurture` returns exactly what `decide_nurture` here
returns. Nothing in the project may import this module; do not "fix" it — it is the
reference behaviour.

The original module docstring follows.

Decide beat of nurture: frames + rules + as_of in, enrollment moves and emails out.

Pure: no I/O, no clock, no Prefect. Each active enrollment is checked for exits, then
walked forward as far as `as_of` allows: waits count from the actual send time of the
email before them, branches look only at what is known at `as_of`, and a send step asks
the send-time gate (consent, suppression, window, frequency cap) at `as_of`. A held
email keeps its step and waits for the next allowed slot, computed here.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import pandas as pd

from models.messages import HARD_BOUNCE_PREFIX
from models.nurture_rules import (
    END,
    WEEKDAYS,
    Condition,
    FrequencyCap,
    NurtureRules,
    Program,
    SendWindow,
)
from models.nurture_schemas import planned_emails_schema
from models.rules import Thresholds
from tasks.validation import QuarantineRecord, check_bad_row_share, split_valid_rows

ACTIVE = "active"
COMPLETED = "completed"
EXITED = "exited"
SENT = "sent"
FAILED = "failed"
QUARANTINE_SOURCE = "nurture:emails"

# --- verbatim copy of tasks/nurture/timing.py (definitions) ---

# A window that is open at least one weekday is reached within two weeks even across
# Golden Week; a year bounds the search for any valid window.
_SEARCH_DAYS = 370


@lru_cache(maxsize=16)
def _holiday_calendar(country: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country)


@lru_cache(maxsize=256)
def contact_zone(name: str | None, default: str) -> ZoneInfo:
    """The contact's time zone, or `default` when unset or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(default)


def is_send_day(day: date, window: SendWindow) -> bool:
    """Whether emails may go out on this local date (weekday allowed, not a public holiday)."""
    if WEEKDAYS[day.weekday()] not in window.weekdays:
        return False
    return not (window.skip_public_holidays and day in _holiday_calendar(window.holiday_country))


def next_send_slot(earliest: datetime, *, zone: ZoneInfo, window: SendWindow) -> datetime:
    """The first instant at or after `earliest` inside the send window of `zone`, in UTC."""
    local = earliest.astimezone(zone)
    for _ in range(_SEARCH_DAYS):
        day = local.date()
        if is_send_day(day, window):
            opens = datetime.combine(day, window.start, tzinfo=zone)
            closes = datetime.combine(day, window.end, tzinfo=zone)
            if local < opens:
                return opens.astimezone(UTC)
            if local < closes:
                return local.astimezone(UTC)
        local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    raise ValueError("the send window never opens")


def cap_frees_at(sent: Iterable[datetime], *, at: datetime, cap: FrequencyCap) -> datetime | None:
    """When one more email fits under the cap (None: it fits at `at` already).

    `sent` are the contact's marketing emails (sent or queued) at or before `at`.
    """
    period = timedelta(days=cap.days)
    recent = sorted(t for t in sent if at - period < t <= at)
    if len(recent) < cap.max_emails:
        return None
    # The window must lose len - max + 1 emails; the oldest of those leaves at +period.
    return recent[len(recent) - cap.max_emails] + period


def next_allowed_send(
    *,
    at: datetime,
    sent: Iterable[datetime],
    zone: ZoneInfo,
    window: SendWindow,
    cap: FrequencyCap,
) -> datetime:
    """The first instant ≥ `at` that is inside the window and under the frequency cap."""
    sent_times = list(sent)
    candidate = at
    for _ in range(_SEARCH_DAYS):
        candidate = next_send_slot(candidate, zone=zone, window=window)
        freed = cap_frees_at(sent_times, at=candidate, cap=cap)
        if freed is None:
            return candidate
        candidate = max(freed, candidate + timedelta(seconds=1))
    raise ValueError("no send slot found")

# --- end of the timing copy ---


CONTACT_COLUMNS = [
    "contact_id",
    "email",
    "first_name",
    "last_name",
    "company_name",
    "consent",
    "timezone",
    "lifecycle_stage",
    "score",
    "created_at",
    "updated_at",
]
ENROLLMENT_COLUMNS = [
    "enrollment_key",
    "contact_id",
    "program",
    "step",
    "status",
    "entered_at",
    "next_step_at",
    "last_sent_at",
    "exit_reason",
]
SEND_COLUMNS = [
    "email_id",
    "enrollment_key",
    "contact_id",
    "step",
    "queued_at",
    "status",
    "sent_at",
    "last_error",
]
EVENT_COLUMNS = ["contact_id", "type", "detail", "occurred_at"]
ACTIVITY_COLUMNS = ["contact_id", "outcome", "occurred_at"]
STAGE_ENTRY_COLUMNS = ["contact_id", "to_stage", "at", "kind"]
SUPPRESSION_COLUMNS = ["contact_id", "reason", "created_at"]
SNAPSHOT_COLUMNS = ["contact_id", "as_of", "score"]


@dataclass(frozen=True)
class NurtureFrames:
    """What the read beat loaded for one as_of (column lists above)."""

    contacts: pd.DataFrame
    enrollments: pd.DataFrame
    sends: pd.DataFrame
    events: pd.DataFrame
    activities: pd.DataFrame
    stage_entries: pd.DataFrame
    suppressions: pd.DataFrame
    snapshots: pd.DataFrame


@dataclass(frozen=True)
class EnrollmentState:
    """The desired row of one enrollment after this run (new or changed)."""

    enrollment_key: str
    contact_id: int
    program: str
    step: str | None
    status: str
    entered_at: datetime
    next_step_at: datetime | None
    last_sent_at: datetime | None
    exit_reason: str | None
    is_new: bool = False


@dataclass(frozen=True)
class PlannedEmail:
    """A marketing email to enqueue now; `email_id` is also the outbox idempotency key."""

    email_id: str
    enrollment_key: str
    contact_id: int
    program: str
    step: str
    template: str
    locale: str
    to: str
    first_name: str
    last_name: str
    company: str
    timezone: str

    def payload(self) -> dict[str, Any]:
        """The outbox payload the email sender renders from."""
        return {
            "email_id": self.email_id,
            "to": self.to,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "program": self.program,
            "step": self.step,
            "template": self.template,
            "locale": self.locale,
            "timezone": self.timezone,
        }


@dataclass(frozen=True)
class HistoryEntry:
    """One line of an enrollment's history."""

    enrollment_key: str
    contact_id: int
    at: datetime
    action: Literal["entered", "queued", "sent", "held", "branch", "exited", "completed"]
    step: str | None
    detail: str | None = None


@dataclass(frozen=True)
class Suppression:
    """A contact to stop mailing (hard bounce seen on a send)."""

    contact_id: int
    email: str
    reason: str
    source: str
    detail: str | None


@dataclass
class NurtureDecisions:
    """Everything apply would write for one as_of."""

    as_of: datetime
    enrollments: list[EnrollmentState] = field(default_factory=list)
    emails: list[PlannedEmail] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)
    quarantined: list[QuarantineRecord] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Summary counts for the run artifact."""
        actions: dict[str, int] = defaultdict(int)
        for entry in self.history:
            actions[entry.action] += 1
        return {
            "enrolled": sum(1 for e in self.enrollments if e.is_new),
            "emails": len(self.emails),
            "held": actions["held"],
            "branched": actions["branch"],
            "exited": actions["exited"],
            "completed": actions["completed"],
            "suppressed": len(self.suppressions),
            "quarantined": len({r.row_number for r in self.quarantined}),
        }


def enrollment_key(program: str, contact_id: int, entered_at: datetime) -> str:
    """The natural key of an enrollment: program, contact and entry instant."""
    return f"{program}:{contact_id}:{entered_at:%Y%m%dT%H%M%SZ}"


def email_id(enrollment: str, step: str) -> str:
    """The idempotency key of the email a send step produces (one per enrollment and step)."""
    return f"nurture:{enrollment}:{step}"


def _hour(instant: datetime) -> datetime:
    return instant.replace(minute=0, second=0, microsecond=0)


def _due(clock: datetime, as_of: datetime) -> bool:
    # Runs are hourly: a step due at 00:00:03 (a send at 00:00:03 + 5 days) belongs to
    # the 00:00 run, not the next one.
    return _hour(clock) <= as_of


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    # Plain tuples: DataFrame.to_dict boxes every value and costs ~1 ms per small frame,
    # which dominates an hour when a simulation runs hundreds of them.
    if frame.empty:
        return []
    columns = [str(c) for c in frame.columns]
    values = [frame[c].tolist() for c in frame.columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _ts(value: Any) -> datetime | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return None
    return stamp.to_pydatetime()


class _Facts:
    """Lookups over the frames, built once per decide call."""

    def __init__(self, frames: NurtureFrames, as_of: datetime) -> None:
        self.contacts = {int(r["contact_id"]): r for r in _records(frames.contacts)}
        self.sends = {r["email_id"]: r for r in _records(frames.sends)}
        self.sent_times: dict[int, list[datetime]] = defaultdict(list)
        for r in self.sends.values():
            sent_at = _ts(r["sent_at"]) if r["status"] == SENT else None
            # At as_of an email counts from when it went out, if it had by then; one a live
            # backfill sent only later was still queued at as_of and counts from then.
            when = sent_at if sent_at is not None and sent_at <= as_of else _ts(r["queued_at"])
            if r["status"] != FAILED and when is not None and when <= as_of:
                self.sent_times[int(r["contact_id"])].append(when)
        self.events: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in _records(frames.events):
            if _ts(r["occurred_at"]) is not None and _ts(r["occurred_at"]) <= as_of:  # type: ignore[operator]
                self.events[int(r["contact_id"])].append(r)
        self.activities: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in _records(frames.activities):
            self.activities[int(r["contact_id"])].append(r)
        self.stage_entries: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in _records(frames.stage_entries):
            self.stage_entries[int(r["contact_id"])].append(r)
        self.suppressed: dict[int, str] = {}
        for r in _records(frames.suppressions):
            created = _ts(r["created_at"])
            if created is not None and created <= as_of:
                self.suppressed.setdefault(int(r["contact_id"]), str(r["reason"]))
        self.previous: dict[tuple[int, str], list[datetime]] = defaultdict(list)
        for r in _records(frames.enrollments):
            entered = _ts(r["entered_at"])
            if entered is not None:
                self.previous[(int(r["contact_id"]), str(r["program"]))].append(entered)
        self.snapshots: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
        for r in _records(frames.snapshots):
            taken = _ts(r["as_of"])
            if taken is not None and taken <= as_of:
                self.snapshots[int(r["contact_id"])].append((taken, int(r["score"])))


@dataclass
class _Walk:
    """One enrollment being moved forward inside a decide call."""

    state: EnrollmentState
    history: list[HistoryEntry] = field(default_factory=list)
    emails: list[PlannedEmail] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)

    def log(self, at: datetime, action: Any, step: str | None, detail: str | None = None) -> None:
        self.history.append(
            HistoryEntry(self.state.enrollment_key, self.state.contact_id, at, action, step, detail)
        )

    def move(self, **changes: Any) -> None:
        values = {**self.state.__dict__, **changes}
        self.state = EnrollmentState(**values)


class _Decider:
    def __init__(
        self,
        frames: NurtureFrames,
        *,
        rules: NurtureRules,
        thresholds: Thresholds,
        as_of: datetime,
        business_timezone: str,
    ) -> None:
        self.rules = rules
        self.thresholds = thresholds
        self.as_of = as_of
        self.business_timezone = business_timezone
        self.facts = _Facts(frames, as_of)

    # --- conditions -------------------------------------------------------------------

    def _email_events(self, contact_id: int, key: str, types: tuple[str, ...]) -> bool:
        return any(e["type"] in types and e["detail"] == key for e in self.facts.events[contact_id])

    def condition_holds(self, condition: Condition, walk: _Walk) -> bool:
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
            and _ts(e["occurred_at"]) >= state.entered_at  # type: ignore[operator]
            for e in self.facts.events[state.contact_id]
        )

    def exit_reason(self, program: Program, state: EnrollmentState) -> str | None:
        """Why an active enrollment must leave now, or None."""
        reason = self.facts.suppressed.get(state.contact_id)
        if reason is not None:
            return reason
        contact = self.facts.contacts.get(state.contact_id)
        if contact is None:
            return "contact_gone"
        if contact["lifecycle_stage"] in program.exit.stages:
            return f"stage_{contact['lifecycle_stage']}"
        for activity in self.facts.activities[state.contact_id]:
            when = _ts(activity["occurred_at"])
            if (
                activity["outcome"] in program.exit.activity_outcomes
                and when is not None
                and state.entered_at <= when <= self.as_of
            ):
                return str(activity["outcome"])
        return None

    # --- send gate --------------------------------------------------------------------

    def _zone_name(self, contact: dict[str, Any]) -> str:
        return _text(contact.get("timezone")) or self.business_timezone

    def _locale(self, contact: dict[str, Any]) -> str:
        zone = _text(contact.get("timezone"))
        if zone and zone != self.business_timezone:
            return self.rules.foreign_timezone_locale
        return self.rules.default_locale

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
        zone = contact_zone(_text(contact.get("timezone")) or None, self.business_timezone)
        window = self.rules.send_window
        slot = next_allowed_send(
            at=self.as_of,
            sent=self.facts.sent_times[contact_id],
            zone=zone,
            window=window,
            cap=self.rules.frequency_cap,
        )
        if slot <= self.as_of:
            return "send", None, ""
        in_window = next_send_slot(self.as_of, zone=zone, window=window) == self.as_of
        return "hold", slot, "frequency cap" if in_window else "outside send window"

    # --- the walk ---------------------------------------------------------------------

    def walk(self, program: Program, walk: _Walk) -> None:
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

    def _send(self, program: Program, walk: _Walk, step_id: str) -> bool:
        """Handle a due send step; True when the walk may continue to the next step."""
        state = walk.state
        key = email_id(state.enrollment_key, step_id)
        existing = self.facts.sends.get(key)
        if existing is not None:
            status = existing["status"]
            sent_at = _ts(existing["sent_at"])
            if status == SENT and sent_at is not None and sent_at <= self.as_of:
                walk.log(sent_at, "sent", step_id)
                walk.move(
                    step=program.successors(step_id)[0], next_step_at=sent_at, last_sent_at=sent_at
                )
                return True
            if status == FAILED:
                error = _text(existing["last_error"])
                reason = "bounced" if error.startswith(HARD_BOUNCE_PREFIX) else "send_failed"
                if reason == "bounced":
                    contact = self.facts.contacts.get(state.contact_id, {})
                    walk.suppressions.append(
                        Suppression(
                            state.contact_id,
                            _text(contact.get("email")),
                            "bounced",
                            "smtp",
                            error[:500],
                        )
                    )
                self._exit(walk, reason, step_id)
            return False
        verdict, until, reason = self.send_gate(state.contact_id)
        if verdict == "block":
            self._exit(walk, reason, step_id)
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
                first_name=_text(contact.get("first_name")),
                last_name=_text(contact.get("last_name")),
                company=_text(contact.get("company_name")),
                timezone=self._zone_name(contact),
            )
        )
        self.facts.sent_times[state.contact_id].append(self.as_of)
        walk.log(self.as_of, "queued", step_id, key)
        walk.move(next_step_at=self.as_of)
        return False

    def _exit(self, walk: _Walk, reason: str, step_id: str | None) -> None:
        walk.move(status=EXITED, exit_reason=reason, next_step_at=None)
        walk.log(self.as_of, "exited", step_id, reason)

    # --- entry ------------------------------------------------------------------------

    def _low_score(self, contact_id: int, contact: dict[str, Any]) -> bool:
        low, days = self.thresholds.low_score, self.thresholds.low_score_days
        score = contact.get("score")
        if score is None or pd.isna(score) or score > low:
            return False
        cutoff = self.as_of - timedelta(days=days)
        snapshots = sorted(self.facts.snapshots[contact_id])
        before = [s for t, s in snapshots if t <= cutoff]
        since = [s for t, s in snapshots if t > cutoff]
        return bool(before) and before[-1] <= low and all(s <= low for s in since)

    def trigger_at(self, program: Program, contact: dict[str, Any]) -> datetime | None:
        """When this contact last met the program's trigger (None: never, or not known yet)."""
        entry = program.entry
        contact_id = int(contact["contact_id"])
        if entry.trigger == "created":
            return _ts(contact["created_at"])
        if entry.trigger == "low_score":
            return self.as_of if self._low_score(contact_id, contact) else None
        if entry.trigger == "event":
            types = {str(e) for e in entry.events or []}
            times = [
                _ts(e["occurred_at"])
                for e in self.facts.events[contact_id]
                if e["type"] in types and (entry.details is None or e["detail"] in entry.details)
            ]
            return max((t for t in times if t is not None), default=None)
        entries = [
            _ts(e["at"])
            for e in self.facts.stage_entries[contact_id]
            if e["to_stage"] in entry.stages
            and (entry.kinds is None or e.get("kind") in entry.kinds)
        ]
        known = [t for t in entries if t is not None and t <= self.as_of]
        if known:
            return max(known)
        # A stage without history (imported) counts from the last update; a kinds filter
        # asks for a recorded move of that kind.
        return None if entry.kinds is not None else _ts(contact["updated_at"])

    def may_enter(self, program: Program, contact: dict[str, Any]) -> bool:
        """Entry conditions and the re-enrollment policy, at as_of."""
        contact_id = int(contact["contact_id"])
        if not bool(contact["consent"]) or contact_id in self.facts.suppressed:
            return False
        if contact["lifecycle_stage"] not in program.entry.stages:
            return False
        trigger = self.trigger_at(program, contact)
        if trigger is None or trigger > self.as_of:
            return False
        if program.entry.trigger != "low_score" and trigger < self.as_of - timedelta(
            days=program.entry.within_days
        ):
            return False
        previous = self.facts.previous[(contact_id, program.name)]
        if not previous:
            return True
        if program.reenroll == "never":
            return False
        last = max(previous)
        return trigger > last and last + timedelta(days=program.reenroll.after_days) <= self.as_of


def decide_nurture(
    frames: NurtureFrames,
    *,
    rules: NurtureRules,
    thresholds: Thresholds,
    as_of: datetime,
    business_timezone: str,
) -> NurtureDecisions:
    """Exits, advances, branches, enrollments and emails to enqueue at `as_of` (pure)."""
    decider = _Decider(
        frames,
        rules=rules,
        thresholds=thresholds,
        as_of=as_of,
        business_timezone=business_timezone,
    )
    decisions = NurtureDecisions(as_of=as_of)
    programs = {p.name: p for p in rules.programs}
    busy: set[int] = set()

    def record(walk: _Walk, original: EnrollmentState | None) -> None:
        if walk.state != original:
            decisions.enrollments.append(walk.state)
        decisions.history.extend(walk.history)
        decisions.emails.extend(walk.emails)
        decisions.suppressions.extend(walk.suppressions)
        if walk.state.status == ACTIVE:
            busy.add(walk.state.contact_id)

    active = frames.enrollments[frames.enrollments["status"] == ACTIVE]
    for row in active.sort_values("enrollment_key").to_dict("records"):
        original = EnrollmentState(
            enrollment_key=str(row["enrollment_key"]),
            contact_id=int(row["contact_id"]),
            program=str(row["program"]),
            step=None if pd.isna(row["step"]) else str(row["step"]),
            status=ACTIVE,
            entered_at=_ts(row["entered_at"]),  # type: ignore[arg-type]
            next_step_at=_ts(row["next_step_at"]),
            last_sent_at=_ts(row["last_sent_at"]),
            exit_reason=None,
        )
        walk = _Walk(original)
        program = programs.get(original.program)
        if program is None:
            decider._exit(walk, "program_removed", original.step)
        elif (reason := decider.exit_reason(program, original)) is not None:
            decider._exit(walk, reason, original.step)
        else:
            decider.walk(program, walk)
        record(walk, original)

    for contact in sorted(decider.facts.contacts.values(), key=lambda c: int(c["contact_id"])):
        contact_id = int(contact["contact_id"])
        if contact_id in busy:
            continue
        for program in rules.programs:
            if not decider.may_enter(program, contact):
                continue
            key = enrollment_key(program.name, contact_id, as_of)
            walk = _Walk(
                EnrollmentState(
                    enrollment_key=key,
                    contact_id=contact_id,
                    program=program.name,
                    step=program.steps[0].id,
                    status=ACTIVE,
                    entered_at=as_of,
                    next_step_at=as_of,
                    last_sent_at=None,
                    exit_reason=None,
                    is_new=True,
                )
            )
            walk.log(as_of, "entered", None, program.entry.trigger)
            decider.walk(program, walk)
            record(walk, None)
            break
    return decisions


def validate_planned_emails(
    decisions: NurtureDecisions, *, locales: list[str], max_bad_row_share: float = 1.0
) -> NurtureDecisions:
    """Set aside emails that cannot be sent (e.g. a malformed address) as quarantine.

    Their enrollments keep waiting on the step, so a fixed address goes out next hour;
    more than `max_bad_row_share` bad emails fails the run.
    """
    if not decisions.emails:
        return decisions
    frame = pd.DataFrame([e.__dict__ for e in decisions.emails])
    validated = split_valid_rows(
        frame,
        planned_emails_schema(locales),
        source=QUARANTINE_SOURCE,
        row_numbers=frame["contact_id"],
    )
    if not validated.rejected:
        return decisions
    total = len(frame)
    check_bad_row_share(
        what="planned emails", bad=validated.bad_rows, total=total, limit=max_bad_row_share,
        first=validated.rejected[0],
    )
    good = set(validated.good["email_id"])
    bad = {e.email_id for e in decisions.emails} - good
    return NurtureDecisions(
        as_of=decisions.as_of,
        enrollments=decisions.enrollments,
        emails=[e for e in decisions.emails if e.email_id in good],
        history=[h for h in decisions.history if not (h.action == "queued" and h.detail in bad)],
        suppressions=decisions.suppressions,
        quarantined=validated.rejected,
    )
