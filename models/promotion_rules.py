"""Promotion rules: lifecycle transitions, hot leads, owner routing and the Slack hand-off.

Transition rules are data evaluated in file order; the first rule that matches a contact
and is an allowed move from its current stage wins. Kinds:

- `score`: the latest score at or above a threshold (a name from `scoring.thresholds`,
  e.g. `mql`, or a number);
- `event`: at least `min` events of some types/details (a hand-raise: demo request);
- `email_domain`: the contact's email domain is in a list and it sent a matching event
  (a form from a competitor's domain);
- `sequence`: steps that must happen in order, each `min` times, optionally within a
  number of days ("downloaded a document, then viewed 3+ service pages").

Event-driven kinds look only at events after the contact's latest stage change, so a
recycled contact is judged on what it did since; the score kind waits for
`recycle_cooldown_days` after a recycle or re-nurture, and for new behaviour.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.enums import EventType, LeadStatus, Stage, Team


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventMatch(_Strict):
    """Events of some types (and, optionally, details), counted at least `min` times."""

    events: list[EventType] = Field(min_length=1)
    details: list[str] | None = None
    min: int = Field(default=1, ge=1)


class _RuleBase(_Strict):
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    to: Stage
    description: str = ""


class ScoreRule(_RuleBase):
    """Promote when the latest score at or before as_of reaches `threshold`."""

    kind: Literal["score"]
    threshold: Literal["mql", "hot"] | int = "mql"


class EventRule(_RuleBase, EventMatch):
    """Promote when matching events happened since the contact's latest stage change."""

    kind: Literal["event"]


class EmailDomainRule(_RuleBase, EventMatch):
    """Move a contact whose email domain is listed and who sent a matching event."""

    kind: Literal["email_domain"]
    domains: list[str] = Field(min_length=1)


class SequenceRule(_RuleBase):
    """Promote when the steps happened in this order (each step after the previous one)."""

    kind: Literal["sequence"]
    steps: list[EventMatch] = Field(min_length=2)
    within_days: int | None = Field(default=None, gt=0)


TransitionRule = Annotated[
    ScoreRule | EventRule | EmailDomainRule | SequenceRule, Field(discriminator="kind")
]


class Routing(_Strict):
    """Which team gets a promoted lead: by target stage first, then by lead source."""

    default_team: Team = Team.IS
    by_stage: dict[Stage, Team] = {Stage.SQL: Team.FS}
    by_lead_source: dict[str, Team] = {}


class SlackHandoff(_Strict):
    """Where and how the hand-off is announced."""

    language: Literal["ja", "en"] = "ja"
    handoff_channel: str = "#sales-handoff"
    hot_channel: str = "#fs-hot-leads"
    dm_owner_on_hot: bool = True
    notify_stages: list[Stage] = [Stage.MQL, Stage.SQL]
    top_reasons: int = Field(default=3, ge=0)
    latest_activities: int = Field(default=5, ge=0)
    # Slack allows about one message per second per channel; a bigger backlog (a go-live)
    # drains over the next runs instead of holding one run for an hour.
    max_messages_per_run: int = Field(default=200, gt=0)


class PromotionRules(_Strict):
    """The `promotion` section of a rules file.

    The transitions have no default here: rules/default.yaml is their one source.
    """

    transitions: list[TransitionRule] = Field(min_length=1)
    lead_status_on: dict[Stage, LeadStatus] = {
        Stage.MQL: LeadStatus.NEW,
        Stage.SQL: LeadStatus.SALES_READY,
        Stage.OTHER: LeadStatus.UNQUALIFIED,
    }
    hot_stages: list[Stage] = [Stage.MQL, Stage.SQL]
    assign_stages: list[Stage] = [Stage.MQL, Stage.SQL]
    routing: Routing = Routing()
    slack: SlackHandoff = SlackHandoff()
    # Bounds how far back event rules look, so a run never reads the whole ledger.
    event_lookback_days: int = Field(default=180, gt=0)
    # Unowned leads get an owner when their team has one again, and leads a lead status
    # moved into another team's stage (sales_ready → sql) go to that team, if they
    # entered their stage at most this many days ago (None: no limit).
    late_assignment_within_days: int | None = Field(default=14, gt=0)
    # A recycled or re-nurtured lead becomes MQL again by its score only this many days
    # after the move, and only once it showed new behaviour; event rules act at once.
    recycle_cooldown_days: int = Field(default=30, ge=0)

    @model_validator(mode="after")
    def _unique_names(self) -> "PromotionRules":
        names = [rule.name for rule in self.transitions]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"transition names must be unique; repeated: {', '.join(duplicates)}")
        return self
