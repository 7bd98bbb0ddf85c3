"""The tracking endpoint (`leadflow serve`): unsubscribe, open pixel, click redirect.

- `GET /u/{token}` shows a confirmation page; `POST /u/{token}` unsubscribes at once
  (RFC 8058 one-click: mail providers POST `List-Unsubscribe=One-Click`). A GET never
  unsubscribes, so link scanners cannot unsubscribe anyone.
- `GET /o/{token}` returns a 1×1 GIF and records an `email_open` event.
- `GET /c/{token}` records an `email_click` event and redirects to the URL signed into
  the token, never to one taken from the request: there is no open redirect.

Tokens are HMAC-signed (leadflow.tokens); a forged, altered or expired one gets 403.
Every configured signing secret is accepted (key rotation). Opens and clicks land in the
events ledger with the email id as `detail`, so nurture branches and scoring both see
them; each email's first open and each link's first click count.

Pages cannot be framed (X-Frame-Options, CSP frame-ancestors), and the app keeps its own
access log (`leadflow.tracking.access`) with tokens cut short: a full token in a log file
is as good as the link itself. Run uvicorn with `access_log=False` (as `leadflow serve`
does).
"""

import base64
import hashlib
import html
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine, select

from leadflow.db import insert_ignoring_conflicts
from leadflow.settings import Settings, get_settings
from leadflow.timeutil import utc_now
from leadflow.tokens import Action, InvalidToken, verify_token
from models.enums import EventType
from models.tables import Contact, Event
from tasks.nurture.apply import record_suppression

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, max-age=0"}
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
SHOWN_TOKEN_CHARS = 8
TOKEN_IN_PATH = re.compile(rf"/([uoc])/([^/?#]{{{SHOWN_TOKEN_CHARS}}})[^/?#]*")

access_log = logging.getLogger("leadflow.tracking.access")


def redact_tokens(path: str) -> str:
    """`path` with every tracking token cut to its first SHOWN_TOKEN_CHARS characters + `…`."""
    return TOKEN_IN_PATH.sub(r"/\1/\2…", path)


PAGES = {
    "ja": {
        "confirm_title": "配信停止の確認",
        "confirm_text": (
            "今後のご案内メールの配信を停止します。よろしければボタンを押してください。"
        ),
        "button": "配信を停止する",
        "done_title": "配信を停止しました",
        "done_text": "今後、ご案内メールはお送りしません。ご利用ありがとうございました。",
        "invalid_title": "無効なリンクです",
        "invalid_text": "このリンクは無効です。メール内のリンクをそのままお使いください。",
    },
    "en": {
        "confirm_title": "Unsubscribe",
        "confirm_text": (
            "You will no longer receive our marketing emails. Press the button to confirm."
        ),
        "button": "Unsubscribe",
        "done_title": "You are unsubscribed",
        "done_text": "We will not send you marketing emails any more.",
        "invalid_title": "Invalid link",
        "invalid_text": "This link is not valid. Please use the link from the email as it is.",
    },
}


def _page(title: str, body: str, *, lang: str, status: int = 200) -> HTMLResponse:
    document = (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>"
        f'<body style="font-family:sans-serif;max-width:560px;margin:40px auto;padding:0 16px">'
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers={**NO_STORE, **SECURITY_HEADERS})


def _texts(payload: dict[str, Any]) -> tuple[str, dict[str, str]]:
    lang = str(payload.get("l") or "ja")
    return (lang, PAGES[lang]) if lang in PAGES else ("ja", PAGES["ja"])


