"""Receivers that misbehave give failed executions and never stall the relay."""

import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest

from tests.end_to_end.conftest import RelayProcess, add_webhook, scalar, wait_until
from tests.receiver import Receiver

pytestmark = pytest.mark.faults

TIMEOUT = 2.0
HUGE_BODY = 10 * 1024 * 1024
# How long any misbehaving connection may last, so the server's threads end.
MAX_CONNECTION_SECONDS = 15.0


class BadReceiver:
    """A TCP server on 127.0.0.1 that breaks HTTP in a way chosen by path."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self.huge_bytes_sent = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str) -> str:
        """Return the URL of one behaviour."""
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        """Start accepting connections."""
        self._thread.start()

    def close(self) -> None:
        """Stop the server and its connection threads."""
        self._stop.set()
        self._thread.join(5)
        self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            threading.Thread(
                target=self._serve, args=(connection,), daemon=True
            ).start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(MAX_CONNECTION_SECONDS)
        try:
            path = self._read_request(connection)
            behaviour = getattr(self, "_" + path.strip("/"), None)
            if behaviour is not None:
                behaviour(connection)
        except OSError:
            pass  # the relay gave up on the connection, as it should
        finally:
            connection.close()

    def _read_request(self, connection: socket.socket) -> str:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the request ended")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length:")
        )
        while len(body) < length:
            body += connection.recv(65536)
        return lines[0].split(" ")[1]

    def _hang(self, connection: socket.socket) -> None:
        self._stop.wait(MAX_CONNECTION_SECONDS)

    def _trickle(self, connection: socket.socket) -> None:
        started = time.monotonic()
        for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 1000:
            if (
                self._stop.is_set()
                or time.monotonic() - started > MAX_CONNECTION_SECONDS
            ):
                return
            connection.sendall(bytes([byte]))
            time.sleep(0.2)

    def _reset(self, connection: socket.socket) -> None:
        # A zero linger time makes close() send RST instead of FIN.
        connection.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )

    def _garbage(self, connection: socket.socket) -> None:
        connection.sendall(b"this is not HTTP at all\r\n\r\n")

    def _huge(self, connection: socket.socket) -> None:
        connection.sendall(
            b"HTTP/1.1 503 Service Unavailable\r\n"
            b"Content-Type: text/plain\r\n"
            + f"Content-Length: {HUGE_BODY}\r\n\r\n".encode()
        )
        chunk = b"x" * 65536
        for _ in range(HUGE_BODY // len(chunk)):
            connection.sendall(chunk)
            self.huge_bytes_sent += len(chunk)


@contextmanager
def bad_receiver() -> Iterator[BadReceiver]:
    """Run a BadReceiver for the block's duration."""
    server = BadReceiver()
    server.start()
    try:
        yield server
    finally:
        server.close()


# Each behaviour, the event code its webhook listens to, and the message
# its failed execution must have.
CASES = [
    ("/hang", "order.created", f"Timed out after {TIMEOUT:g} s"),
    ("/trickle", "order.updated", f"Timed out after {TIMEOUT:g} s"),
    ("/reset", "shipment.created", "Connection reset by the receiver"),
    ("/garbage", "invoice.created", "Invalid HTTP response from the receiver"),
    ("/huge", "product.updated", "HTTP 503 Service Unavailable; response body"),
]


def test_bad_receivers_fail_cleanly(
    db: psycopg.Connection, receiver: Receiver, start_relay: Callable[..., RelayProcess]
) -> None:
    with bad_receiver() as bad:
        for path, code, _ in CASES:
            add_webhook(db, bad.url(path), [code])
        add_webhook(db, receiver.url("/ok"), ["import.finished"])
        relay = start_relay(
            workers=1,
            concurrency=8,
            WEBHOOKS_TIMEOUT=f"{TIMEOUT:g}",
            WEBHOOKS_RETRY_DELAYS="1h",
        )
        for _, code, _ in CASES:
            db.execute("SELECT webhooks.emit(%s, '{}')", (code,))
        started = time.monotonic()
        # The healthy webhook is served while the bad ones hold their slots.
        for number in range(5):
            db.execute(
                "SELECT webhooks.emit('import.finished', %s)",
                (json.dumps({"n": number}),),
            )
        receiver.wait_for(5, timeout=TIMEOUT + 3)
        healthy_seconds = time.monotonic() - started

        def all_tried() -> bool:
            return scalar(db, "SELECT count(*) FROM webhooks.execution") == 10

        wait_until(all_tried, timeout=3 * TIMEOUT + 10)
        tried_seconds = time.monotonic() - started

        # No worker is stuck: the relay still delivers at once.
        db.execute("SELECT webhooks.emit('import.finished', '{\"n\": 5}')")
        receiver.wait_for(6, timeout=TIMEOUT + 3)
        assert relay.stop() == 0, relay.log()

    for path, code, expected in CASES:
        row = db.execute(
            "SELECT i.state, e.success, e.message, e.duration_ms,"
            " length(e.response_body #>> '{}')"
            " FROM webhooks.instance AS i"
            " JOIN webhooks.execution AS e ON e.instance_id = i.id"
            " WHERE i.event_code = %s",
            (code,),
        ).fetchone()
        assert row is not None, path
        state, success, message, duration_ms, body_length = row
        assert state == "failed", path
        assert success is False, path
        assert message.startswith(expected), (path, message)
        assert "\n" not in message, path
        assert duration_ms <= (TIMEOUT + 1) * 1000, (path, duration_ms)
        if path == "/huge":
            assert body_length == 64 * 1024
    print(
        f"bad receivers: healthy webhook served in {healthy_seconds:.2f} s,"
        f" all five bad receivers tried in {tried_seconds:.2f} s,"
        f" 10 MB receiver sent {bad.huge_bytes_sent // 1024} KiB before the cut"
    )
