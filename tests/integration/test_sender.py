"""The HTTP sender against real receivers on 127.0.0.1."""

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from relay.config import Settings
from relay.delivery import MAX_BODY_BYTES, Sender, build_request, parse_retry_after
from tests.receiver import Receiver, Response, running_receiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def sender() -> Iterator[Sender]:
    settings = Settings(allow_private_targets=True, timeout=1.5)
    sender = Sender(settings)
    yield sender
    sender.close()


def _request() -> object:
    return build_request(
        message_id="9a91b41b-d52c-4c3b-844f-c6d8af3046a1",
        webhook_id="141b8bb3-2b86-4278-80c6-c8d4c21ce371",
        event_code="import.started",
        retry_number=0,
        payload={"entity": "product"},
        signing_secrets=[SECRET],
    )


@contextmanager
def raw_server(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """Serve each connection on 127.0.0.1 with handle; yield the port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                try:
                    handle(connection)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def _read_request(connection: socket.socket) -> None:
    connection.settimeout(2)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return
        data += chunk


@pytest.mark.parametrize(
    ("response", "expected_body"),
    [
        (
            Response(200, b'{"ok": true}', {"content-type": "application/json"}),
            {"ok": True},
        ),
        (
            Response(
                200,
                b'{"ok": 1}',
                {"content-type": "application/problem+json; charset=utf-8"},
            ),
            {"ok": 1},
        ),
        (
            Response(200, b"{not json", {"content-type": "application/json"}),
            "{not json",
        ),
        (
            Response(200, b'{"ok": true}', {"content-type": "text/plain"}),
            '{"ok": true}',
        ),
        (Response(200, b"plain", {}), "plain"),
        (Response(204), None),
        (Response(200, b"nul\x00byte", {}), "nul\ufffdbyte"),
        (
            Response(500, b'{"a": 1e999}', {"content-type": "application/json"}),
            '{"a": 1e999}',
        ),
        (
            Response(500, b'{"a": NaN}', {"content-type": "application/json"}),
            '{"a": NaN}',
        ),
    ],
)
def test_sender_response_body_forms(
    receiver: Receiver, sender: Sender, response: Response, expected_body: object
) -> None:
    receiver.script("/hook", response)

    outcome = sender.post(receiver.url(), _request())  # type: ignore[arg-type]

    assert outcome.has_response
    assert outcome.response_body == expected_body


def test_sender_headers_are_lowercase(receiver: Receiver, sender: Sender) -> None:
    receiver.script("/hook", Response(200, b"", {"X-Request-ID": "abc"}))

    outcome = sender.post(receiver.url(), _request())  # type: ignore[arg-type]

    assert outcome.response_headers is not None
    assert outcome.response_headers["x-request-id"] == "abc"
    assert all(name == name.lower() for name in outcome.response_headers)


def test_sender_repeated_headers_keep_every_value(sender: Sender) -> None:
    def cookies(connection: socket.socket) -> None:
        _read_request(connection)
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n"
            b"x-snow: \xe2\x98\x83\r\ncontent-length: 0\r\n\r\n"
        )

    with raw_server(cookies) as port:
        outcome = sender.post(f"http://127.0.0.1:{port}/", _request())  # type: ignore[arg-type]

    assert outcome.response_headers is not None
    assert outcome.response_headers["set-cookie"] == "a=1, b=2"
    assert outcome.response_headers["x-snow"] == "\u2603"


def test_sender_broken_body_of_2xx_still_succeeds(sender: Sender) -> None:
    def short_body(connection: socket.socket) -> None:
        _read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc")

    with raw_server(short_body) as port:
        outcome = sender.post(f"http://127.0.0.1:{port}/", _request())  # type: ignore[arg-type]

    assert outcome.success
    assert outcome.response_status == 200
    assert outcome.message.startswith("HTTP 200 OK; response body incomplete: ")
    assert outcome.response_body == "abc"


@pytest.mark.parametrize("value", ["\u00b2", "9" * 400, "soon"])
def test_parse_retry_after_odd_values_ignored(value: str) -> None:
    assert parse_retry_after(value) is None


def test_sender_invalid_status_line_message(sender: Sender) -> None:
    def bad_status(connection: socket.socket) -> None:
        _read_request(connection)
        connection.sendall(b"HTTP/1.1 abc Nope\r\n\r\n")

    with raw_server(bad_status) as port:
        outcome = sender.post(f"http://127.0.0.1:{port}/", _request())  # type: ignore[arg-type]

    assert not outcome.success
    assert outcome.message == "Invalid HTTP response from the receiver"


def test_sender_success_message(receiver: Receiver, sender: Sender) -> None:
    outcome = sender.post(receiver.url(), _request())  # type: ignore[arg-type]

    assert outcome.success
    assert outcome.message == "HTTP 204 No Content"
    assert outcome.response_status == 204


def test_sender_sends_host_header_of_url(receiver: Receiver, sender: Sender) -> None:
    sender.post(f"http://localhost:{receiver.port}/hook?x=1", _request())  # type: ignore[arg-type]

    [request] = receiver.wait_for(1)
    assert request.headers["host"] == f"localhost:{receiver.port}"
    assert request.path == "/hook?x=1"


def test_sender_connects_to_checked_address(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []

    def resolve_once(host: str, port: int) -> list[str]:
        lookups.append(host)
        if len(lookups) > 1:
            raise AssertionError("the host was resolved a second time")
        return ["127.0.0.1"]

    system_lookup = socket.getaddrinfo

    def no_lookup_of_name(host: object, *args: object, **kwargs: object) -> object:
        # A lookup of the name after the check could return another address.
        if host == "receiver.test":
            raise AssertionError("the connection resolved the host name again")
        return system_lookup(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup_of_name)
    sender = Sender(Settings(allow_private_targets=True), resolver=resolve_once)

    outcome = sender.post(f"http://receiver.test:{receiver.port}/hook", _request())  # type: ignore[arg-type]
    sender.close()

    assert outcome.message == "HTTP 204 No Content"
    assert lookups == ["receiver.test"]
    [request] = receiver.wait_for(1)
    assert request.headers["host"] == f"receiver.test:{receiver.port}"


def test_sender_guard_blocks_loopback_without_connecting(receiver: Receiver) -> None:
    sender = Sender(Settings(allow_private_targets=False))

    outcome = sender.post(receiver.url(), _request())  # type: ignore[arg-type]
    sender.close()

    assert outcome.message == "Blocked: 127.0.0.1 is a loopback address"
    assert not outcome.has_response
    assert receiver.requests == []


def test_sender_redirect_not_followed(receiver: Receiver, sender: Sender) -> None:
    receiver.script(
        "/hook", Response(302, b"", {"location": "https://example.invalid/next"})
    )

    outcome = sender.post(receiver.url(), _request())  # type: ignore[arg-type]

    assert not outcome.success
    assert outcome.response_status == 302
    assert outcome.message == "Redirect to https://example.invalid/next not followed"
    assert len(receiver.requests) == 1


def test_sender_retry_after_on_429(receiver: Receiver, sender: Sender) -> None:
    receiver.script("/hook", Response(429, b"", {"retry-after": "120"}))

    outcome = sender.post(receiver.url(), _request())  # type: ignore[arg-type]

    assert outcome.retry_after_seconds == 120.0
    assert outcome.message == "HTTP 429 Too Many Requests"


def test_sender_retry_after_ignored_on_500(receiver: Receiver, sender: Sender) -> None:
    receiver.script("/hook", Response(500, b"", {"retry-after": "120"}))

    outcome = sender.post(receiver.url(), _request())  # type: ignore[arg-type]

    assert outcome.retry_after_seconds is None


def test_sender_connection_refused(sender: Sender) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    outcome = sender.post(f"http://127.0.0.1:{port}/hook", _request())  # type: ignore[arg-type]

    assert not outcome.success
    assert outcome.message == "Connection refused"
    assert not outcome.has_response


def test_sender_hanging_receiver_times_out(sender: Sender) -> None:
    def hang(connection: socket.socket) -> None:
        _read_request(connection)
        time.sleep(3)

    with raw_server(hang) as port:
        started = time.monotonic()
        outcome = sender.post(f"http://127.0.0.1:{port}/", _request())  # type: ignore[arg-type]
        elapsed = time.monotonic() - started

    assert outcome.message == "Timed out after 1.5 s"
    assert not outcome.has_response
    assert elapsed < 2.5


def test_sender_trickling_receiver_cut_at_deadline(sender: Sender) -> None:
    def trickle(connection: socket.socket) -> None:
        _read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
        for _ in range(60):
            connection.sendall(b"x")
            time.sleep(0.1)

    with raw_server(trickle) as port:
        started = time.monotonic()
        outcome = sender.post(f"http://127.0.0.1:{port}/", _request())  # type: ignore[arg-type]
        elapsed = time.monotonic() - started

    assert outcome.message == "Timed out after 1.5 s"
    assert elapsed < 2.0


def test_sender_reset_connection(sender: Sender) -> None:
    def reset(connection: socket.socket) -> None:
        _read_request(connection)
        connection.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
        )

    with raw_server(reset) as port:
        outcome = sender.post(f"http://127.0.0.1:{port}/", _request())  # type: ignore[arg-type]

    assert not outcome.success
    assert not outcome.has_response
    assert outcome.message.startswith("Connection")


def test_sender_garbage_instead_of_http(sender: Sender) -> None:
    def garbage(connection: socket.socket) -> None:
        _read_request(connection)
        connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")

    with raw_server(garbage) as port:
        outcome = sender.post(f"http://127.0.0.1:{port}/", _request())  # type: ignore[arg-type]

    assert not outcome.success
    assert not outcome.has_response
    assert "\n" not in outcome.message


def test_sender_large_body_truncated(sender: Sender) -> None:
    sent = {"bytes": 0}

    def huge(connection: socket.socket) -> None:
        _read_request(connection)
        size = 10 * 1024 * 1024
        connection.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n"
            + f"content-length: {size}\r\n\r\n".encode()
        )
        chunk = b"y" * 65536
        try:
            for _ in range(size // len(chunk)):
                connection.sendall(chunk)
                sent["bytes"] += len(chunk)
        except OSError:
            pass

    with raw_server(huge) as port:
        outcome = sender.post(f"http://127.0.0.1:{port}/", _request())  # type: ignore[arg-type]

    assert outcome.success
    assert isinstance(outcome.response_body, str)
    assert len(outcome.response_body) == MAX_BODY_BYTES
    assert outcome.message == "HTTP 200 OK; response body truncated to 64 KiB"
    # The sender stopped reading: the socket buffers hold far less than 10 MB.
    assert sent["bytes"] < 8 * 1024 * 1024


def test_sender_trickling_headers_cut_at_deadline(sender: Sender) -> None:
    def trickle_headers(connection: socket.socket) -> None:
        _read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        for number in range(40):
            connection.sendall(f"x-slow-{number}: 1\r\n".encode())
            time.sleep(0.1)

    with raw_server(trickle_headers) as port:
        started = time.monotonic()
        outcome = sender.post(f"http://127.0.0.1:{port}/", _request())  # type: ignore[arg-type]
        elapsed = time.monotonic() - started

    assert outcome.message == "Timed out after 1.5 s"
    assert not outcome.has_response
    assert elapsed < 2.0
