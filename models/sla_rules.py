"""Sales SLA policies as data: a start event, a stop condition, a due time and a ladder.

A policy opens one clock per contact and MQL cycle. The clock is satisfied when its stop
condition is met, or closed unsatisfied when the cycle ends first (recycle,
disqualification, re-nurture, a new hand-off); each ladder level fires once, at
`after` from the clock's start, if the clock is not satisfied by then (a level with
`touches` asks instead for that many sales touches by then: the follow-up cadence).
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.enums import LeadStatus, Team

DurationUnit = Literal["hours", "days", "business_hours", "business_days"]
Recipient = Literal["owner", "manager", "team_channel"]
Medium = Literal["slack", "email"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlaDuration(_Strict):
    """An amount of clock hours/days, business hours or business days.

    `at_close`: the deadline moves to the close of business of the day it falls on
    ("a touch on business day 3" is late only after that day's business hours).
    """

    amount: int = Field(ge=0)
    unit: DurationUnit
    at_close: bool = False


class StopCondition(_Strict):
    """What satisfies a clock; give exactly one key.

    `touches`: that many sales activities since the clock started; `statuses`: the lead
    status became one of these; `left_statuses`: the lead status left these.
    """

    touches: int | None = Field(default=None, ge=1)
    statuses: list[LeadStatus] | None = None
    left_statuses: list[LeadStatus] | None = None

    @model_validator(mode="after")
    def _one(self) -> "StopCondition":
        given = [k for k in ("touches", "statuses", "left_statuses") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of touches, statuses, left_statuses")
        return self


class LadderLevel(_Strict):
    """One escalation step: when, to whom, how, and whether the lead changes hands."""

    after: SlaDuration
    notify: list[Recipient] = Field(min_length=1)
    via: list[Medium] = Field(default=["slack"], min_length=1)
    action: Literal["notify", "reassign"] = "notify"
    touches: int | None = Field(default=None, ge=1)


class SlaPolicy(_Strict):
    """One SLA: `start` is entering mql (the hand-off) or the first owner assignment."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str = ""
    start: Literal["mql", "assigned"] = "mql"
    until: StopCondition
    due: SlaDuration
    ladder: list[LadderLevel] = Field(min_length=1)


def _hours(n: int) -> SlaDuration:
    return SlaDuration(amount=n, unit="hours")


def _business_days(n: int, *, at_close: bool = False) -> SlaDuration:
    return SlaDuration(amount=n, unit="business_days", at_close=at_close)


def _default_policies() -> list[SlaPolicy]:
    touched_by_day = [
        LadderLevel(after=_business_days(day, at_close=True), notify=["owner"],
                    via=["slack"], touches=n)
        for n, day in enumerate((0, 3, 7), start=1)
    ]
    return [
        SlaPolicy(
            name="first_touch",
            description="first sales touch within 24 hours of the hand-off",
            start="mql",
            until=StopCondition(touches=1),
            due=_hours(24),
            ladder=[
                LadderLevel(after=_hours(24), notify=["owner"], via=["slack", "email"]),
                LadderLevel(after=_hours(48), notify=["manager"], via=["slack", "email"]),
                LadderLevel(after=_hours(72), notify=["team_channel"], via=["slack"],
                            action="reassign"),
            ],
        ),
        SlaPolicy(
            name="follow_ups",
            description="touches on business days 0, 3 and 7 after the hand-off",
            start="mql",
            until=StopCondition(touches=3),
            due=_business_days(7, at_close=True),
            ladder=touched_by_day,
        ),
        SlaPolicy(
            name="sql_decision",
            description="sales_ready, recycle or unqualified within 5 business days",
            start="mql",
            until=StopCondition(statuses=[LeadStatus.SALES_READY, LeadStatus.RECYCLE,
                                          LeadStatus.UNQUALIFIED]),
            due=_business_days(5),
            ladder=[LadderLevel(after=_business_days(5), notify=["manager"],
                                via=["slack", "email"])],
        ),
        SlaPolicy(
            name="stale_new",
            description="still new 8 business hours after assignment",
            start="assigned",
            until=StopCondition(left_statuses=[LeadStatus.NEW]),
            due=SlaDuration(amount=8, unit="business_hours"),
            ladder=[LadderLevel(after=SlaDuration(amount=8, unit="business_hours"),
                                notify=["owner"], via=["slack"])],
        ),
    ]


class SlaRules(_Strict):
    """The `sla` section of a rules file."""

    language: Literal["ja", "en"] = "ja"
    # Levels that became due longer ago than this never fire: importing two years of
    # historic MQLs opens their clocks but pages nobody.
    max_escalation_age: SlaDuration = SlaDuration(amount=3, unit="days")
    team_channels: dict[Team, str] = {Team.IS: "#is-team", Team.FS: "#fs-team"}
    policies: list[SlaPolicy] = Field(default_factory=_default_policies)

    @model_validator(mode="after")
    def _unique_names(self) -> "SlaRules":
        names = [p.name for p in self.policies]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"policy names must be unique; repeated: {', '.join(duplicates)}")
        return self

    def policy(self, name: str) -> SlaPolicy:
        """The policy called `name`."""
        return next(p for p in self.policies if p.name == name)
