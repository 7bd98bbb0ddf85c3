"""Email transports: SMTP for real, a folder of `.eml` files for development.

The SMTP transport keeps one session open for a whole dispatch (`close()` or a `with`
block ends it), so a batch pays for connect, STARTTLS and login once.

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
from typing import Any, Protocol, Self

from leadflow.settings import Settings
from models.messages import HARD_BOUNCE_PREFIX as HARD_BOUNCE
from models.messages import PermanentSendError, TransientSendError

log = logging.getLogger("leadflow.email")


class EmailTransport(Protocol):
    """Delivers finished messages; raises TransientSendError / PermanentSendError.

    A transport may keep a session open between messages: `close()` (or leaving a
    `with` block) ends it, and a later `deliver` opens a new one.
    """

    description: str

    def deliver(self, message: EmailMessage) -> str:
        """Deliver `message`; return where it went (server or file)."""
        ...

    def close(self) -> None:
        """End any open session; the transport stays usable."""
        ...

    def __enter__(self) -> Self:
        ...

    def __exit__(self, *exc_info: object) -> None:
        ...


class _Closing:
    """`with transport:` closes the transport's session at the end of the block."""

    def close(self) -> None:
        """End any open session (nothing to end here)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


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


class _MarksData:
    """An SMTP client that remembers whether DATA began for the current message: from
    then on the server may have the message, so a broken session is no longer retried."""

    data_started = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.data_started = True
        return super().data(msg)  # type: ignore[misc]


class _Smtp(_MarksData, smtplib.SMTP):
    pass


class _SmtpSsl(_MarksData, smtplib.SMTP_SSL):
    pass


def _ended_before_data(error: BaseException, client: _MarksData) -> bool:
    """Did the server end the session before this message's DATA (so it cannot have it)?

    That is a dropped connection (a relay that hangs up after N messages or when idle)
    or a 421 "closing" reply to MAIL or RCPT.
    """
    if client.data_started:
        return False
    if isinstance(error, smtplib.SMTPSenderRefused):
        return error.smtp_code == 421
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)


class SmtpTransport(_Closing):
    """Sends over SMTP with STARTTLS, implicit TLS or (local relays only) no encryption.

    One session (connect, STARTTLS, login) carries every message until `close()`; it is
    opened on the first `deliver`. When the server has ended a reused session before a
    message's DATA began, the message goes once more over a new session: the server
    cannot have it yet, so this neither loses nor duplicates it. A session that breaks
    after DATA began is a transient error, as with any connection failure.
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
        self._client: _Smtp | _SmtpSsl | None = None

    def _connect(self) -> _Smtp | _SmtpSsl:
        client: _Smtp | _SmtpSsl
        if self.security == "tls":
            client = _SmtpSsl(self.host, self.port, timeout=self.timeout, context=self.ssl_context)
        else:
            client = _Smtp(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                client.starttls(context=self.ssl_context)
            if self.user:
                client.login(self.user, self.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def _session(self) -> _Smtp | _SmtpSsl:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _send(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        reused = self._client is not None
        client = self._session()
        client.data_started = False
        try:
            return client.send_message(message)
        except BaseException as error:
            # A refusal leaves the session usable (smtplib sent RSET); anything else, or
            # a session smtplib closed itself (421), is not used again.
            clean = isinstance(
                error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused
            )
            if not clean or client.sock is None:
                self._drop()
            if not (reused and _ended_before_data(error, client)):
                raise
        log.info("the SMTP session to %s ended between messages; reconnecting", self.description)
        client = self._session()
        client.data_started = False
        try:
            return client.send_message(message)
        except BaseException:
            if client.sock is None:
                self._drop()
            raise

    def deliver(self, message: EmailMessage) -> str:
        """Send one message over the open session (opening one if needed); SMTP replies
        become Transient/PermanentSendError."""
        try:
            refused = self._send(message)
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

    def close(self) -> None:
        """End the SMTP session politely (QUIT) if one is open; never raises."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


class EmlDirectoryTransport(_Closing):
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
