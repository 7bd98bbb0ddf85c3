"""Slack adapter: posts outbox rows with slack-sdk's WebClient, or prints them locally.

An outbox payload is either `{"channel": "#name", "text", "blocks"}` or, for a direct
message, `{"user": "U…", "text", "blocks"}` (conversations.open, then
chat.postMessage). The WebClient itself retries a short rate limit (honouring
Retry-After), 5xx answers and dropped connections with backoff; what still fails is
translated into the outbox's transient/permanent errors so the dispatcher keeps the
row pending (with the server's Retry-After) or fails it.

Every post carries the row's idempotency key in its message metadata
(`event_type` `leadflow_outbox`). When a row is in doubt — an earlier attempt crashed
or failed mid-send — the sender first reads the conversation's history since that
attempt (`conversations.history` with `include_all_metadata`) and posts only if no
message carries the key. Scopes: chat:write, im:write, channels:read, groups:read and
channels:history, groups:history, im:history.
"""

import json
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TextIO
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from leadflow.settings import Settings
from models.messages import OutboxRow, PermanentSendError, TransientSendError

# Slack error codes that mean "try again later" rather than "this message is wrong".
TRANSIENT_ERRORS = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}
# The token or app is unusable: every message would fail the same way, so stop and keep
# them all pending until an operator fixes the configuration.
CONFIGURATION_ERRORS = {
    "not_authed",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "missing_scope",
    "no_permission",
    "team_access_not_granted",
}


# Message metadata marking a post as an outbox message; its payload holds the key.
METADATA_EVENT_TYPE = "leadflow_outbox"
# History is read from this long before the first attempt (clock skew between hosts).
HISTORY_MARGIN = timedelta(minutes=2)
HISTORY_PAGE_SIZE = 200
HISTORY_MAX_PAGES = 25
# A conversation id (public, private or DM channel) rather than a "#name".
CONVERSATION_ID = re.compile(r"[CGD][A-Z0-9]{6,}")


class SlackNotConfigured(RuntimeError):
    """No Slack token: messages stay pending until one is configured."""


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Retries a 429 after its Retry-After, but only when the wait is short.

    A long Retry-After would block the whole flow run; such a row goes back to the
    outbox with `not_before` set from the header instead.
    """

    def __init__(self, *, max_wait_seconds: float, max_retry_count: int = 1) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_seconds = max_wait_seconds

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = _retry_after({k: v[0] for k, v in response.headers.items() if v})
        return wait is not None and wait <= self.max_wait_seconds


def make_web_client(
    *,
    token: str,
    base_url: str,
    timeout: int = 10,
    max_rate_limit_wait: float = 5.0,
    retries: int = 2,
    backoff_factor: float = 0.5,
) -> WebClient:
    """A WebClient that retries short rate limits, 5xx and connection errors itself."""
    interval = BackoffRetryIntervalCalculator(backoff_factor=backoff_factor)
    handlers: list[RetryHandler] = [
        BoundedRateLimitRetryHandler(max_wait_seconds=max_rate_limit_wait),
        ServerErrorRetryHandler(max_retry_count=retries, interval_calculator=interval),
        ConnectionErrorRetryHandler(max_retry_count=retries, interval_calculator=interval),
    ]
    return WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=handlers)


def _retry_after(headers: dict[str, Any]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                return None
    return None


class SlackSender:
    """Sends one outbox row through the Slack Web API; raises the outbox's send errors."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._channel_ids: dict[str, str] | None = None

    def __call__(self, row: OutboxRow) -> None:
        """Post the row's message (opening a DM first when it targets a user).

        A row in doubt is posted only when the conversation's history has no message
        with its idempotency key yet.
        """
        payload = row.payload
        try:
            channel = payload.get("channel")
            direct = not channel and bool(payload.get("user"))
            if direct:
                opened = self.client.conversations_open(users=str(payload["user"]))
                channel = opened["channel"]["id"]
            if not channel:
                raise PermanentSendError("payload has neither channel nor user")
            if row.in_doubt and self.already_posted(str(channel), row, is_id=direct):
                return
            self.client.chat_postMessage(
                channel=str(channel),
                text=str(payload.get("text") or ""),
                blocks=payload.get("blocks"),
                unfurl_links=False,
                metadata=outbox_metadata(row.idempotency_key),
            )
        except SlackApiError as error:
            raise _translate(error) from error
        except (URLError, ConnectionError, TimeoutError) as error:
            raise TransientSendError(f"network: {error}") from error

    def already_posted(self, channel: str, row: OutboxRow, *, is_id: bool = False) -> bool:
        """Whether `channel`'s history since the row's first attempt holds its key."""
        conversation = channel if is_id else self.conversation_id(channel)
        if conversation is None:
            return False  # not a conversation the app can see: nothing went there
        since = (row.first_attempt_at or row.created_at) - HISTORY_MARGIN
        cursor: str | None = None
        for _ in range(HISTORY_MAX_PAGES):
            page = self.client.conversations_history(
                channel=conversation,
                oldest=f"{since.timestamp():.6f}",
                include_all_metadata=True,
                limit=HISTORY_PAGE_SIZE,
                cursor=cursor,
            )
            if any(
                _idempotency_key(message) == row.idempotency_key
                for message in page.get("messages") or []
            ):
                return True
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return False
        raise TransientSendError(
            f"could not check {channel} for an earlier post: history longer than "
            f"{HISTORY_MAX_PAGES * HISTORY_PAGE_SIZE} messages"
        )

    def conversation_id(self, channel: str) -> str | None:
        """The id of a channel given as an id or "#name" (names via conversations.list)."""
        if CONVERSATION_ID.fullmatch(channel):
            return channel
        if self._channel_ids is None:
            self._channel_ids = {}
            cursor: str | None = None
            while True:
                page = self.client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=1000,
                    cursor=cursor,
                )
                for found in page.get("channels") or []:
                    self._channel_ids[str(found["name"])] = str(found["id"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
        return self._channel_ids.get(channel.removeprefix("#"))


def outbox_metadata(idempotency_key: str) -> dict[str, Any]:
    """The message metadata that lets a later attempt find this post."""
    return {
        "event_type": METADATA_EVENT_TYPE,
        "event_payload": {"idempotency_key": idempotency_key},
    }


def _idempotency_key(message: dict[str, Any]) -> str | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != METADATA_EVENT_TYPE:
        return None
    key = (metadata.get("event_payload") or {}).get("idempotency_key")
    return str(key) if key is not None else None


def _translate(error: SlackApiError) -> Exception:
    response = error.response
    status = response.status_code
    code = str(response.get("error", "") if isinstance(response.data, dict) else "")
    if status == 429 or code == "ratelimited":
        wait = _retry_after(dict(response.headers))
        return TransientSendError(
            f"HTTP {status} rate limited", retry_after=wait if wait is not None else 1.0
        )
    if status >= 500 or code in TRANSIENT_ERRORS:
        return TransientSendError(f"HTTP {status} {code}".strip())
    if code in CONFIGURATION_ERRORS:
        return TransientSendError(f"Slack configuration: {code}", halt=True)
    return PermanentSendError(f"HTTP {status} {code}".strip())


class ConsoleSlackSender:
    """Development sender: prints each message's Block Kit JSON instead of posting it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def __call__(self, row: OutboxRow) -> None:
        """Print the row's target and blocks."""
        target = row.payload.get("channel") or f"@{row.payload.get('user')}"
        stream = self.stream or sys.stdout
        print(f"--- slack {row.kind} → {target} ({row.idempotency_key})", file=stream)
        print(json.dumps(row.payload.get("blocks"), ensure_ascii=False, indent=2), file=stream)


def resolve_slack_token(settings: Settings) -> str | None:
    """The token from LEADFLOW_SLACK_TOKEN, else from the named Prefect Secret block."""
    if settings.slack_token:
        return settings.slack_token.get_secret_value()
    if settings.slack_token_secret:
        from prefect.blocks.system import Secret

        value = Secret.load(settings.slack_token_secret).get()  # type: ignore[union-attr]
        return str(value) if value else None
    return None


def slack_sender(settings: Settings) -> Callable[[OutboxRow], None]:
    """The configured sender: the Web API, or the console when LEADFLOW_SLACK_CONSOLE is set.

    Raises `SlackNotConfigured` (once, before anything is sent) when there is no token.
    """
    if settings.slack_console:
        return ConsoleSlackSender()
    token = resolve_slack_token(settings)
    if not token:
        raise SlackNotConfigured(
            "no Slack token: set LEADFLOW_SLACK_TOKEN or LEADFLOW_SLACK_TOKEN_SECRET "
            "(a Prefect Secret block); Slack messages stay pending in the outbox"
        )
    return SlackSender(make_web_client(token=token, base_url=settings.slack_api_url))
