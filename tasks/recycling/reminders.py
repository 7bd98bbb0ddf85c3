"""Composing retry reminders: a Slack DM and an internal email to the owner (pure).

"Today is the re-approach date you agreed with this lead": who, when, the note left with
the retry status, and what to do. Japanese by default, English when `sla.language` says
so. Each message's key is (contact, retry date), so a reminder goes out once that day
however many hours decide it.
"""

import shlex
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

import pandas as pd
import pandera.pandas as pa

from models.messages import OutboxMessage
from tasks.internal_email import INTERNAL_EMAIL_CHANNEL, internal_email
from tasks.promotion.handoff import (
    SLACK_CHANNEL,
    fit_slack_limits,
    slack_escaped,
    valid_slack_user_id,
)
from tasks.recycling.decisions import RecyclingDecisions, RetryReminder
from tasks.recycling.frames import RecyclingFrames, cell_text, records

KIND = "retry_reminder"

TEXTS: dict[str, dict[str, str]] = {
    "ja": {
        "subject": "【本日再アプローチ】{contact}（{company}）",
        "greeting": "{owner} さん",
        "today": "本日 {date} は {contact} 様（{company}）への再アプローチ予定日です"
        "（予定時刻 {time}）。",
        "note": "前回のメモ: {note}",
        "todo": "対応のお願い:\n"
        "1. 本日中にご連絡ください（電話またはメール）。\n"
        "2. 結果を記録してください: leadflow log-activity {email_arg} --type call "
        "--outcome connected（不在なら no_answer）\n"
        "3. 結論が出たらステータスを更新してください: leadflow set-status {email_arg} "
        "sales_ready / retry --retry-at <次回日時> / recycle --reason <理由> / unqualified",
        "no_company": "会社名未登録",
    },
    "en": {
        "subject": "Re-approach today: {contact} ({company})",
        "greeting": "Hi {owner},",
        "today": "Today, {date}, is the re-approach date you agreed with {contact} "
        "({company}) (planned for {time}).",
        "note": "Note from last time: {note}",
        "todo": "What to do:\n"
        "1. Contact them today (call or email).\n"
        "2. Log the result: leadflow log-activity {email_arg} --type call --outcome connected "
        "(no_answer if you could not reach them)\n"
        "3. Once decided, update the status: leadflow set-status {email_arg} sales_ready / "
        "retry --retry-at <next date> / recycle --reason <why> / unqualified",
        "no_company": "company unknown",
    },
}


def reminder_messages_schema() -> pa.DataFrameSchema:
    """Reminder messages: unique keys, Slack DMs to a user, emails to an address."""

    def has_target(frame: pd.DataFrame) -> pd.Series:
        return frame.apply(
            lambda row: bool(row["payload"].get("user"))
            if row["channel"] == SLACK_CHANNEL
            else bool(row["payload"].get("to")),
            axis=1,
        ).astype(bool)

    return pa.DataFrameSchema(
        {
            "idempotency_key": pa.Column(str, pa.Check.str_length(1, 255), unique=True),
            "channel": pa.Column(str, pa.Check.isin([SLACK_CHANNEL, INTERNAL_EMAIL_CHANNEL])),
            "payload": pa.Column(object),
        },
        checks=[pa.Check(has_target, error="a reminder needs a recipient")],
        strict=False,
    )


def compose_retry_reminders(
    decisions: RecyclingDecisions, frames: RecyclingFrames, *, language: str, tz: tzinfo
) -> list[OutboxMessage]:
    """A Slack DM (owners with a Slack id) and an internal email per decided reminder."""
    texts = TEXTS[language]
    contacts = _rows(frames.contacts, "contact_id", {r.contact_id for r in decisions.reminders})
    owners = _rows(frames.owners, "owner_id", {r.owner_id for r in decisions.reminders})
    messages: list[OutboxMessage] = []
    for reminder in decisions.reminders:
        owner = owners.get(reminder.owner_id)
        contact = contacts.get(reminder.contact_id)
        if owner is None or contact is None:
            continue
        words = _words(reminder, contact, owner, texts, tz)
        body = _body(words, texts, note=reminder.note)
        day = reminder.retry_at.astimezone(tz).date().isoformat()
        slack_id = valid_slack_user_id(owner.get("slack_user_id"))
        if slack_id:
            messages.append(_slack_dm(reminder, slack_id, words, texts, note=reminder.note,
                                      day=day))
        address = cell_text(owner.get("email"))
        if address:
            messages.append(
                internal_email(
                    key=f"internal_email:{KIND}:{reminder.contact_id}:{day}", kind=KIND,
                    to=address, to_name=cell_text(owner.get("name")),
                    subject=texts["subject"].format(**words), text=body,
                    contact_id=reminder.contact_id,
                )
            )
    if messages:
        reminder_messages_schema().validate(
            pd.DataFrame(
                [
                    {"idempotency_key": m.idempotency_key, "channel": m.channel,
                     "payload": m.payload}
                    for m in messages
                ]
            )
        )
    return messages


def _slack_dm(
    reminder: RetryReminder, slack_id: str, words: Mapping[str, str], texts: Mapping[str, str],
    *, note: str | None, day: str,
) -> OutboxMessage:
    escaped = {k: slack_escaped(v) for k, v in words.items()}
    lines = [texts["today"].format(**escaped)]
    if note:
        lines.append(texts["note"].format(note=slack_escaped(note)))
    todo = slack_escaped(texts["todo"].format(**words))
    payload = fit_slack_limits(
        {
            "user": slack_id,
            "text": texts["subject"].format(**escaped),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
                {"type": "section", "text": {"type": "mrkdwn", "text": todo}},
            ],
        }
    )
    return OutboxMessage(
        idempotency_key=f"slack:{KIND}:{reminder.contact_id}:{day}", channel=SLACK_CHANNEL,
        kind=KIND, contact_id=reminder.contact_id, payload=payload,
    )


def _words(
    reminder: RetryReminder, contact: Mapping[str, Any], owner: Mapping[str, Any],
    texts: Mapping[str, str], tz: tzinfo,
) -> dict[str, str]:
    local: datetime = reminder.retry_at.astimezone(tz)
    # Family name first: reads naturally in both languages' templates (as the hand-off).
    parts = (cell_text(contact["last_name"]), cell_text(contact["first_name"]))
    name = " ".join(p for p in parts if p)
    return {
        "contact": name or str(contact["email"]),
        "company": cell_text(contact["company_name"]) or texts["no_company"],
        "email": str(contact["email"]),
        # Pasted into a shell by the owner: quoted, whatever the address holds.
        "email_arg": shlex.quote(str(contact["email"])),
        "owner": cell_text(owner.get("name")) or str(owner.get("email") or ""),
        "date": local.strftime("%Y-%m-%d"),
        "time": local.strftime("%H:%M"),
    }


def _body(words: Mapping[str, str], texts: Mapping[str, str], *, note: str | None) -> str:
    parts = [texts["greeting"].format(**words), "", texts["today"].format(**words)]
    if note:
        parts.append(texts["note"].format(note=note))
    parts += ["", texts["todo"].format(**words)]
    return "\n".join(parts) + "\n"


def _rows(frame: pd.DataFrame, key: str, wanted: set[int]) -> dict[int, dict[str, Any]]:
    """The rows of the `wanted` keys only: a frame of every candidate can be large."""
    if not wanted:
        return {}
    ids = pd.to_numeric(frame[key], errors="coerce")
    return {int(r[key]): r for r in records(frame[ids.isin(list(wanted)).to_numpy()])}
