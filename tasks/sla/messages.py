"""Compose SLA escalation messages: Slack (Block Kit) and internal email, from jinja2.

Rendering is pure: `compose_sla_messages` turns escalations + context into outbox
messages keyed `sla:{contact}:{cycle}:{policy}:{level}:{recipient}:{medium}`, so a level
reaches each recipient once across reruns. Templates live in templates/sla/.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from leadflow.paths import TEMPLATES_DIR
from models.enums import Team
from models.messages import OutboxMessage
from models.rules import Rules
from tasks.internal_email import internal_email
from tasks.promotion.handoff import SLACK_CHANNEL, fit_slack_limits, valid_slack_user_id
from tasks.promotion.handoff import slack_escaped as mrkdwn
from tasks.sla.decisions import Escalation

SLA_TEMPLATES_DIR = TEMPLATES_DIR / "sla"


@dataclass(frozen=True)
class Reassignment:
    """Who had a lead and who has it now (`to_owner_id` None: nobody else was active)."""

    contact_id: int
    from_owner_id: int | None
    to_owner_id: int | None
    team: str
    reason: str


@dataclass(frozen=True)
class SlaTemplates:
    """The escalation templates (Slack and email, one per language), loaded once per run."""

    environment: jinja2.Environment

    @classmethod
    def load(cls, directory: Path = SLA_TEMPLATES_DIR) -> "SlaTemplates":
        """Load templates from `directory` (strict: an undefined variable is an error)."""
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
        )
        environment.filters["mrkdwn"] = mrkdwn
        return cls(environment=environment)

    def slack(self, language: str, context: Mapping[str, Any]) -> dict[str, Any]:
        """Render `slack.<language>.j2` into a {"text", "blocks"} payload within Slack's limits."""
        payload = json.loads(self.environment.get_template(f"slack.{language}.j2")
                             .render(**context))
        if not isinstance(payload, dict) or "blocks" not in payload:
            raise ValueError(f"slack.{language}.j2 must render an object with blocks")
        return fit_slack_limits(payload)

    def email(self, language: str, context: Mapping[str, Any]) -> tuple[str, str]:
        """Render `email.<language>.j2`: its `subject` variable and its plain-text body."""
        module = self.environment.get_template(f"email.{language}.j2").make_module(
            dict(context)
        )
        return str(getattr(module, "subject", "")).strip(), str(module).strip() + "\n"


def lateness(escalation: Escalation) -> dict[str, int]:
    """How late the escalated clock is at its hour, in whole days, hours and minutes.

    A follow-up level is late from its own due time; any other level from the SLA's.
    """
    due = escalation.due_at if escalation.touches_needed else escalation.clock_due_at
    late = max(escalation.at - due, timedelta(0))
    minutes = int(late.total_seconds() // 60)
    return {"days": minutes // 1440, "hours": minutes % 1440 // 60, "minutes": minutes % 60}


def _text(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value).strip() or None


def _local(value: object, tz: tzinfo) -> str | None:
    # pd.NaT is a datetime too: test for missing first.
    if value is None or pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    assert isinstance(value, datetime)
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def _person(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    slack_id = valid_slack_user_id(row.get("slack_user_id"))
    name = str(row.get("name") or row.get("email") or "?")
    return {"name": name, "email": str(row.get("email") or ""),
            "mention": f"<@{slack_id}>" if slack_id else mrkdwn(name), "slack_id": slack_id}


def _contact(row: Mapping[str, Any], tz: tzinfo) -> dict[str, Any]:
    parts = [_text(row.get("last_name")), _text(row.get("first_name"))]
    name = " ".join(p for p in parts if p) or str(row["email"])
    score = row.get("score")
    last_at = _local(row.get("last_at"), tz)
    return {
        "name": name,
        "email": str(row["email"]),
        "company": _text(row.get("company_name")) or _text(row.get("company_domain")) or "-",
        "score": "-" if score is None or pd.isna(score) else int(score),
        "last_touch": None if last_at is None else {
            "type": str(row.get("last_type")), "outcome": _text(row.get("last_outcome")),
            "at": last_at,
        },
    }


def compose_sla_messages(
    escalations: list[Escalation],
    *,
    owners: pd.DataFrame,
    context: pd.DataFrame,
    reassignments: Mapping[str, Reassignment],
    rules: Rules,
    templates: SlaTemplates,
    tz: tzinfo,
) -> list[OutboxMessage]:
    """Slack DMs, team-channel posts and internal emails for the escalations decided.

    `reassignments` maps an escalation's key to the owner change its level made.
    """
    language = rules.sla.language
    by_id = {int(r["owner_id"]): r for r in owners.to_dict("records")}
    by_email = {str(r["email"]).lower(): r for r in by_id.values()}
    contacts = {int(r["contact_id"]): r for r in context.to_dict("records")}
    descriptions = {p.name: p.description for p in rules.sla.policies}
    messages: list[OutboxMessage] = []
    for escalation in escalations:
        owner = by_id.get(escalation.owner_id) if escalation.owner_id is not None else None
        manager_email = _text(owner.get("manager_email")) if owner else None
        manager = by_email.get(manager_email.lower()) if manager_email else None
        change = reassignments.get(escalation.key)
        team = escalation.team
        channel = (rules.sla.team_channels.get(Team(team))
                   if team is not None and team in Team._value2member_map_ else None)
        people = {"owner": _person(owner), "manager": _person(manager) or (
            {"name": manager_email, "email": manager_email, "mention": mrkdwn(manager_email),
             "slack_id": None} if manager_email else None)}
        base: dict[str, Any] = {
            "policy": {"name": escalation.policy,
                       "description": descriptions.get(escalation.policy, escalation.policy)},
            "level": escalation.level,
            "action": escalation.action,
            "contact": _contact(contacts[escalation.contact_id], tz),
            **people,
            "reassigned": None if change is None else {
                "to": _person(by_id.get(change.to_owner_id)) if change.to_owner_id else None},
            "late": lateness(escalation),
            "due_label": _local(
                escalation.due_at if escalation.touches_needed else escalation.clock_due_at, tz),
            "started_label": _local(escalation.started_at, tz),
            "touches": escalation.touches,
            "touches_needed": escalation.touches_needed,
            "team": team or "-",
        }
        recipients = list(escalation.notify) if owner else ["team_channel"]
        for recipient in recipients:
            for medium in escalation.via if owner else ("slack",):
                key = f"{escalation.key}:{recipient}:{medium}"
                values = {**base, "audience": recipient}
                kind = f"sla_{recipient}"
                if medium == "slack":
                    target = _slack_target(recipient, people=people, channel=channel)
                    if target is None:
                        continue
                    messages.append(OutboxMessage(
                        idempotency_key=key, channel=SLACK_CHANNEL, kind=kind,
                        contact_id=escalation.contact_id,
                        payload={**target, **templates.slack(language, values)}))
                    continue
                person = people.get(recipient)
                if person is None or not person["email"]:
                    continue
                subject, text = templates.email(language, values)
                messages.append(internal_email(
                    key=key, kind=kind, to=person["email"], to_name=person["name"],
                    subject=subject, text=text, contact_id=escalation.contact_id))
    return messages


def _slack_target(
    recipient: str, *, people: Mapping[str, dict[str, Any] | None], channel: str | None
) -> dict[str, str] | None:
    if recipient == "team_channel":
        return {"channel": channel} if channel else None
    person = people.get(recipient)
    return {"user": person["slack_id"]} if person and person["slack_id"] else None
