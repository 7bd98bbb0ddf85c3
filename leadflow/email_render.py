"""Render marketing emails from jinja2 templates into RFC 5322 messages.

Templates live in `templates/email/<program>/<name>.<locale>.<part>.j2` with parts
`subject`, `txt` and `html` (see templates/email/README.md). HTML is autoescaped and an
undefined variable is an error, never an empty string. Every message is
multipart/alternative (text + HTML), has a Message-ID derived from its idempotency key,
and carries one-click unsubscribe headers (RFC 2369 + RFC 8058).
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from leadflow.paths import TEMPLATES_DIR
from leadflow.tokens import sign_token
from models.nurture_rules import NurtureRules, template_problems

SAMPLE_PAYLOAD: dict[str, Any] = {
    "email_id": "nurture:sample:0:20260101T000000Z:email_1",
    "to": "taro.yamada@example.co.jp",
    "first_name": "太郎",
    "last_name": "山田",
    "company": "サンプル株式会社",
    "contact_id": 0,
}


@dataclass(frozen=True)
class RenderedEmail:
    """The three rendered parts of one email."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class TrackingLinks:
    """Builds signed tracking URLs under the public base URL of `leadflow serve`."""

    base_url: str
    secret: str

    def _url(self, path: str, token: str) -> str:
        return f"{self.base_url.rstrip('/')}/{path}/{token}"

    def unsubscribe(self, *, email_id: str, contact_id: int, locale: str) -> str:
        """The one-click unsubscribe URL (GET shows a confirmation page, POST unsubscribes)."""
        token = sign_token(
            {"e": email_id, "c": contact_id, "l": locale}, action="unsubscribe", secret=self.secret
        )
        return self._url("u", token)

    def open_pixel(self, *, email_id: str, contact_id: int) -> str:
        """The 1×1 image URL that records an open."""
        token = sign_token({"e": email_id, "c": contact_id}, action="open", secret=self.secret)
        return self._url("o", token)

    def click(self, url: str, *, email_id: str, contact_id: int) -> str:
        """A redirect URL that records a click and then goes to `url` (and only there)."""
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"only http(s) links can be tracked, got {url!r}")
        token = sign_token(
            {"e": email_id, "c": contact_id, "u": url}, action="click", secret=self.secret
        )
        return self._url("c", token)


def template_environment(templates_dir: Path = TEMPLATES_DIR) -> Environment:
    """The jinja2 environment for email templates: autoescaped HTML, strict undefined."""
    return Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )


def available_templates(templates_dir: Path = TEMPLATES_DIR) -> set[str]:
    """Every template path under `templates_dir`, relative, with forward slashes."""
    return {
        path.relative_to(templates_dir).as_posix()
        for path in templates_dir.rglob("*.j2")
        if path.is_file()
    }


class EmailRenderer:
    """Renders an outbox payload into subject, text and HTML."""

    def __init__(
        self,
        *,
        links: dict[str, str],
        tracking: TrackingLinks,
        templates_dir: Path = TEMPLATES_DIR,
    ) -> None:
        self.links = links
        self.tracking = tracking
        self.environment = template_environment(templates_dir)

    def render(self, payload: dict[str, Any], *, contact_id: int) -> RenderedEmail:
        """Render the payload's template in its locale; undefined variables raise."""
        email_id = str(payload["email_id"])
        locale = str(payload["locale"])
        track: Callable[[str], str] = lambda url: self.tracking.click(  # noqa: E731
            url, email_id=email_id, contact_id=contact_id
        )
        first, last = str(payload.get("first_name") or ""), str(payload.get("last_name") or "")
        context = {
            "contact": {
                "first_name": first,
                "last_name": last,
                "full_name": f"{last} {first}".strip()
                if locale == "ja"
                else f"{first} {last}".strip(),
                "company": str(payload.get("company") or ""),
                "email": str(payload["to"]),
            },
            "links": self.links,
            "track": track,
            "unsubscribe_url": self.tracking.unsubscribe(
                email_id=email_id, contact_id=contact_id, locale=locale
            ),
            "open_pixel_url": self.tracking.open_pixel(email_id=email_id, contact_id=contact_id),
        }
        base = f"email/{payload['template']}.{locale}"
        parts = {
            part: self.environment.get_template(f"{base}.{part}.j2").render(context)
            for part in ("subject", "txt", "html")
        }
        # A subject is one line: template newlines would be header injection.
        subject = " ".join(parts["subject"].split())
        return RenderedEmail(subject=subject, text=parts["txt"].strip() + "\n", html=parts["html"])


