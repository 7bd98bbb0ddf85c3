"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

import socket
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any, cast

from aiosmtpd.controller import Controller


class LoopbackSmtpServer:
    """A real SMTP server on 127.0.0.1; point `Settings` at it with `smtp_settings()`.

    `reply_to_rcpt[address]` makes the server answer RCPT for that address with the
    given reply (e.g. "550 5.1.1 no such user", "451 4.3.0 try later").
    """

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.reply_to_rcpt: dict[str, str] = {}
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.host = "127.0.0.1"
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()

    def smtp_settings(self) -> dict[str, Any]:
        """The `Settings` fields that send email to this server in plain SMTP."""
        return {"smtp_host": self.host, "smtp_port": self.port, "smtp_security": "none"}

    async def handle_RCPT(
        self, server: object, session: object, envelope: Any, address: str, options: object
    ) -> str:
        reply = self.reply_to_rcpt.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.received.append(bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        """Every received message, parsed with the modern email policy."""
        return [
            cast(EmailMessage, message_from_bytes(raw, policy=default)) for raw in self.received
        ]

    def close(self) -> None:
        """Stop the server."""
        self._controller.stop()
