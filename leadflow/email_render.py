"""Render marketing emails from jinja2 templates (subject, text and HTML parts).

Templates live in `templates/email/<program>/<name>.<locale>.<part>.j2` with parts
`subject`, `txt` and `html` (see templates/email/README.md). HTML is autoescaped and an
undefined variable is an error, never an empty string. `leadflow.email_message` turns a
rendered email into the message that is sent.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from leadflow.paths import TEMPLATES_DIR
from leadflow.tokens import Action, sign_token
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


@dataclass(frozen=True, repr=False)
class TrackingLinks:
    """Builds signed tracking URLs under the public base URL of `leadflow serve`.

    `secret` is the current signing secret (`Settings.signing_keys()[0]`); tokens are
    stamped `issued_at` (default: when each is signed), which starts their max age.
    """

    base_url: str
    secret: str
    issued_at: datetime | None = None

    def __repr__(self) -> str:
        return f"TrackingLinks(base_url={self.base_url!r}, secret='**********')"

    def _url(self, path: str, token: str) -> str:
        return f"{self.base_url.rstrip('/')}/{path}/{token}"

    def _sign(self, payload: dict[str, Any], action: Action) -> str:
        return sign_token(payload, action=action, secret=self.secret, issued_at=self.issued_at)

    def unsubscribe(self, *, email_id: str, contact_id: int, locale: str) -> str:
        """The one-click unsubscribe URL (GET shows a confirmation page, POST unsubscribes)."""
        token = self._sign({"e": email_id, "c": contact_id, "l": locale}, "unsubscribe")
        return self._url("u", token)

    def open_pixel(self, *, email_id: str, contact_id: int) -> str:
        """The 1×1 image URL that records an open."""
        token = self._sign({"e": email_id, "c": contact_id}, "open")
        return self._url("o", token)

    def click(self, url: str, *, email_id: str, contact_id: int) -> str:
        """A redirect URL that records a click and then goes to `url` (and only there)."""
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"only http(s) links can be tracked, got {url!r}")
        token = self._sign({"e": email_id, "c": contact_id, "u": url}, "click")
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
