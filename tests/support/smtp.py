"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

import asyncio
import socket
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class _CountingController(Controller):
    """A controller that counts the connections clients open (one SMTP protocol each)."""

    def __init__(self, owner: "LoopbackSmtpServer", **kwargs: Any) -> None:
        super().__init__(owner, **kwargs)
        self.owner = owner

    def factory(self) -> SMTP:
        self.owner.connections += 1
        return super().factory()


class LoopbackSmtpServer:
    """A real SMTP server on 127.0.0.1; point `Settings` at it with `smtp_settings()`.

    `reply_to_rcpt[address]` makes the server answer RCPT for that address with the
    given reply (e.g. "550 5.1.1 no such user", "451 4.3.0 try later").
    `connections` counts the SMTP connections clients opened.
    `close_after` makes the server end every connection after that many messages, the
    way relays limit messages per connection: with `closing_reply` (e.g. "421 4.7.0 too
    many messages") it answers the next MAIL with that reply and then hangs up, without
    it closes silently right after accepting the last message.
    """

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.reply_to_rcpt: dict[str, str] = {}
        self.connections = 0
        self.close_after: int | None = None
        self.closing_reply: str | None = None
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.host = "127.0.0.1"
        self._controller = _CountingController(self, hostname=self.host, port=self.port)
        self._controller.start()
        self.connections = 0  # start() opens one connection itself to check the server

    def smtp_settings(self) -> dict[str, Any]:
        """The `Settings` fields that send email to this server in plain SMTP."""
        return {"smtp_host": self.host, "smtp_port": self.port, "smtp_security": "none"}

    async def handle_MAIL(
        self, server: SMTP, session: object, envelope: Any, address: str, options: list[str]
    ) -> str:
        if (
            self.closing_reply is not None
            and self.close_after is not None
            and getattr(session, "accepted", 0) >= self.close_after
        ):
            _hang_up_after_reply(server)
            return self.closing_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: object, session: object, envelope: Any, address: str, options: object
    ) -> str:
        reply = self.reply_to_rcpt.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: object, envelope: Any) -> str:
        self.received.append(bytes(envelope.original_content or envelope.content))
        # Counted on the session: aiosmtpd creates one per connection.
        accepted = getattr(session, "accepted", 0) + 1
        session.accepted = accepted  # type: ignore[attr-defined]
        closing = self.closing_reply is None and self.close_after is not None
        if closing and accepted >= (self.close_after or 0):
            _hang_up_after_reply(server)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        """Every received message, parsed with the modern email policy."""
        return [
            cast(EmailMessage, message_from_bytes(raw, policy=default)) for raw in self.received
        ]

    def message_ids(self) -> list[str]:
        """The Message-ID of every received message, in arrival order."""
        return [str(message["Message-ID"]) for message in self.messages()]

    def close(self) -> None:
        """Stop the server (again: nothing happens)."""
        if self._controller.loop.is_running():
            self._controller.stop()


def _hang_up_after_reply(server: SMTP) -> None:
    # The reply is written before the handler's caller yields to the event loop, so a
    # close scheduled now flushes that reply first and then ends the connection.
    transport = server.transport
    assert transport is not None
    asyncio.get_running_loop().call_soon(transport.close)