def create_app(
    engine: Engine | None = None,
    *,
    settings: Settings | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """The tracking ASGI app over `engine` (default: the configured database).

    `clock` stamps recorded events and decides whether a token has expired; simulations
    pass their own time. Raises SigningSecretError when no usable secret is configured.
    """
    settings = settings or get_settings()
    secrets = settings.signing_keys()
    max_age = timedelta(days=settings.token_max_age_days)
    # The form posts back through the same proxy path as the page it is on.
    base_path = urlsplit(settings.public_base_url).path.rstrip("/")
    if engine is None:
        from leadflow.db import ensure_database

        engine = ensure_database(settings.database_url)
    app = FastAPI(title="leadflow tracking", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def log_access(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        client = request.client.host if request.client else "-"
        access_log.info(
            '%s "%s %s" %d',
            client,
            request.method,
            redact_tokens(request.url.path),
            response.status_code,
        )
        return response

    def verified(token: str, action: Action) -> dict[str, Any] | None:
        try:
            payload = verify_token(
                token, action=action, secret=secrets, max_age=max_age, now=clock()
            )
        except InvalidToken:
            return None
        if not isinstance(payload.get("c"), int) or not isinstance(payload.get("e"), str):
            return None
        return payload

    def invalid() -> HTMLResponse:
        texts = PAGES["ja"]
        return _page(
            texts["invalid_title"],
            f"<p>{texts['invalid_text']}</p><p>{PAGES['en']['invalid_text']}</p>",
            lang="ja",
            status=403,
        )

    def record_event(payload: dict[str, Any], kind: EventType, suffix: str = "") -> None:
        email_id = str(payload["e"])
        now = clock()
        source_id = f"{kind.value}:{email_id}{suffix}"
        if len(source_id) > 120:
            digest = hashlib.sha256(source_id.encode()).hexdigest()[:40]
            source_id = f"{kind.value}:{digest}"
        with engine.begin() as conn:
            insert_ignoring_conflicts(
                conn,
                Event.__table__,  # type: ignore[arg-type]
                [
                    {
                        "source_event_id": source_id,
                        "contact_id": int(payload["c"]),
                        "type": kind.value,
                        "detail": email_id[:255],
                        "occurred_at": now,
                        "ingested_at": now,
                    }
                ],
                keys=["source_event_id"],
            )

    @app.get("/u/{token}", response_class=HTMLResponse)
    def unsubscribe_page(token: str) -> HTMLResponse:
        """Confirmation page; the button POSTs back to this URL."""
        payload = verified(token, "unsubscribe")
        if payload is None:
            return invalid()
        lang, texts = _texts(payload)
        form = (
            f"<p>{texts['confirm_text']}</p>"
            f'<form method="post" action="{html.escape(base_path)}/u/{html.escape(token)}">'
            f'<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            f'<button type="submit">{texts["button"]}</button></form>'
        )
        return _page(texts["confirm_title"], form, lang=lang)

    @app.post("/u/{token}", response_class=HTMLResponse)
    async def unsubscribe(token: str, request: Request) -> HTMLResponse:
        """One-click unsubscribe (RFC 8058): the token alone decides who; idempotent."""
        await request.body()
        payload = verified(token, "unsubscribe")
        if payload is None:
            return invalid()
        contact_id = int(payload["c"])
        with engine.begin() as conn:
            email = conn.execute(
                select(Contact.email).where(Contact.id == contact_id)
            ).scalar_one_or_none()
            if email is not None:
                record_suppression(
                    conn,
                    contact_id=contact_id,
                    email=email,
                    reason="unsubscribed",
                    source="one_click",
                    detail=str(payload["e"]),
                    at=clock(),
                )
        lang, texts = _texts(payload)
        return _page(texts["done_title"], f"<p>{texts['done_text']}</p>", lang=lang)

    @app.get("/o/{token}")
    def open_pixel(token: str) -> Response:
        """A transparent 1×1 GIF; records the email's first open."""
        payload = verified(token, "open")
        if payload is None:
            return Response(status_code=403)
        record_event(payload, EventType.EMAIL_OPEN)
        return Response(PIXEL, media_type="image/gif", headers=NO_STORE)

    @app.get("/c/{token}")
    def click(token: str) -> Response:
        """Record a click, then redirect to the URL signed into the token."""
        payload = verified(token, "click")
        url = payload.get("u") if payload else None
        if (
            payload is None
            or not isinstance(url, str)
            or not url.startswith(("https://", "http://"))
        ):
            return invalid()
        link = hashlib.sha256(url.encode()).hexdigest()[:12]
        record_event(payload, EventType.EMAIL_CLICK, suffix=f":{link}")
        return RedirectResponse(url, status_code=302, headers=NO_STORE)

    @app.get("/healthz")
    def health() -> dict[str, str]:
        """Liveness probe."""
        return {"status": "ok"}

    return app
