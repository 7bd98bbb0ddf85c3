"""Nurture programs as data: send / wait / branch steps, entry, exit and send-time policy.

A program is a small graph of steps. `send` mails a template, `wait` pauses (counted
from the actual send time of the email before it), `branch` jumps on a condition known
at `as_of`. A step without `next` continues with the step listed after it; the last
step (or `next: end`) completes the enrollment. The model rejects unknown step
references, unreachable steps, loops, and open/click checks that come too soon after
the send they check. Template existence is checked by `template_problems`, which needs
the list of template files.
"""

from datetime import time, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.enums import ActivityOutcome, EventType, Stage
from models.lifecycle import TransitionKind

END = "end"
STEP_ID = r"^[a-z0-9_]+$"
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TEMPLATE_PARTS = ("subject", "txt", "html")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Duration(_Strict):
    """A positive length of time in days and hours."""

    days: int = Field(default=0, ge=0)
    hours: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _positive(self) -> "Duration":
        if self.days == 0 and self.hours == 0:
            raise ValueError("a duration needs days or hours")
        return self

    @property
    def delta(self) -> timedelta:
        """The duration as a timedelta."""
        return timedelta(days=self.days, hours=self.hours)


class Condition(_Strict):
    """One fact known at `as_of`; give exactly one key.

    `opened` / `clicked` name a send step of the same program (a click counts as an
    open: images are often blocked); `form_submitted` looks at forms since enrollment.
    """

    opened: str | None = Field(default=None, pattern=STEP_ID)
    clicked: str | None = Field(default=None, pattern=STEP_ID)
    score_at_least: int | None = Field(default=None, ge=0)
    stage_in: list[Stage] | None = None
    form_submitted: list[str] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Condition":
        given = [name for name, value in self if value is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of opened, clicked, score_at_least, stage_in, form_submitted"
            )
        return self

    @property
    def checked_send(self) -> str | None:
        """The send step an opened/clicked condition looks at, else None."""
        return self.opened or self.clicked


class Branch(_Strict):
    """`if` the condition holds go to `then`, otherwise to `else`."""

    condition: Condition = Field(alias="if")
    then: str = Field(pattern=STEP_ID)
    otherwise: str = Field(alias="else", pattern=STEP_ID)


