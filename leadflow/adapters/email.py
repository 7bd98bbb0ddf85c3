"""Email transports: SMTP for real, a folder of `.eml` files for development.

SMTP replies map onto the outbox's error classes: 4xx (and connection trouble) is
transient, retried later; 5xx is permanent. A 5xx on the recipient is a hard bounce:
its error text starts with `hard bounce`, which makes the nurture engine exit the
enrollment and suppress the address.
"""

import hashlib
import logging
import os
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from leadflow.settings import Settings
from models.messages import HARD_BOUNCE_PREFIX as HARD_BOUNCE
from models.messages import PermanentSendError, TransientSendError

log = logging.getLogger("leadflow.email")


class EmailTransport(Protocol):
    """Delivers one finished message; raises TransientSendError / PermanentSendError."""

    description: str

    def deliver(self, message: EmailMessage) -> str:
        """Deliver `message`; return where it went (server or file)."""
        ...


def _classify(code: int, text: str, *, recipient: bool) -> Exception:
    if 400 <= code < 500:
        return TransientSendError(f"SMTP {code} {text}")
    if recipient:
        return PermanentSendError(f"{HARD_BOUNCE}: SMTP {code} {text}")
    return PermanentSendError(f"rejected: SMTP {code} {text}")


def _reply_text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


class PlainAuthRefused(ValueError):
    """SMTP AUTH was configured without TLS and plain-text login was not explicitly allowed."""


class SmtpTransport:
    """Sends over SMTP with STARTTLS, implicit TLS or (local relays only) no encryption.

    Logging in needs TLS unless `allow_plain_auth` says the relay is trusted.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str = "starttls",
        user: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        allow_plain_auth: bool = False,
    ) -> None:
        if security not in ("starttls", "tls", "none"):
            raise ValueError(f"smtp_security must be starttls, tls or none, not {security!r}")
        if user and security == "none" and not allow_plain_auth:
            raise PlainAuthRefused(
                "refusing SMTP login without TLS: LEADFLOW_SMTP_SECURITY=none would send "
                "LEADFLOW_SMTP_PASSWORD in plain text; use starttls or tls, or set "
                "LEADFLOW_SMTP_ALLOW_PLAIN_AUTH=true for a trusted local relay"
            )
        self.host, self.port, self.security = host, port, security
        self.user, self.password, self.timeout = user, password, timeout
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.description = f"SMTP {host}:{port} ({security})"

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.ssl_context
            )
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            client.starttls(context=self.ssl_context)
        return client

    def deliver(self, message: EmailMessage) -> str:
        """Send one message; SMTP replies become Transient/PermanentSendError."""
        try:
            with self._connect() as client:
                if self.user:
                    client.login(self.user, self.password or "")
                refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            raise _classify(code, _reply_text(text), recipient=True) from None
        except smtplib.SMTPResponseException as error:
            raise _classify(
                error.smtp_code, _reply_text(error.smtp_error), recipient=False
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            raise TransientSendError(f"SMTP connection: {type(error).__name__}: {error}") from None
        if refused:
            code, text = next(iter(refused.values()))
            raise _classify(code, _reply_text(text), recipient=True)
        return self.description


class EmlDirectoryTransport:
    """Development transport: writes each message as an `.eml` file into a folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.description = f".eml files in {directory.resolve()}"

    def deliver(self, message: EmailMessage) -> str:
        """Write the message to `<directory>/<hash of Message-ID>.eml` and return the path."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(str(message["Message-ID"]).encode()).hexdigest()[:24]
        path = self.directory / f"{name}.eml"
        # A message holds a person's address and name: readable by the owner only.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(message.as_bytes())
        log.info("wrote email to %s", path.resolve())
        return str(path.resolve())


def transport_from_settings(settings: Settings) -> EmailTransport:
    """SMTP when `smtp_host` is set, else the development `.eml` folder (`outbox_dir`)."""
    if settings.smtp_host:
        return SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            user=settings.smtp_user,
            password=(
                settings.smtp_password.get_secret_value() if settings.smtp_password else None
            ),
            allow_plain_auth=settings.smtp_allow_plain_auth,
        )
    return EmlDirectoryTransport(settings.outbox_dir)