def message_id_for(idempotency_key: str, *, domain: str) -> str:
    """A stable Message-ID for an idempotency key: a resend is recognisably the same email."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


class _VerbatimHeader(str):
    """An ASCII header value written as given, folded only between its list items.

    The email package would RFC 2047-encode a URL longer than one line; mail clients
    then no longer see `<https://...>` in List-Unsubscribe. Lines stay under 998 octets.
    """

    def __new__(cls, name: str, items: list[str]) -> "_VerbatimHeader":
        value = super().__new__(cls, ", ".join(items))
        value.name = name
        value.items = items
        return value

    name: str
    items: list[str]

    def fold(self, *, policy: Any) -> str:
        """The header line(s) with the policy's line separator."""
        joined = f",{policy.linesep} ".join(self.items)
        return f"{self.name}: {joined}{policy.linesep}"


def _address(display_name: str, address: str) -> Address:
    return Address(display_name=display_name, addr_spec=address)


def build_message(
    *,
    rendered: RenderedEmail,
    payload: dict[str, Any],
    email_from: str,
    unsubscribe_url: str,
    sent_at: datetime,
) -> EmailMessage:
    """A multipart/alternative message with encoded headers and one-click unsubscribe."""
    from_name, from_address = parseaddr(email_from)
    domain = from_address.rpartition("@")[2] or "localhost"
    email_id = str(payload["email_id"])
    locale = str(payload.get("locale") or "ja")
    first, last = str(payload.get("first_name") or ""), str(payload.get("last_name") or "")
    to_name = f"{last} {first}".strip() if locale == "ja" else f"{first} {last}".strip()

    message = EmailMessage()
    message["From"] = _address(from_name, from_address)
    message["To"] = _address(to_name, str(payload["to"]))
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id_for(email_id, domain=domain)
    mailto = f"mailto:{from_address}?subject={quote('unsubscribe ' + email_id)}"
    message["List-Unsubscribe"] = _VerbatimHeader(
        "List-Unsubscribe", [f"<{unsubscribe_url}>", f"<{mailto}>"]
    )
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["X-Leadflow-Email-Id"] = email_id
    message.set_content(rendered.text, subtype="plain", charset="utf-8", cte="base64")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="base64")
    return message


def check_nurture_templates(rules: NurtureRules, templates_dir: Path = TEMPLATES_DIR) -> list[str]:
    """Problems with the templates the programs use: missing files, and render errors
    (undefined variables, unknown links, syntax) found by rendering each once."""
    problems = template_problems(rules, available_templates(templates_dir))
    if problems:
        return problems
    renderer = EmailRenderer(
        links=rules.links,
        tracking=TrackingLinks(base_url="https://example.invalid", secret="check"),
        templates_dir=templates_dir,
    )
    for program in rules.programs:
        for step in program.steps:
            if step.send is None:
                continue
            for locale in rules.locales:
                payload = {
                    **SAMPLE_PAYLOAD,
                    "template": program.template_name(step.id),
                    "locale": locale,
                }
                try:
                    renderer.render(payload, contact_id=0)
                except Exception as error:
                    problems.append(
                        f"{program.name}.{step.id} ({locale}): template does not render: "
                        f"{type(error).__name__}: {error}"
                    )
    return problems
