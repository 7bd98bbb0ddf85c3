"""The SMTP transport over STARTTLS (with login) and implicit TLS, against real servers;
login without TLS only when explicitly allowed."""

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from leadflow.adapters.email import PlainAuthRefused, SmtpTransport, transport_from_settings
from tests.support.settings import settings_for


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Inbox:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.received.append(bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def authenticate(
    server: object, session: object, envelope: object, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mailer", b"pw")
    return AuthResult(success=ok)


@pytest.fixture
def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


@pytest.fixture
def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "marketing@example.jp"
    mail["To"] = "lead@example.jp"
    mail["Subject"] = "こんにちは"
    mail.set_content("本文")
    return mail


@pytest.fixture
def starttls_server(server_context: ssl.SSLContext) -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )
    controller.start()
    yield inbox, port
    controller.stop()


def test_starttls_with_login_delivers_the_message(
    starttls_server: tuple[Inbox, int], client_context: ssl.SSLContext
) -> None:
    inbox, port = starttls_server
    transport = SmtpTransport(
        host="127.0.0.1",
        port=port,
        security="starttls",
        user="mailer",
        password="pw",
        ssl_context=client_context,
    )
    transport.deliver(message())
    assert len(inbox.received) == 1


def test_implicit_tls_delivers_the_message(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_context)
    controller.start()
    try:
        transport = SmtpTransport(
            host="127.0.0.1", port=port, security="tls", ssl_context=client_context
        )
        transport.deliver(message())
    finally:
        controller.stop()
    assert len(inbox.received) == 1


def test_login_without_tls_is_refused_before_connecting() -> None:
    with pytest.raises(PlainAuthRefused, match="LEADFLOW_SMTP_ALLOW_PLAIN_AUTH"):
        SmtpTransport(host="127.0.0.1", port=free_port(), security="none", user="mailer")


def test_settings_with_login_and_no_tls_are_refused() -> None:
    settings = settings_for(
        "sqlite://", smtp_host="127.0.0.1", smtp_security="none",
        smtp_user="mailer", smtp_password="pw",
    )
    with pytest.raises(PlainAuthRefused):
        transport_from_settings(settings)


def test_login_without_tls_works_when_explicitly_allowed_for_a_local_relay() -> None:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=authenticate,
        auth_required=True, auth_require_tls=False,
    )
    controller.start()
    try:
        settings = settings_for(
            "sqlite://", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
            smtp_user="mailer", smtp_password="pw", smtp_allow_plain_auth=True,
        )
        transport_from_settings(settings).deliver(message())
    finally:
        controller.stop()
    assert len(inbox.received) == 1


def test_the_smtp_password_setting_is_secret_but_reaches_the_server(
    starttls_server: tuple[Inbox, int], client_context: ssl.SSLContext
) -> None:
    inbox, port = starttls_server
    settings = settings_for(
        "sqlite://", smtp_host="127.0.0.1", smtp_port=port, smtp_user="mailer",
        smtp_password="pw",
    )
    assert "pw" not in repr(settings)
    transport = transport_from_settings(settings)
    assert isinstance(transport, SmtpTransport)
    transport.ssl_context = client_context
    transport.deliver(message())
    assert len(inbox.received) == 1
