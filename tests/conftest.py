"""Shared fixtures: real databases (SQLite file and PostgreSQL) with migrations applied.

PostgreSQL comes from LEADFLOW_TEST_DATABASE_URL (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test). The schema is migrated once per
session and emptied before each test, so tests never see each other's rows. Without the
variable the PostgreSQL cases skip with a message; under CI=true a missing PostgreSQL is
an error, never a silent skip.
"""

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from leadflow.db import make_engine, upgrade

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

POSTGRES_URL_ENV = "LEADFLOW_TEST_DATABASE_URL"


def postgres_base_url() -> str | None:
    """The PostgreSQL URL for tests, or None when none is configured (fails under CI)."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url and os.environ.get("CI") == "true":
        raise RuntimeError(f"CI=true but {POSTGRES_URL_ENV} is not set: PostgreSQL tests must run")
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "leadflow.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str | None]:
    """A private PostgreSQL schema migrated once per session (None without PostgreSQL)."""
    base = postgres_base_url()
    if not base:
        yield None
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    upgrade(rendered)
    try:
        yield rendered
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _empty_all_tables(url: str) -> None:
    from models.tables import Base

    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_schema_url: str | None,
) -> str:
    """A migrated, empty database URL: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path / "leadflow.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    if postgres_schema_url is None:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_URL_ENV} to run this case")
    _empty_all_tables(postgres_schema_url)
    return postgres_schema_url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the migrated test database (SQLite and PostgreSQL)."""
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """An engine on a migrated SQLite file, for tests that need only one store."""
    path = tmp_path / "leadflow.db"
    shutil.copyfile(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


class Seeder:
    """Writes companies, contacts and events straight into the tables for a test."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._event_seq = 0

    def contact(
        self,
        email: str,
        *,
        job_title: str | None = None,
        industry: str | None = None,
        employee_count: int | None = None,
        region: str | None = None,
        at: datetime | None = None,
        **extra: object,
    ) -> int:
        """Insert a contact and return its id."""
        from sqlalchemy import insert

        from models.tables import Contact

        when = at or datetime(2026, 1, 1, tzinfo=UTC)
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(Contact).values(
                    email=email, job_title=job_title, industry=industry,
                    employee_count=employee_count, region=region, created_at=when,
                    updated_at=when, **extra,
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def event(
        self, contact_id: int, type_: str, detail: str | None, occurred_at: datetime,
        *, ingested_at: datetime | None = None,
    ) -> None:
        """Append one event to the ledger."""
        from sqlalchemy import insert

        from models.tables import Event

        self._event_seq += 1
        with self.engine.begin() as conn:
            conn.execute(
                insert(Event).values(
                    source_event_id=f"test-{contact_id}-{self._event_seq}",
                    contact_id=contact_id, type=type_, detail=detail,
                    occurred_at=occurred_at, ingested_at=ingested_at or occurred_at,
                )
            )


@pytest.fixture
def seed(engine: Engine) -> Seeder:
    """A seeder on the parametrised (SQLite and PostgreSQL) test database."""
    return Seeder(engine)


class FakeSlackApi:
    """A Slack Web API on loopback for the real slack_sdk WebClient.

    Answers `chat.postMessage` and `conversations.open` like Slack does, records every
    call, checks the bearer token, and can be told to answer the next calls of a method
    with an error (e.g. HTTP 429 with Retry-After, or HTTP 500).
    """

    TOKEN = "xoxb-test-token"

    def __init__(self) -> None:
        import threading
        from http.server import ThreadingHTTPServer

        self.calls: list[tuple[str, dict[str, object]]] = []
        self._failures: dict[str, list[tuple[int, dict[str, str], str]]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Base URL to pass as WebClient(base_url=...) / LEADFLOW_SLACK_API_URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def fail_next(
        self, method: str, *, status: int, headers: dict[str, str] | None = None,
        body: str = '{"ok": false, "error": "internal_error"}', times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with this status, headers and body."""
        with self._lock:
            self._failures.setdefault(method, []).extend(
                [(status, headers or {}, body)] * times
            )

    def posted(self) -> list[dict[str, object]]:
        """The parameters of every chat.postMessage call that succeeded."""
        return [params for method, params in self.calls if method == "chat.postMessage:ok"]

    def close(self) -> None:
        """Stop the server."""
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type:
        import json
        from http.server import BaseHTTPRequestHandler
        from urllib.parse import parse_qsl

        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                return

            def do_POST(self) -> None:
                method = self.path.rsplit("/", 1)[-1]
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    params: dict[str, object] = json.loads(raw or "{}")
                else:
                    params = dict(parse_qsl(raw))
                with api._lock:
                    api.calls.append((method, params))
                    queued = api._failures.get(method) or []
                    failure = queued.pop(0) if queued else None
                if failure is not None:
                    status, headers, body = failure
                    self._send(status, body, headers)
                    return
                if self.headers.get("Authorization") != f"Bearer {api.TOKEN}":
                    self._send(200, json.dumps({"ok": False, "error": "invalid_auth"}))
                    return
                answer = self._answer(method, params)
                if method == "chat.postMessage" and answer["ok"]:
                    with api._lock:
                        api.calls.append(("chat.postMessage:ok", params))
                self._send(200, json.dumps(answer))

            def _answer(self, method: str, params: dict[str, object]) -> dict[str, object]:
                if method == "conversations.open":
                    return {"ok": True, "channel": {"id": f"D{params.get('users')}"}}
                if method == "chat.postMessage":
                    channel = str(params.get("channel") or "")
                    if not channel or channel == "#missing":
                        return {"ok": False, "error": "channel_not_found"}
                    return {"ok": True, "channel": channel, "ts": f"{len(api.calls)}.000100"}
                return {"ok": False, "error": "unknown_method"}

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


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    """A fake Slack Web API listening on 127.0.0.1 for the duration of a test."""
    api = FakeSlackApi()
    yield api
    api.close()


class LoopbackSmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives.

    `reply_to_rcpt[address]` makes the server answer RCPT for that address with the
    given reply (e.g. "550 5.1.1 no such user", "451 4.3.0 try later").
    """

    def __init__(self) -> None:
        import socket

        from aiosmtpd.controller import Controller

        self.received: list[bytes] = []
        self.reply_to_rcpt: dict[str, str] = {}
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.host = "127.0.0.1"
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()

    async def handle_RCPT(
        self, server: object, session: object, envelope: Any, address: str, options: object
    ) -> str:
        reply = self.reply_to_rcpt.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, server: object, session: object, envelope: Any
    ) -> str:
        self.received.append(bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        """Every received message, parsed with the modern email policy."""
        from email import message_from_bytes
        from email.policy import default

        return [
            cast(EmailMessage, message_from_bytes(raw, policy=default)) for raw in self.received
        ]

    def close(self) -> None:
        """Stop the server."""
        self._controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[LoopbackSmtpServer]:
    """A real SMTP server listening on loopback for the duration of a test."""
    server = LoopbackSmtpServer()
    yield server
    server.close()
