"""A Slack Web API on loopback, answered like Slack does, for the real slack_sdk client."""

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

Failure = tuple[int, dict[str, str], str]


class FakeSlackApi:
    """A Slack Web API on 127.0.0.1 for the real slack_sdk WebClient.

    Answers `chat.postMessage` and `conversations.open` like Slack does, records every
    call, checks the bearer token, and can be told to answer the next calls of a method
    with an error (e.g. HTTP 429 with Retry-After, or HTTP 500). Point `Settings` at it
    with `slack_token=FakeSlackApi.TOKEN, slack_api_url=api.url`.

    Posted messages are kept per conversation id (a "#name" gets a stable `C…` id) with
    a wall-clock `ts` and their metadata, for `conversations.list` and
    `conversations.history` (`oldest`, `include_all_metadata`, `limit`, `cursor`).
    `hold_after_post(n)` keeps the answer to the n-th post back (it is already stored),
    so a test can kill the dispatcher while Slack has the message and it has no reply.
    """

    TOKEN = "xoxb-test-token"

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, object]]] = []
        self._failures: dict[str, list[Failure]] = {}
        self.messages: list[dict[str, object]] = []
        self.held = threading.Event()
        self._hold_after: int | None = None
        self._release = threading.Event()
        self._last_ts = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Base URL to pass as WebClient(base_url=...) / Settings(slack_api_url=...)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        headers: dict[str, str] | None = None,
        body: str = '{"ok": false, "error": "internal_error"}',
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with this status, headers and body."""
        with self._lock:
            self._failures.setdefault(method, []).extend([(status, headers or {}, body)] * times)

    def posted(self) -> list[dict[str, object]]:
        """The parameters of every chat.postMessage call that succeeded."""
        return [params for method, params in self.calls if method == "chat.postMessage:ok"]

    def hold_after_post(self, n: int) -> None:
        """Store the n-th successful post, set `held`, and answer it only on `close`."""
        self._hold_after = n

    @staticmethod
    def channel_id(channel: str) -> str:
        """The conversation id the fake gives a "#name" (ids are kept as they are)."""
        if not channel.startswith("#"):
            return channel
        return "C" + hashlib.sha1(channel.encode()).hexdigest()[:9].upper()

    def close(self) -> None:
        """Stop the server."""
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def _record(self, method: str, params: dict[str, object]) -> Failure | None:
        with self._lock:
            self.calls.append((method, params))
            queued = self._failures.get(method) or []
            return queued.pop(0) if queued else None

    def _answer(self, method: str, params: dict[str, object]) -> dict[str, object]:
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": f"D{params.get('users')}"}}
        if method == "chat.postMessage":
            channel = str(params.get("channel") or "")
            if not channel or channel == "#missing":
                return {"ok": False, "error": "channel_not_found"}
            with self._lock:
                self.calls.append(("chat.postMessage:ok", params))
                self._last_ts = max(time.time(), self._last_ts + 0.000001)
                message = {
                    "channel": self.channel_id(channel),
                    "name": channel.removeprefix("#") if channel.startswith("#") else None,
                    "ts": f"{self._last_ts:.6f}",
                    "text": params.get("text"),
                    "metadata": params.get("metadata"),
                }
                self.messages.append(message)
                hold = len(self.messages) == self._hold_after
            if hold:
                self.held.set()
                self._release.wait(timeout=60)
            return {"ok": True, "channel": message["channel"], "ts": message["ts"]}
        if method == "conversations.list":
            with self._lock:
                named = {str(m["name"]): str(m["channel"]) for m in self.messages if m["name"]}
            channels = [{"id": cid, "name": name} for name, cid in sorted(named.items())]
            return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}
        if method == "conversations.history":
            return self._history(params)
        return {"ok": False, "error": "unknown_method"}

    def _history(self, params: dict[str, object]) -> dict[str, object]:
        channel = str(params.get("channel") or "")
        if channel.startswith("#"):
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(str(params.get("oldest") or 0))
        with_metadata = str(params.get("include_all_metadata")).lower() in ("1", "true")
        with self._lock:
            found = [
                {"type": "message", "ts": m["ts"], "text": m["text"]}
                | ({"metadata": m["metadata"]} if with_metadata and m["metadata"] else {})
                for m in reversed(self.messages)
                if m["channel"] == channel and float(str(m["ts"])) > oldest
            ]
        start = int(str(params.get("cursor") or 0))
        limit = int(str(params.get("limit") or 100))
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": found[start : start + limit],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                self._handle(url.path.rsplit("/", 1)[-1], dict(parse_qsl(url.query)))

            def do_POST(self) -> None:
                method = self.path.rsplit("/", 1)[-1]
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    params: dict[str, object] = json.loads(raw or "{}")
                else:
                    params = dict(parse_qsl(raw))
                self._handle(method, params)

            def _handle(self, method: str, params: dict[str, object]) -> None:
                failure = api._record(method, params)
                if failure is not None:
                    status, headers, body = failure
                    self._send(status, body, headers)
                    return
                if self.headers.get("Authorization") != f"Bearer {api.TOKEN}":
                    self._send(200, json.dumps({"ok": False, "error": "invalid_auth"}))
                    return
                self._send(200, json.dumps(api._answer(method, params)))

            def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler
