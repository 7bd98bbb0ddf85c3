"""The real tracking app on real databases: unsubscribe, open pixel, click redirect."""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from app.tracking import create_app
from leadflow.email_render import TrackingLinks
from leadflow.settings import SigningSecretError
from leadflow.tokens import sign_token
from models.tables import EmailSuppression, Event
from tests.support.seeding import Seeder
from tests.support.settings import settings_for

SECRET = "endpoint-secret-long-enough-for-production"
OLD_SECRET = "endpoint-secret-from-before-the-rotation"
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
EMAIL_ID = "nurture:new_lead:1:20261201T020000Z:email_1"


@pytest.fixture
def contact_id(seed: Seeder) -> int:
    return seed.contact(
        email="reader@example.co.jp", consent=True, lifecycle_stage="lead", created_at=NOW
    )


@pytest.fixture
def client(database_url: str, engine: Engine) -> TestClient:
    settings = settings_for(
        database_url,
        development=False,
        signing_secrets=f"{SECRET},{OLD_SECRET}",
        public_base_url="https://t.example.test",
    )
    return TestClient(create_app(engine, settings=settings, clock=lambda: NOW))


@pytest.fixture
def links() -> TrackingLinks:
    return TrackingLinks(base_url="https://t.example.test", secret=SECRET, issued_at=NOW)


def path_of(url: str) -> str:
    return url.removeprefix("https://t.example.test")


def rows(engine: Engine, query: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(query).all())


def test_get_on_the_unsubscribe_link_only_shows_a_confirmation_page(
    engine: Engine, client: TestClient, links: TrackingLinks, contact_id: int
) -> None:
    url = links.unsubscribe(email_id=EMAIL_ID, contact_id=contact_id, locale="ja")
    response = client.get(path_of(url))
    assert response.status_code == 200
    assert "配信を停止する" in response.text and 'method="post"' in response.text
    assert rows(engine, select(EmailSuppression.id)) == []


def test_one_click_post_unsubscribes_once_and_is_idempotent(
    engine: Engine, client: TestClient, links: TrackingLinks, contact_id: int
) -> None:
    url = links.unsubscribe(email_id=EMAIL_ID, contact_id=contact_id, locale="en")
    for _ in range(2):
        response = client.post(path_of(url), data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
        assert "unsubscribed" in response.text
    assert rows(
        engine,
        select(EmailSuppression.contact_id, EmailSuppression.reason, EmailSuppression.source),
    ) == [(contact_id, "unsubscribed", "one_click")]


def test_the_open_pixel_records_the_first_open_of_each_email(
    engine: Engine, client: TestClient, links: TrackingLinks, contact_id: int
) -> None:
    url = links.open_pixel(email_id=EMAIL_ID, contact_id=contact_id)
    for _ in range(3):
        response = client.get(path_of(url))
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/gif"
        assert response.content.startswith(b"GIF89a")
    assert rows(engine, select(Event.contact_id, Event.type, Event.detail, Event.occurred_at)) == [
        (contact_id, "email_open", EMAIL_ID, NOW)
    ]


def test_a_click_records_an_event_and_redirects_to_the_signed_url(
    engine: Engine, client: TestClient, links: TrackingLinks, contact_id: int
) -> None:
    url = links.click(
        "https://example.com/case-studies?utm=nurture", email_id=EMAIL_ID, contact_id=contact_id
    )
    response = client.get(path_of(url), follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/case-studies?utm=nurture"
    assert rows(engine, select(Event.type, Event.detail)) == [("email_click", EMAIL_ID)]


def test_a_click_ignores_a_redirect_target_in_the_query_string(
    client: TestClient, links: TrackingLinks, contact_id: int
) -> None:
    url = links.click("https://example.com/demo", email_id=EMAIL_ID, contact_id=contact_id)
    response = client.get(
        path_of(url) + "?url=https://evil.example/&next=https://evil.example/",
        follow_redirects=False,
    )
    assert response.headers["location"] == "https://example.com/demo"


@pytest.mark.parametrize("path", ["u", "o", "c"])
def test_forged_tokens_are_refused_and_record_nothing(
    engine: Engine, client: TestClient, contact_id: int, path: str
) -> None:
    action = {"u": "unsubscribe", "o": "open", "c": "click"}[path]
    forged = sign_token(
        {"e": EMAIL_ID, "c": contact_id, "u": "https://evil.example/"},
        action=action,  # type: ignore[arg-type]
        secret="not-the-secret",
    )
    method = client.post if path == "u" else client.get
    response = method(f"/{path}/{forged}", follow_redirects=False)
    assert response.status_code == 403
    assert "location" not in response.headers
    assert rows(engine, select(Event.id)) == []
    assert rows(engine, select(EmailSuppression.id)) == []


def test_an_altered_click_token_cannot_redirect_elsewhere(
    engine: Engine, client: TestClient, links: TrackingLinks, contact_id: int
) -> None:
    genuine = links.click("https://example.com/demo", email_id=EMAIL_ID, contact_id=contact_id)
    token = genuine.rsplit("/", 1)[1]
    evil = sign_token(
        {"e": EMAIL_ID, "c": contact_id, "u": "https://evil.example/"},
        action="click",
        secret="not-the-secret",
    )
    altered = evil.split(".")[0] + "." + token.split(".")[1]
    response = client.get(f"/c/{altered}", follow_redirects=False)
    assert response.status_code == 403
    assert rows(engine, select(Event.id)) == []


def test_an_open_token_cannot_unsubscribe_anyone(
    engine: Engine, client: TestClient, links: TrackingLinks, contact_id: int
) -> None:
    pixel_token = links.open_pixel(email_id=EMAIL_ID, contact_id=contact_id).rsplit("/", 1)[1]
    response = client.post(f"/u/{pixel_token}")
    assert response.status_code == 403
    assert rows(engine, select(EmailSuppression.id)) == []


def test_a_non_ascii_signature_is_refused_with_403_not_a_server_error(
    client: TestClient, links: TrackingLinks, contact_id: int
) -> None:
    for url in (
        links.unsubscribe(email_id=EMAIL_ID, contact_id=contact_id, locale="ja"),
        links.open_pixel(email_id=EMAIL_ID, contact_id=contact_id),
        links.click("https://example.com/", email_id=EMAIL_ID, contact_id=contact_id),
    ):
        body = path_of(url).rsplit(".", 1)[0]
        response = client.get(f"{body}.%C3%A4", follow_redirects=False)
        assert response.status_code == 403


def test_links_signed_with_a_rotated_out_secret_still_unsubscribe(
    engine: Engine, client: TestClient, contact_id: int
) -> None:
    old_links = TrackingLinks(base_url="https://t.example.test", secret=OLD_SECRET, issued_at=NOW)
    url = old_links.unsubscribe(email_id=EMAIL_ID, contact_id=contact_id, locale="en")
    assert client.post(path_of(url)).status_code == 200
    assert rows(engine, select(EmailSuppression.contact_id)) == [(contact_id,)]


def test_links_older_than_the_max_age_are_refused(
    engine: Engine, client: TestClient, contact_id: int
) -> None:
    issued = NOW - timedelta(days=91)
    stale = TrackingLinks(base_url="https://t.example.test", secret=SECRET, issued_at=issued)
    url = stale.open_pixel(email_id=EMAIL_ID, contact_id=contact_id)
    assert client.get(path_of(url)).status_code == 403
    fresh = TrackingLinks(
        base_url="https://t.example.test", secret=SECRET, issued_at=NOW - timedelta(days=89)
    )
    unsubscribe = fresh.unsubscribe(email_id=EMAIL_ID, contact_id=contact_id, locale="en")
    assert client.post(path_of(unsubscribe)).status_code == 200
    assert rows(engine, select(Event.id)) == []


def test_the_confirmation_form_posts_under_the_path_of_the_public_base_url(
    database_url: str, engine: Engine, contact_id: int
) -> None:
    settings = settings_for(
        database_url, signing_secrets=SECRET, public_base_url="https://example.com/track/"
    )
    app_client = TestClient(create_app(engine, settings=settings, clock=lambda: NOW))
    links = TrackingLinks(base_url=settings.public_base_url, secret=SECRET, issued_at=NOW)
    url = links.unsubscribe(email_id=EMAIL_ID, contact_id=contact_id, locale="ja")
    token = url.rsplit("/", 1)[1]
    # The proxy strips /track before the request reaches the app.
    page = app_client.get(f"/u/{token}")
    assert f'action="/track/u/{token}"' in page.text


def test_the_pages_cannot_be_framed(
    client: TestClient, links: TrackingLinks, contact_id: int
) -> None:
    url = links.unsubscribe(email_id=EMAIL_ID, contact_id=contact_id, locale="ja")
    for response in (client.get(path_of(url)), client.get("/u/forged.token")):
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_the_access_log_shows_only_the_start_of_each_token(
    client: TestClient, links: TrackingLinks, contact_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = links.open_pixel(email_id=EMAIL_ID, contact_id=contact_id)
    token = url.rsplit("/", 1)[1]
    with caplog.at_level(logging.INFO, logger="leadflow.tracking.access"):
        client.get(path_of(url))
    lines = [r.getMessage() for r in caplog.records if r.name == "leadflow.tracking.access"]
    assert lines == [f'testclient "GET /o/{token[:8]}…" 200']
    assert token not in caplog.text


def test_the_app_refuses_to_start_without_a_signing_secret_outside_development(
    database_url: str, engine: Engine
) -> None:
    settings = settings_for(database_url, development=False)
    with pytest.raises(SigningSecretError, match="LEADFLOW_SIGNING_SECRETS"):
        create_app(engine, settings=settings)


def test_the_app_served_on_loopback_takes_a_one_click_post_like_a_mail_provider(
    sqlite_database_url: str, sqlite_engine: Engine, sqlite_seed: Seeder
) -> None:
    import socket
    import threading
    import time

    import httpx
    import uvicorn

    contact = sqlite_seed.contact(
        email="served@example.co.jp", consent=True, lifecycle_stage="lead", created_at=NOW
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    settings = settings_for(
        sqlite_database_url, signing_secret=SECRET, public_base_url=f"http://127.0.0.1:{port}"
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(sqlite_engine, settings=settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        links = TrackingLinks(base_url=settings.public_base_url, secret=SECRET)
        url = links.unsubscribe(email_id=EMAIL_ID, contact_id=contact, locale="ja")
        # What Gmail and others send for RFC 8058 one-click unsubscribe.
        response = httpx.post(
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200
        assert httpx.get(f"{settings.public_base_url}/healthz").json() == {"status": "ok"}
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert rows(sqlite_engine, select(EmailSuppression.contact_id)) == [(contact,)]
