"""leadflow's values as HubSpot's importer takes them (pure): stages, lead statuses,
times, time zones, deal stages.

A contact keeps the lifecycle stage and lead status a HubSpot file gave it, with the
leadflow value each became (`hubspot_lifecycle_stage[_as]`, `hubspot_lead_status[_as]`).
While its stage or status still equals that value, HubSpot's own value goes back (a
custom stage "Trial", IN_PROGRESS that leadflow reads as connected); once leadflow moved
it, the export maps leadflow's value.
"""

import re
from collections.abc import Mapping
from datetime import tzinfo

import pandas as pd

from models.deal_rules import DealRules
from models.enums import HUBSPOT_LEAD_STATUS, HUBSPOT_STAGE, STAGE_TO_HUBSPOT, LeadStatus, Stage

# Date-times as HubSpot writes them in its own exports and its importer reads them.
HUBSPOT_TIME_FORMAT = "%Y-%m-%d %H:%M"


def fold(value: str) -> str:
    """Case- and punctuation-free key: "In Progress" → inprogress (as the importer folds)."""
    return re.sub(r"[\W_]+", "", value.casefold())


def _text(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


# Folded HubSpot value → (its internal value, the leadflow value it means).
_KNOWN_STAGES = {fold(name): (name, stage.value) for name, stage in HUBSPOT_STAGE.items()}
_KNOWN_STATUSES = {
    fold(name): (name.upper(), status.value) for name, status in HUBSPOT_LEAD_STATUS.items()
}
# leadflow's own names that HubSpot does not have: a file in leadflow's vocabulary.
_OURS_ONLY_STAGES = {fold(s.value) for s in Stage} - set(_KNOWN_STAGES)
_OURS_ONLY_STATUSES = {fold(s.value) for s in LeadStatus} - set(_KNOWN_STATUSES)


def kept_value(
    sent: object,
    sent_as: object,
    current: object,
    *,
    known: Mapping[str, tuple[str, str]],
    ours_only: frozenset[str] | set[str],
) -> str | None:
    """The value HubSpot sent, in its internal form, while leadflow's value is still what
    it was imported as; None when there is none or leadflow has moved on since.

    A portal's own value (a custom stage) goes back as the portal wrote it; a name only
    leadflow uses (sales_ready) was never HubSpot's and is not sent back.
    """
    text = _text(sent)
    if text is None or _text(sent_as) != _text(current):
        return None
    key = fold(text)
    if key in known:
        internal, meaning = known[key]
        return internal if meaning == _text(current) else None
    return None if key in ours_only else text


def hubspot_stage(current: object, sent: object = None, sent_as: object = None) -> str:
    """A contact's lifecycle stage for HubSpot: the stage HubSpot sent while it still
    holds, else HubSpot's internal name; empty for lost_renurture (HubSpot has no such
    stage, and an empty cell leaves HubSpot's value as it is)."""
    kept = kept_value(sent, sent_as, current, known=_KNOWN_STAGES, ours_only=_OURS_ONLY_STAGES)
    if kept is not None:
        return kept
    stage = _text(current)
    if stage is None or stage not in Stage._value2member_map_:
        return ""
    return STAGE_TO_HUBSPOT.get(Stage(stage), "")


def hubspot_lead_status(
    current: object,
    sent: object = None,
    sent_as: object = None,
    *,
    mapping: Mapping[LeadStatus, str],
) -> str:
    """A contact's lead status for HubSpot: the status HubSpot sent while it still holds
    (IN_PROGRESS stays IN_PROGRESS), else the rules' `lead_status.hubspot` value."""
    kept = kept_value(
        sent, sent_as, current, known=_KNOWN_STATUSES, ours_only=_OURS_ONLY_STATUSES
    )
    if kept is not None:
        return kept
    status = _text(current)
    if status is None or status not in LeadStatus._value2member_map_:
        return ""
    return mapping.get(LeadStatus(status), "")


def hubspot_times(values: pd.Series, *, tz: tzinfo) -> pd.Series:
    """Instants as `YYYY-MM-DD HH:MM` in the business time zone (HubSpot's export form,
    read by its importer and by leadflow's in the same zone); empty where missing."""
    local = pd.to_datetime(values, utc=True).dt.tz_convert(tz)
    return local.map(lambda v: "" if pd.isna(v) else v.strftime(HUBSPOT_TIME_FORMAT))


def hubspot_time_zone(zone: object) -> str:
    """An IANA zone as HubSpot's time zone value: Asia/Tokyo → asia_slash_tokyo."""
    text = _text(zone)
    return "" if text is None else text.lower().replace("/", "_slash_")


def deal_stage_ids(deals: DealRules) -> dict[str, str]:
    """Our deal stage → the id written for HubSpot: the first alias the rules give the
    stage (closedwon for won), else the stage's own name."""
    ids: dict[str, str] = {}
    for alias, stage in deals.aliases.items():
        ids.setdefault(stage, alias)
    return {stage: ids.get(stage, stage) for stage in deals.names}


def record_id(value: object) -> str:
    """A HubSpot record id (digits only), else empty: other ids were never HubSpot's."""
    text = _text(value)
    return text if text is not None and text.isdigit() else ""