class Step(_Strict):
    """One step: exactly one of `send` (a template name), `wait` or `branch`."""

    id: str = Field(pattern=STEP_ID)
    send: str | None = Field(default=None, pattern=r"^[a-z0-9_]+(/[a-z0-9_]+)?$")
    wait: Duration | None = None
    branch: Branch | None = None
    next: str | None = Field(default=None, pattern=STEP_ID)

    @model_validator(mode="after")
    def _one_kind(self) -> "Step":
        kinds = [k for k in ("send", "wait", "branch") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a step needs exactly one of send, wait, branch")
        if self.branch is not None and self.next is not None:
            raise ValueError("a branch step chooses its next step with then/else, not next")
        return self


class Entry(_Strict):
    """Who enters and when.

    `trigger` is the moment that starts the program: `created` (the contact was
    captured), `event` (the latest event of `events`/`details`), `stage_entered` (the
    contact entered one of `stages`; with `kinds`, only by a recorded move of one of
    those kinds, e.g. `recycle`), `low_score` (score at or below
    scoring.thresholds.low_score for low_score_days). The contact's current stage must
    be one of `stages`, and (except for low_score) the trigger at most `within_days` old,
    so a new program never mails the whole back catalogue.
    """

    trigger: Literal["created", "event", "stage_entered", "low_score"]
    stages: list[Stage] = Field(min_length=1)
    events: list[EventType] | None = None
    details: list[str] | None = None
    kinds: list[TransitionKind] | None = Field(default=None, min_length=1)
    within_days: int = Field(default=7, gt=0)

    @model_validator(mode="after")
    def _events_for_event_trigger(self) -> "Entry":
        if (self.trigger == "event") != (self.events is not None):
            raise ValueError("give events exactly when trigger is event")
        if self.kinds is not None and self.trigger != "stage_entered":
            raise ValueError("kinds filters stage moves: give it only with trigger stage_entered")
        return self


class ReenrollAfter(_Strict):
    """Re-enter the program when triggered again at least `after_days` after the last entry."""

    after_days: int = Field(gt=0)


class ExitConditions(_Strict):
    """Leave the program early. Unsubscribes and hard bounces always exit (not optional)."""

    stages: list[Stage] = [Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.OTHER]
    activity_outcomes: list[ActivityOutcome] = [
        ActivityOutcome.REPLIED,
        ActivityOutcome.MEETING_BOOKED,
    ]


class Program(_Strict):
    """One nurture program: entry, exit, re-enrollment policy and its steps."""

    name: str = Field(pattern=STEP_ID)
    description: str = ""
    entry: Entry
    exit: ExitConditions = ExitConditions()
    reenroll: Literal["never"] | ReenrollAfter = "never"
    steps: list[Step] = Field(min_length=1)

    def step(self, step_id: str) -> Step:
        """The step with this id."""
        return self._by_id[step_id]

    @property
    def _by_id(self) -> dict[str, Step]:
        return {s.id: s for s in self.steps}

    def successors(self, step_id: str) -> list[str]:
        """The steps (or END) that can follow `step_id`."""
        step = self.step(step_id)
        if step.branch is not None:
            return [step.branch.then, step.branch.otherwise]
        if step.next is not None:
            return [step.next]
        index = self.steps.index(step)
        return [self.steps[index + 1].id] if index + 1 < len(self.steps) else [END]

    def template_name(self, step_id: str) -> str:
        """The template a send step uses: `<program>/<name>`, or `other/<name>` as written."""
        template = self.step(step_id).send
        if template is None:
            raise ValueError(f"step {step_id} is not a send step")
        return template if "/" in template else f"{self.name}/{template}"

    @model_validator(mode="after")
    def _graph(self) -> "Program":
        ids = [s.id for s in self.steps]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"step ids must be unique; repeated: {', '.join(repeated)}")
        if END in ids:
            raise ValueError(f"'{END}' is reserved for the end of the program")
        for step in self.steps:
            for target in self.successors(step.id):
                if target != END and target not in ids:
                    raise ValueError(f"step {step.id} goes to unknown step '{target}'")
            condition = step.branch.condition if step.branch else None
            checked = condition.checked_send if condition else None
            if checked is not None and (checked not in ids or self.step(checked).send is None):
                raise ValueError(f"step {step.id} checks '{checked}', which is not a send step")
        _reject_loops(self)
        reachable = _reachable(self)
        unreachable = [i for i in ids if i not in reachable]
        if unreachable:
            raise ValueError(f"unreachable steps: {', '.join(unreachable)}")
        return self


def _reachable(program: Program) -> set[str]:
    seen: set[str] = set()
    stack = [program.steps[0].id]
    while stack:
        current = stack.pop()
        if current == END or current in seen:
            continue
        seen.add(current)
        stack.extend(program.successors(current))
    return seen


def _reject_loops(program: Program) -> None:
    # Depth-first search with colours: a grey node met again closes a cycle.
    colour: dict[str, int] = {}

    def visit(step_id: str, path: list[str]) -> None:
        colour[step_id] = 1
        for target in program.successors(step_id):
            if target == END:
                continue
            if colour.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                raise ValueError(f"steps form a loop: {' → '.join(cycle)}")
            if colour.get(target) is None:
                visit(target, [*path, target])
        colour[step_id] = 2

    for step in program.steps:
        if step.id not in colour:
            visit(step.id, [step.id])


def min_wait_before(program: Program, *, send_step: str, branch_step: str) -> timedelta | None:
    """The shortest total wait on any path from `send_step` to `branch_step` (None: no path)."""
    best: timedelta | None = None

    def walk(step_id: str, waited: timedelta) -> None:
        nonlocal best
        if step_id == END:
            return
        if step_id == branch_step:
            best = waited if best is None else min(best, waited)
            return
        step = program.step(step_id)
        extra = step.wait.delta if step.wait else timedelta(0)
        for target in program.successors(step_id):
            walk(target, waited + extra)

    for target in program.successors(send_step):
        walk(target, timedelta(0))
    return best


