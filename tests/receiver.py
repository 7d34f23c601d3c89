"""A webhook receiver on 127.0.0.1 for tests, recording every request.

Each path answers from its own script of responses: the last entry repeats
once the script runs out, so ``[500, 500, 200]`` fails twice and then
succeeds for good.
"""

import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Response:
    """One scripted answer."""

    status: int = 204
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float

    def json(self) -> Any:
        """Return the body parsed as JSON."""
        return json.loads(self.body)


class Receiver:
    """Scripted responses per path and the list of requests received."""

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self._scripts: dict[str, list[Response]] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.port = 0

    def url(self, path: str = "/hook") -> str:
        """Return the URL of a path on this receiver."""
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *responses: Response | int) -> None:
        """Set the answers for a path; ints are bare status codes."""
        with self._lock:
            self._scripts[path] = [
                r if isinstance(r, Response) else Response(status=r) for r in responses
            ]

    def next_response(self, path: str) -> Response:
        """Pop the next scripted answer for a path (the last one repeats)."""
        with self._lock:
            script = self._scripts.get(path) or [Response()]
            return script.pop(0) if len(script) > 1 else script[0]

    def record(self, request: ReceivedRequest) -> None:
        """Store a request and wake anyone waiting for it."""
        with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()

    def wait_for(
        self, count: int, timeout: float = 10.0, path: str | None = None
    ) -> list[ReceivedRequest]:
        """Wait until count requests (for path, if given) arrived; return them."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                matching = [r for r in self.requests if path is None or r.path == path]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} requests, got {len(matching)}"
                        f" after {timeout} s"
                    )
                self._arrived.wait(remaining)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    receiver: Receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        self.receiver.record(
            ReceivedRequest(
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                received_at=time.time(),
            )
        )
        response = self.receiver.next_response(self.path)
        if response.delay:
            time.sleep(response.delay)
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            # The sender gave up (its timeout, or a test killed it).
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """Serve a Receiver on a free port of 127.0.0.1 for the block's duration."""
    receiver = Receiver()
    handler = type("Handler", (_Handler,), {"receiver": receiver})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
