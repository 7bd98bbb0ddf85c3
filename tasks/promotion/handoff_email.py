"""Compose the owner's hand-off email: plain text rendered from templates/internal/.

Every Slack hand-off with an owner also emails that owner (the internal-email outbox
channel): who the lead is, why it scored, what it did lately, and what to do next —
the first-touch deadline of the SLA rules and how to log the touch. Rendering is pure;
keys derive from the hand-off's natural key, so a rerun enqueues nothing new.
"""

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import pandas as pd
import pandera.pandas as pa

from leadflow.paths import TEMPLATES_DIR
from models.messages import OutboxMessage
from models.rules import Rules
from models.sla_rules import SlaPolicy
from tasks.internal_email import internal_email
from tasks.promotion.decide import PromotionDecisions, PromotionInputs
from tasks.promotion.handoff_facts import HandoffContext, HandoffFacts
from tasks.sla.calendar import BusinessCalendar

INTERNAL_TEMPLATES_DIR = TEMPLATES_DIR / "internal"
HANDOFF_EMAIL_KIND = "handoff_email"


@dataclass(frozen=True)
class InternalTemplates:
    """Plain-text internal email templates (`<name>.<language>.txt.j2`), loaded once a run.

    A template renders the subject on its first line, a blank line, then the body.
    """

    environment: jinja2.Environment

    @classmethod
    def load(cls, directory: Path = INTERNAL_TEMPLATES_DIR) -> "InternalTemplates":
        """Load templates from `directory` (strict: an undefined variable is an error)."""
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            # Loaded once a run: no file check per message.
            auto_reload=False,
        )
        environment.filters["shell"] = lambda value: shlex.quote(str(value))
        return cls(environment=environment)

    def render(self, name: str, language: str, context: Mapping[str, Any]) -> tuple[str, str]:
        """Render `<name>.<language>.txt.j2` into (subject, body)."""
        template = f"{name}.{language}.txt.j2"
        rendered = self.environment.get_template(template).render(**context)
        subject, blank, body = rendered.lstrip("\n").partition("\n\n")
        if not blank or not subject.strip() or "\n" in subject.strip():
            raise ValueError(f"{template} must render a one-line subject, a blank line, a body")
        return subject.strip(), body.strip() + "\n"


def first_touch_policy(rules: Rules) -> SlaPolicy | None:
    """The SLA policy that asks for the first sales touch (stop: one touch), if any."""
    return next((p for p in rules.sla.policies if p.until.touches == 1), None)


def _first_touch(
    facts: HandoffFacts, contact_id: int, *, calendar: BusinessCalendar, policy: SlaPolicy | None
) -> dict[str, Any] | None:
    if policy is None:
        return None
    started = facts.entered_at(contact_id) if policy.start == "mql" else facts.decisions.as_of
    due = calendar.add(started, policy.due)
    return {
        "amount": policy.due.amount,
        "unit": policy.due.unit,
        "due_label": due.astimezone(calendar.zone).strftime("%Y-%m-%d %H:%M %Z"),
        "overdue": due <= facts.decisions.as_of,
    }


def handoff_emails_schema() -> pa.DataFrameSchema:
    """Hand-off emails to enqueue: unique keys, an address, a subject and a body."""
    return pa.DataFrameSchema(
        {
            "idempotency_key": pa.Column(str, pa.Check.str_length(1, 255), unique=True),
            "to": pa.Column(str, pa.Check.str_contains("@")),
            "subject": pa.Column(str, pa.Check.str_length(1, 998)),
            "text": pa.Column(str, pa.Check.str_length(min_value=1)),
        },
        strict=False,
    )


def compose_handoff_emails(
    decisions: PromotionDecisions,
    *,
    inputs: PromotionInputs,
    context: HandoffContext,
    rules: Rules,
    templates: InternalTemplates,
    tz: ZoneInfo,
    facts: HandoffFacts | None = None,
) -> list[OutboxMessage]:
    """One email to the owner per hand-off (promotion or late assignment) that has one.
    `facts`: the run's hand-off facts, when already built."""
    if facts is None:
        facts = HandoffFacts(decisions, inputs=inputs, context=context, rules=rules, tz=tz)
    calendar = BusinessCalendar(rules.calendar, tz)
    policy = first_touch_policy(rules)
    language = rules.promotion.slack.language
    messages: list[OutboxMessage] = []
    for handoff in facts.handoffs():
        owner = facts.owner_of(handoff.contact_id)
        if owner is None or not isinstance(owner.get("email"), str):
            continue
        subject, text = templates.render(
            "handoff",
            language,
            {
                **facts.about(handoff.contact_id, kind="handoff", rule=handoff.rule),
                "late": handoff.late,
                "owner": {"name": owner["name"], "email": owner["email"]},
                "first_touch": _first_touch(
                    facts, handoff.contact_id, calendar=calendar, policy=policy
                ),
            },
        )
        messages.append(
            internal_email(
                key=f"handoff-email:{handoff.key}",
                kind=HANDOFF_EMAIL_KIND,
                to=str(owner["email"]),
                to_name=str(owner["name"]),
                subject=subject,
                text=text,
                contact_id=handoff.contact_id,
            )
        )
    if messages:
        handoff_emails_schema().validate(
            pd.DataFrame(
                [{"idempotency_key": m.idempotency_key, **m.payload} for m in messages]
            )
        )
    return messages