class SendWindow(_Strict):
    """When emails may go out, in the contact's time zone (default the business one)."""

    weekdays: list[Weekday] = Field(default=["mon", "tue", "wed", "thu", "fri"], min_length=1)
    start: time = time(9, 0)
    end: time = time(18, 0)
    skip_public_holidays: bool = True
    holiday_country: str = "JP"

    @model_validator(mode="after")
    def _ordered(self) -> "SendWindow":
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class FrequencyCap(_Strict):
    """At most `max_emails` marketing emails per contact in any rolling `days` days."""

    max_emails: int = Field(default=3, gt=0)
    days: int = Field(default=7, gt=0)


def _default_programs() -> list[Program]:
    # Only DOMAIN.md's default program; the shipped rules files spell out all of them.
    exit_default = ExitConditions()
    return [
        Program(
            name="new_lead",
            description="new leads: overview + case study, benefits + white paper, then "
            "webinar/demo for openers or a resend with a new subject",
            entry=Entry(trigger="created", stages=[Stage.LEAD], within_days=7),
            exit=exit_default,
            steps=[
                Step(id="email_1", send="email_1"),
                Step(id="wait_1", wait=Duration(days=5)),
                Step(id="email_2", send="email_2"),
                Step(id="wait_2", wait=Duration(days=7)),
                Step.model_validate(
                    {
                        "id": "opened_email_2",
                        "branch": {
                            "if": {"opened": "email_2"},
                            "then": "email_3a",
                            "else": "email_3b",
                        },
                    }
                ),
                Step(id="email_3a", send="email_3a", next=END),
                Step(id="email_3b", send="email_3b"),
            ],
        ),
    ]


class NurtureRules(_Strict):
    """Every nurture program plus the send-time policy they share."""

    send_window: SendWindow = SendWindow()
    frequency_cap: FrequencyCap = FrequencyCap()
    min_wait_before_open_check: Duration = Duration(days=2)
    default_locale: str = Field(default="ja", pattern=r"^[a-z]{2}$")
    foreign_timezone_locale: str = Field(default="en", pattern=r"^[a-z]{2}$")
    locales: list[str] = Field(default=["ja", "en"], min_length=1)
    links: dict[str, str] = {
        "site": "https://example.com/",
        "case_study": "https://example.com/case-studies",
        "white_paper": "https://example.com/white-paper",
        "webinar": "https://example.com/webinar",
        "demo": "https://example.com/demo",
    }
    programs: list[Program] = Field(default_factory=_default_programs)

    @model_validator(mode="after")
    def _consistent(self) -> "NurtureRules":
        names = [p.name for p in self.programs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"program names must be unique; repeated: {', '.join(repeated)}")
        for locale in (self.default_locale, self.foreign_timezone_locale):
            if locale not in self.locales:
                raise ValueError(f"locale {locale} is not in locales")
        for url in self.links.values():
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"link {url!r} must be an http(s) URL")
        minimum = self.min_wait_before_open_check.delta
        for program in self.programs:
            for step in program.steps:
                checked = step.branch.condition.checked_send if step.branch else None
                if checked is None:
                    continue
                waited = min_wait_before(program, send_step=checked, branch_step=step.id)
                if waited is None or waited < minimum:
                    raise ValueError(
                        f"program {program.name}: step {step.id} checks {checked} after "
                        f"{waited or timedelta(0)}; wait at least {minimum} (nobody opens "
                        "instantly)"
                    )
        return self

    def program(self, name: str) -> Program:
        """The program with this name."""
        for program in self.programs:
            if program.name == name:
                return program
        raise KeyError(name)


def required_templates(rules: NurtureRules) -> dict[str, list[str]]:
    """Template files every send step needs, as `<program>.<step>` → relative paths."""
    needed: dict[str, list[str]] = {}
    for program in rules.programs:
        for step in program.steps:
            if step.send is None:
                continue
            base = program.template_name(step.id)
            needed[f"{program.name}.{step.id}"] = [
                f"email/{base}.{locale}.{part}.j2"
                for locale in rules.locales
                for part in TEMPLATE_PARTS
            ]
    return needed


def template_problems(rules: NurtureRules, available: set[str]) -> list[str]:
    """Missing template files, one line each (empty when every send step has its files)."""
    problems: list[str] = []
    for where, paths in required_templates(rules).items():
        problems.extend(f"{where}: missing template {p}" for p in paths if p not in available)
    return problems
