"""HTTPS delivery against a receiver on 127.0.0.1 with a test certificate.

The certificate is issued for the name receiver.test by a throwaway CA made
in the test. A stub resolver maps that name to 127.0.0.1, so the sender
connects to the checked address while it sends the name in SNI and checks
the certificate against it.
"""

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme

from relay.config import Settings
from relay.delivery import Sender, build_request
from tests.integration.test_sender import raw_server

HOST = "receiver.test"


@dataclass
class TlsReceiver:
    """A one-request-per-connection HTTPS server; records SNI names."""

    port: int
    server_names: list[str | None] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)


@contextmanager
def tls_receiver(certificate: trustme.LeafCert) -> Iterator[TlsReceiver]:
    """Serve HTTPS on 127.0.0.1 with certificate until the block ends."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    server_names: list[str | None] = []

    def record_server_name(
        _socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext
    ) -> None:
        server_names.append(name)

    context.sni_callback = record_server_name  # type: ignore[assignment]
    requests: list[bytes] = []

    def handle(connection: socket.socket) -> None:
        connection.settimeout(10)
        with context.wrap_socket(connection, server_side=True) as tls:
            _answer(tls, requests)

    with raw_server(handle) as port:
        yield TlsReceiver(port=port, server_names=server_names, requests=requests)


def _answer(tls: ssl.SSLSocket, requests: list[bytes]) -> None:
    data = b""
    for _ in range(100):
        if b"\r\n\r\n" in data:
            break
        chunk = tls.recv(65536)
        if not chunk:
            return
        data += chunk
    # Read the whole body: closing with unread bytes sends a reset, which
    # can reach the sender before the response does.
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    for _ in range(100):
        if len(body) >= length:
            break
        chunk = tls.recv(65536)
        if not chunk:
            break
        body += chunk
    requests.append(head + b"\r\n\r\n" + body)
    tls.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(authority: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return str(path)


def _resolve_to_loopback(host: str, port: int) -> list[str]:
    if host != HOST:
        raise AssertionError(f"unexpected lookup of {host}")
    return ["127.0.0.1"]


def _sender(ca_certs: str | None) -> Sender:
    settings = Settings(allow_private_targets=True, timeout=2)
    return Sender(settings, resolver=_resolve_to_loopback, ca_certs=ca_certs)


def _request() -> object:
    return build_request(
        message_id="0e9e5a37-8f7c-4c59-9d3a-5a8b1d1b2f10",
        webhook_id="3d1b1f5e-6f4e-4b8e-9a57-2f2f6a0c6b11",
        event_code="order.created",
        retry_number=0,
        payload={"orderNumber": "0000000042"},
        signing_secrets=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


def test_tls_untrusted_certificate_fails(authority: trustme.CA) -> None:
    sender = _sender(ca_certs=None)

    with tls_receiver(authority.issue_cert(HOST)) as receiver:
        outcome = sender.post(f"https://{HOST}:{receiver.port}/hook", _request())  # type: ignore[arg-type]
    sender.close()

    assert not outcome.success
    assert not outcome.has_response
    assert outcome.message.startswith("TLS certificate not trusted: ")
    assert "unable to get local issuer certificate" in outcome.message
    assert receiver.requests == []


def test_tls_trusted_ca_checks_host_name(authority: trustme.CA, ca_file: str) -> None:
    sender = _sender(ca_certs=ca_file)

    with tls_receiver(authority.issue_cert(HOST)) as receiver:
        outcome = sender.post(f"https://{HOST}:{receiver.port}/hook", _request())  # type: ignore[arg-type]
    sender.close()

    assert outcome.message == "HTTP 200 OK"
    assert outcome.success
    assert receiver.server_names == [HOST]
    [request] = receiver.requests
    assert f"host: {HOST}:{receiver.port}\r\n".encode() in request.lower()


def test_tls_certificate_for_other_name_fails(
    authority: trustme.CA, ca_file: str
) -> None:
    sender = _sender(ca_certs=ca_file)

    with tls_receiver(authority.issue_cert("other.test")) as receiver:
        outcome = sender.post(f"https://{HOST}:{receiver.port}/hook", _request())  # type: ignore[arg-type]
    sender.close()

    assert not outcome.success
    assert outcome.message.startswith("TLS certificate not trusted: ")
    assert "receiver.test" in outcome.message
    assert receiver.server_names == [HOST]
    assert receiver.requests == []
