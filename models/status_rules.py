"""Lead status as data: the allowed moves, what each status does to the lifecycle, and
which sales-activity outcomes move a status.

Sources of a status change: an imported or logged activity, `leadflow set-status`,
promotion (entering mql/sql sets a status) and the recycling flow.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from models.enums import ActivityOutcome, LeadStatus, Stage, Team

# A HubSpot property value as its importer takes it: no surrounding spaces, no line breaks.
HubSpotValue = Annotated[str, StringConstraints(pattern=r"^\S(?:[^\r\n]*\S)?$", max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _default_moves() -> dict[LeadStatus, list[LeadStatus]]:
    s = LeadStatus
    return {
        s.NEW: [s.ATTEMPTING, s.CONNECTED, s.RETRY, s.RECYCLE, s.UNQUALIFIED],
        s.ATTEMPTING: [s.CONNECTED, s.RETRY, s.RECYCLE, s.UNQUALIFIED],
        s.CONNECTED: [s.SALES_READY, s.RETRY, s.RECYCLE, s.UNQUALIFIED],
        s.RETRY: [s.CONNECTED, s.SALES_READY, s.RECYCLE, s.UNQUALIFIED],
        s.SALES_READY: [],
        s.RECYCLE: [],
        s.UNQUALIFIED: [],
    }


class LeadStatusRules(_Strict):
    """The `lead_status` section of a rules file.

    `moves` lists, per status, the statuses it may move to (a contact without a status
    may take any). `lifecycle` names the stage a status moves the contact to
    (sales_ready → sql, recycle → lead, unqualified → other). `activity_outcomes` maps
    an activity outcome to the status it moves to, when that move is allowed. `hubspot`
    names the HubSpot lead status each status is exported as.
    """

    moves: dict[LeadStatus, list[LeadStatus]] = Field(default_factory=_default_moves)
    lifecycle: dict[LeadStatus, Stage] = {
        LeadStatus.SALES_READY: Stage.SQL,
        LeadStatus.RECYCLE: Stage.LEAD,
        LeadStatus.UNQUALIFIED: Stage.OTHER,
    }
    activity_outcomes: dict[ActivityOutcome, LeadStatus] = {
        ActivityOutcome.NO_ANSWER: LeadStatus.ATTEMPTING,
        ActivityOutcome.VOICEMAIL: LeadStatus.ATTEMPTING,
        ActivityOutcome.CONNECTED: LeadStatus.CONNECTED,
        ActivityOutcome.REPLIED: LeadStatus.CONNECTED,
        ActivityOutcome.MEETING_BOOKED: LeadStatus.CONNECTED,
        ActivityOutcome.BAD_TIMING: LeadStatus.RETRY,
        ActivityOutcome.NOT_INTERESTED: LeadStatus.UNQUALIFIED,
    }

    # HubSpot's hs_lead_status value each status is exported as (`export contacts
    # --hubspot`). HubSpot has no recycle status by default: OPEN puts the lead back in the
    # pool; a portal with its own option maps recycle to it.
    hubspot: dict[LeadStatus, HubSpotValue] = {
        LeadStatus.NEW: "NEW",
        LeadStatus.ATTEMPTING: "ATTEMPTED_TO_CONTACT",
        LeadStatus.CONNECTED: "CONNECTED",
        LeadStatus.SALES_READY: "OPEN_DEAL",
        LeadStatus.RETRY: "BAD_TIMING",
        LeadStatus.RECYCLE: "OPEN",
        LeadStatus.UNQUALIFIED: "UNQUALIFIED",
    }

    @model_validator(mode="after")
    def _every_status_listed(self) -> "LeadStatusRules":
        for section in ("moves", "hubspot"):
            listed: dict[LeadStatus, object] = getattr(self, section)
            missing = [s.value for s in LeadStatus if s not in listed]
            if missing:
                raise ValueError(
                    f"{section} must list every status; missing: {', '.join(missing)}"
                )
        return self

    def allows(self, from_status: str | None, to_status: LeadStatus) -> bool:
        """Whether `from_status` → `to_status` is an allowed move (unknown/None: any)."""
        if from_status is None or from_status not in LeadStatus.__members__.values():
            return True
        return to_status in self.moves[LeadStatus(from_status)]


class RecyclingRules(_Strict):
    """The `recycling` section: when leads go back to marketing, and who owns them then.

    Re-enrolment is the nurture program whose entry is `stage_entered` with
    `kinds: [recycle]` (the default rules ship `recycled`).
    """

    unreachable_after_attempts: int = Field(default=3, ge=1)
    unreachable_outcomes: list[ActivityOutcome] = [
        ActivityOutcome.NO_ANSWER,
        ActivityOutcome.VOICEMAIL,
    ]
    unreachable_reason: str = "unreachable"
    # Owner of recycled leads: a marketing owner by rotation, or nobody when none is active.
    owner_team: Team = Team.MARKETING
