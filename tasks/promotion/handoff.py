"""Compose the Slack hand-off: Block Kit messages rendered from jinja2 templates.

Templates are loaded once in the read beat (`SlackTemplates.load`); rendering is pure,
so `compose_handoff_messages` turns decisions + context into outbox messages with
idempotency keys built from the transition's natural key.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from leadflow.paths import TEMPLATES_DIR
from models.messages import OutboxMessage
from models.promotion_schemas import outbox_messages_schema
from models.rules import Rules
from models.schemas import SLACK_USER_ID_PATTERN
from tasks.promotion.decide import PromotionDecisions, PromotionInputs
from tasks.promotion.handoff_facts import HandoffContext, HandoffFacts, text_or_none

SLACK_CHANNEL = "slack"
SLACK_TEMPLATES_DIR = TEMPLATES_DIR / "slack"
SLACK_USER_ID = re.compile(SLACK_USER_ID_PATTERN)

# Slack's Block Kit limits: a message over any of them is refused with `invalid_blocks`,
# and the hand-off would be lost, so text is cut to fit (with an ellipsis) instead.
MAX_BLOCKS = 50
MAX_HEADER_TEXT = 150
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_CONTEXT_ELEMENTS = 10
# Slack truncates the top-level text itself only past 40,000; notifications show far less.
MAX_MESSAGE_TEXT = 4000
ELLIPSIS = "…"
# An entity or a <…> token cut in half would show as garbage or break the mention.
_OPEN_TOKEN = re.compile(r"(?:&[a-z]*|<[^>]*)\Z")


def slack_escaped(value: object) -> str:
    """`value` as text safe in any Slack text field: & < > escaped, None as empty."""
    # Slack treats &, < and > as control characters in every text it receives (mrkdwn,
    # plain_text and the top-level text): <!channel> or <https://…|label> would be live.
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_length(text: str) -> int:
    """The length of `text` as Slack may count it: UTF-16 code units (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def truncate_slack_text(text: str, limit: int) -> str:
    """`text` cut to at most `limit` (UTF-16 units) with an ellipsis, never inside an
    `&amp;`-style entity or a `<@U…>` mention."""
    if slack_length(text) <= limit:
        return text
    budget = limit - slack_length(ELLIPSIS)
    cut: list[str] = []
    used = 0
    for character in text:
        size = slack_length(character)
        if used + size > budget:
            break
        cut.append(character)
        used += size
    return _OPEN_TOKEN.sub("", "".join(cut)) + ELLIPSIS


def fit_slack_limits(payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` with its text, blocks, fields and elements cut to Slack's limits."""
    out = dict(payload)
    if isinstance(out.get("text"), str):
        out["text"] = truncate_slack_text(out["text"], MAX_MESSAGE_TEXT)
    blocks = [_fit_block(block) for block in out.get("blocks") or []]
    out["blocks"] = blocks[:MAX_BLOCKS]
    return out


def _fit_block(block: dict[str, Any]) -> dict[str, Any]:
    out = dict(block)
    kind = out.get("type")
    if kind == "header":
        out["text"] = _fit_text(out.get("text"), MAX_HEADER_TEXT)
    elif kind == "section":
        if "text" in out:
            out["text"] = _fit_text(out["text"], MAX_SECTION_TEXT)
        if "fields" in out:
            out["fields"] = [_fit_text(f, MAX_FIELD_TEXT) for f in out["fields"][:MAX_FIELDS]]
    elif kind == "context":
        out["elements"] = [
            _fit_text(element, MAX_SECTION_TEXT)
            for element in out.get("elements", [])[:MAX_CONTEXT_ELEMENTS]
        ]
    return out


def _fit_text(text_object: Any, limit: int) -> Any:
    if not isinstance(text_object, dict) or not isinstance(text_object.get("text"), str):
        return text_object
    return {**text_object, "text": truncate_slack_text(text_object["text"], limit)}


def valid_slack_user_id(value: object) -> str | None:
    """`value` when it is a Slack user id (U… or W…), else None: never mention anything else."""
    text = text_or_none(value)
    return text if text is not None and SLACK_USER_ID.fullmatch(text) else None


@dataclass(frozen=True)
class SlackTemplates:
    """The hand-off templates, one per language, loaded once per run."""

    environment: jinja2.Environment

    @classmethod
    def load(cls, directory: Path = SLACK_TEMPLATES_DIR) -> "SlackTemplates":
        """Load templates from `directory` (strict: an undefined variable is an error)."""
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            # Loaded once a run: no file check per message.
            auto_reload=False,
        )
        environment.filters["mrkdwn"] = slack_escaped
        environment.filters["tojson"] = _json_value
        environment.filters["touch_line"] = _touch_line
        return cls(environment=environment)

    def render(self, language: str, context: Mapping[str, Any]) -> dict[str, Any]:
        """Render `handoff.<language>.j2` into a {"text", "blocks"} payload."""
        rendered = self.environment.get_template(f"handoff.{language}.j2").render(**context)
        payload = json.loads(rendered)
        if not isinstance(payload, dict) or "blocks" not in payload:
            raise ValueError(f"handoff.{language}.j2 must render an object with blocks")
        return fit_slack_limits(payload)


def _json_value(value: Any) -> str:
    """A value as JSON inside the rendered payload (parsed right after rendering, so
    jinja's HTML-safe escaping of <, > and & would only cost time)."""
    return json.dumps(value, sort_keys=True)


def _touch_line(touch: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    label = labels.get(str(touch["type"]), str(touch["type"]))
    detail = f" — {slack_escaped(touch['detail'])}" if touch.get("detail") else ""
    return f"• {slack_escaped(touch['at'])} {slack_escaped(label)}{detail}"


def compose_handoff_messages(
    decisions: PromotionDecisions,
    *,
    inputs: PromotionInputs,
    context: HandoffContext,
    rules: Rules,
    templates: SlackTemplates,
    tz: tzinfo,
    facts: HandoffFacts | None = None,
) -> list[OutboxMessage]:
    """Hand-off messages for promoted and late-assigned contacts, plus hot-lead channel
    posts and owner DMs. `facts`: the run's hand-off facts, when already built."""
    slack = rules.promotion.slack
    if facts is None:
        facts = HandoffFacts(decisions, inputs=inputs, context=context, rules=rules, tz=tz)

    def slack_id_of(contact_id: int) -> str | None:
        owner = facts.owner_of(contact_id)
        return valid_slack_user_id(owner.get("slack_user_id")) if owner else None

    def render_for(contact_id: int, kind: str, rule: str) -> dict[str, Any]:
        owner = facts.owner_of(contact_id)
        slack_id = slack_id_of(contact_id)
        return templates.render(
            slack.language,
            {
                **facts.about(contact_id, kind=kind, rule=rule),
                "owner": None
                if owner is None
                else {
                    "name": owner["name"],
                    "mention": f"<@{slack_id}>" if slack_id else slack_escaped(owner["name"]),
                },
            },
        )

    messages: list[OutboxMessage] = []
    for handoff in facts.handoffs():
        payload = render_for(handoff.contact_id, "handoff", handoff.rule)
        messages.append(
            OutboxMessage(
                idempotency_key=f"slack:handoff:{handoff.key}",
                channel=SLACK_CHANNEL,
                kind="handoff",
                contact_id=handoff.contact_id,
                payload={"channel": slack.handoff_channel, **payload},
            )
        )
    for mark in decisions.hot:
        stamp = mark.at.strftime("%Y%m%dT%H%M%SZ")
        moved = facts.stage_after.get(mark.contact_id)
        rule = moved.rule if moved else "hot"
        payload = render_for(mark.contact_id, "hot", rule)
        messages.append(
            OutboxMessage(
                idempotency_key=f"slack:hot:{mark.contact_id}:{stamp}",
                channel=SLACK_CHANNEL,
                kind="hot",
                contact_id=mark.contact_id,
                payload={"channel": slack.hot_channel, **payload},
            )
        )
        slack_id = slack_id_of(mark.contact_id)
        if slack.dm_owner_on_hot and slack_id:
            messages.append(
                OutboxMessage(
                    idempotency_key=f"slack:hot-dm:{mark.contact_id}:{stamp}",
                    channel=SLACK_CHANNEL,
                    kind="hot_dm",
                    contact_id=mark.contact_id,
                    payload={"user": slack_id, **render_for(mark.contact_id, "hot_dm", rule)},
                )
            )
    if messages:
        outbox_messages_schema().validate(
            pd.DataFrame(
                [
                    {
                        "idempotency_key": m.idempotency_key,
                        "channel": m.channel,
                        "kind": m.kind,
                        "payload": m.payload,
                    }
                    for m in messages
                ]
            )
        )
    return messages
