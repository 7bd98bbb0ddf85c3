"""Compose the Slack hand-off: Block Kit messages rendered from jinja2 templates.

Templates are loaded once in the read beat (`SlackTemplates.load`); rendering is pure,
so `compose_handoff_messages` turns decisions + context into outbox messages with
idempotency keys built from the transition's natural key.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
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


def _mrkdwn(value: object) -> str:
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
    text = _text(value)
    return text if text is not None and SLACK_USER_ID.fullmatch(text) else None


@dataclass(frozen=True)
class HandoffContext:
    """What a hand-off message shows about the contacts that moved."""

    contacts: pd.DataFrame
    reasons: dict[int, list[dict[str, object]]]
    activities: pd.DataFrame


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
        )
        environment.filters["mrkdwn"] = _mrkdwn
        environment.filters["touch_line"] = _touch_line
        return cls(environment=environment)

    def render(self, language: str, context: Mapping[str, Any]) -> dict[str, Any]:
        """Render `handoff.<language>.j2` into a {"text", "blocks"} payload."""
        rendered = self.environment.get_template(f"handoff.{language}.j2").render(**context)
        payload = json.loads(rendered)
        if not isinstance(payload, dict) or "blocks" not in payload:
            raise ValueError(f"handoff.{language}.j2 must render an object with blocks")
        return fit_slack_limits(payload)


def _touch_line(touch: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    label = labels.get(str(touch["type"]), str(touch["type"]))
    detail = f" — {_mrkdwn(touch['detail'])}" if touch.get("detail") else ""
    return f"• {_mrkdwn(touch['at'])} {_mrkdwn(label)}{detail}"


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def _display_name(row: Mapping[str, Any]) -> str:
    # Japanese order (family name first) reads naturally in both templates.
    parts = [_text(row.get("last_name")), _text(row.get("first_name"))]
    name = " ".join(p for p in parts if p)
    return name or str(row.get("email") or "?")


def _signal_labels(rules: Rules) -> dict[str, str]:
    labels: dict[str, str] = {}
    for behaviour in rules.scoring.behaviour.signals:
        labels[behaviour.name] = behaviour.description or behaviour.name
    for fit in rules.scoring.fit.signals:
        labels[fit.name] = fit.description or fit.name
    return labels


def top_reasons(
    signals: list[dict[str, object]], *, labels: Mapping[str, str], limit: int
) -> list[dict[str, object]]:
    """The signals that gave the most points, as {name, label, points, line}.

    A score breakdown names each entry's rule under `signal` (`name` is read as a fallback).
    """
    scored = [s for s in signals if isinstance(s.get("points"), int | float) and s["points"]]
    scored.sort(key=lambda s: (-float(s["points"]), _signal_name(s)))  # type: ignore[arg-type]
    reasons = []
    for signal in scored[:limit]:
        name = _signal_name(signal)
        label = labels.get(name, name)
        points = int(signal["points"])  # type: ignore[call-overload]
        reasons.append(
            {"name": name, "label": label, "points": points, "line": f"• {label} +{points}"}
        )
    return reasons


def _signal_name(signal: Mapping[str, object]) -> str:
    name = signal.get("signal", signal.get("name"))
    return "?" if name is None else str(name)


def compose_handoff_messages(
    decisions: PromotionDecisions,
    *,
    inputs: PromotionInputs,
    context: HandoffContext,
    rules: Rules,
    templates: SlackTemplates,
    tz: tzinfo,
) -> list[OutboxMessage]:
    """Hand-off messages for promoted contacts, plus hot-lead channel posts and owner DMs."""
    slack = rules.promotion.slack
    notify = {stage.value for stage in slack.notify_stages}
    contacts = _records(inputs.contacts, "contact_id")
    details = _records(context.contacts, "contact_id")
    owners = _records(inputs.owners, "owner_id")
    assigned = {a.contact_id: a.owner_id for a in decisions.assignments}
    stage_after = {t.contact_id: t for t in decisions.transitions}
    hot = {h.contact_id: h for h in decisions.hot}
    labels = _signal_labels(rules)
    recent: dict[int, list[dict[str, Any]]] = {}
    for touch in context.activities.to_dict("records"):
        recent.setdefault(int(touch["contact_id"]), []).append(touch)
    as_of_label = decisions.as_of.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")

    def owner_of(contact_id: int) -> dict[str, Any] | None:
        current = contacts[contact_id]["owner_id"]
        owner_id = assigned.get(contact_id, None if _missing(current) else int(current))
        return owners.get(owner_id) if owner_id is not None else None

    def render_for(contact_id: int, kind: str, rule: str) -> dict[str, Any]:
        row = details.get(contact_id, {})
        owner = owner_of(contact_id)
        transition = stage_after.get(contact_id)
        contact = contacts[contact_id]
        stage = transition.to_stage.value if transition else str(contact["lifecycle_stage"])
        score = contact["score"]
        touches = recent.get(contact_id, [])
        slack_id = valid_slack_user_id(owner.get("slack_user_id")) if owner else None
        return templates.render(
            slack.language,
            {
                "kind": kind,
                "rule": rule,
                "as_of_label": as_of_label,
                "contact": {
                    "name": _display_name(row) if row else str(contact["email"]),
                    "email": str(contact["email"]),
                    "job_title": _text(row.get("job_title")),
                    "company": _text(row.get("company_name"))
                    or _text(row.get("company_domain"))
                    or "-",
                    "lead_source": _text(row.get("lead_source")),
                    "stage": stage,
                    "score": "-" if _missing(score) else int(score),
                    "hot": contact_id in hot or not _missing(contact["hot_at"]),
                },
                "owner": None
                if owner is None
                else {
                    "name": owner["name"],
                    "mention": f"<@{slack_id}>" if slack_id else _mrkdwn(owner["name"]),
                },
                "reasons": top_reasons(
                    context.reasons.get(contact_id, []), labels=labels, limit=slack.top_reasons
                ),
                "activities": [
                    {
                        "type": t["type"],
                        "detail": _text(t["detail"]),
                        "at": _local(t["at"], tz),
                    }
                    for t in touches[: slack.latest_activities]
                ],
            },
        )

    messages: list[OutboxMessage] = []
    for transition in decisions.transitions:
        if transition.to_stage.value not in notify:
            continue
        payload = render_for(transition.contact_id, "handoff", transition.rule)
        messages.append(
            OutboxMessage(
                idempotency_key=f"slack:handoff:{transition.key}",
                channel=SLACK_CHANNEL,
                kind="handoff",
                contact_id=transition.contact_id,
                payload={"channel": slack.handoff_channel, **payload},
            )
        )
    for mark in decisions.hot:
        stamp = mark.at.strftime("%Y%m%dT%H%M%SZ")
        rule = stage_after[mark.contact_id].rule if mark.contact_id in stage_after else "hot"
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
        owner = owner_of(mark.contact_id)
        slack_id = valid_slack_user_id(owner.get("slack_user_id")) if owner else None
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


def _records(frame: pd.DataFrame, key: str) -> dict[int, dict[str, Any]]:
    return {int(row[key]): {str(k): v for k, v in row.items()} for row in frame.to_dict("records")}


def _missing(value: Any) -> bool:
    return value is None or bool(pd.isna(value))


def _local(value: object, tz: tzinfo) -> str:
    if isinstance(value, pd.Timestamp):
        # pandas' own astimezone is an order of magnitude slower than datetime's.
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        return str(value)
    return value.astimezone(tz).strftime("%m/%d %H:%M")
