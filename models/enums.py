"""Lifecycle stages, lead statuses, event and activity vocabularies."""

from enum import StrEnum


class Stage(StrEnum):
    """Contact lifecycle stage, in forward order (see STAGE_ORDER)."""

    SUBSCRIBER = "subscriber"
    LEAD = "lead"
    MQL = "mql"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    CUSTOMER = "customer"
    EVANGELIST = "evangelist"
    OTHER = "other"
    LOST_RENURTURE = "lost_renurture"


# Rank used for "forward only" and for the company roll-up. `other` (disqualified) and
# `lost_renurture` sit outside the funnel: they are reached only by explicit rules.
STAGE_ORDER: dict[Stage, int] = {
    Stage.SUBSCRIBER: 0,
    Stage.LEAD: 1,
    Stage.MQL: 2,
    Stage.SQL: 3,
    Stage.OPPORTUNITY: 4,
    Stage.CUSTOMER: 5,
    Stage.EVANGELIST: 6,
    Stage.LOST_RENURTURE: -1,
    Stage.OTHER: -2,
}

# HubSpot internal lifecycle names ↔ leadflow stages (1:1 for import/export).
HUBSPOT_STAGE: dict[str, Stage] = {
    "subscriber": Stage.SUBSCRIBER,
    "lead": Stage.LEAD,
    "marketingqualifiedlead": Stage.MQL,
    "salesqualifiedlead": Stage.SQL,
    "opportunity": Stage.OPPORTUNITY,
    "customer": Stage.CUSTOMER,
    "evangelist": Stage.EVANGELIST,
    "other": Stage.OTHER,
}
STAGE_TO_HUBSPOT: dict[Stage, str] = {v: k for k, v in HUBSPOT_STAGE.items()}


class LeadStatus(StrEnum):
    """Inside-sales work status within mql → sql."""

    NEW = "new"
    ATTEMPTING = "attempting"
    CONNECTED = "connected"
    SALES_READY = "sales_ready"
    RETRY = "retry"
    RECYCLE = "recycle"
    UNQUALIFIED = "unqualified"


# HubSpot hs_lead_status defaults → leadflow statuses.
HUBSPOT_LEAD_STATUS: dict[str, LeadStatus] = {
    "new": LeadStatus.NEW,
    "open": LeadStatus.NEW,
    "in_progress": LeadStatus.CONNECTED,
    "open_deal": LeadStatus.SALES_READY,
    "unqualified": LeadStatus.UNQUALIFIED,
    "attempted_to_contact": LeadStatus.ATTEMPTING,
    "connected": LeadStatus.CONNECTED,
    "bad_timing": LeadStatus.RETRY,
}


class EventType(StrEnum):
    """Behavioural event kinds in the events ledger."""

    PAGE_VIEW = "page_view"
    EMAIL_OPEN = "email_open"
    EMAIL_CLICK = "email_click"
    FORM_SUBMIT = "form_submit"
    WEBINAR_ATTENDED = "webinar_attended"
    TRADE_SHOW_VISIT = "trade_show_visit"


PAGE_CATEGORIES = ("pricing", "case_study", "blog", "service", "other")
FORM_KINDS = ("document_download", "demo_request", "contact", "newsletter")


class Team(StrEnum):
    """Owner teams."""

    IS = "is"
    FS = "fs"
    CS = "cs"
    MARKETING = "marketing"


class ActivityType(StrEnum):
    """Sales touch kinds."""

    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"


class ActivityOutcome(StrEnum):
    """What a sales touch achieved."""

    CONNECTED = "connected"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    REPLIED = "replied"
    MEETING_BOOKED = "meeting_booked"
    BAD_TIMING = "bad_timing"
    NOT_INTERESTED = "not_interested"
