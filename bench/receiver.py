"""An out-of-process webhook receiver that records when each delivery arrived.

Run as ``python -m bench.receiver``: it listens on 127.0.0.1 on a free
port, prints the port on its first line of output, replies 204 to every
POST on a keep-alive connection and records the request's webhook-id header
with the arrival time (time.time()). ``GET /arrivals`` returns the records
as JSON pairs and forgets them.

The parser handles only what the benchmark's clients send, requests with a
Content-Length body, because a full HTTP server would make the receiver,
not the system under test, the bottleneck on a small machine.
"""

import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass

import urllib3

_NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"
_HEADER_END = b"\r\n\r\n"


class _DeliveryProtocol(asyncio.Protocol):
    """One client connection; requests may arrive back to back."""

    def __init__(self, arrivals: list[tuple[str, float]]) -> None:
        self._arrivals = arrivals
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while self._answer_one():
            pass

    def _answer_one(self) -> bool:
        head_end = self._buffer.find(_HEADER_END)
        if head_end < 0:
            return False
        head = self._buffer[:head_end].decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        request_end = head_end + len(_HEADER_END) + length
        if len(self._buffer) < request_end:
            return False
        self._buffer = self._buffer[request_end:]

        assert self._transport is not None
        if request_line.startswith("GET /arrivals"):
            body = json.dumps(self._arrivals).encode()
            self._arrivals.clear()
            self._transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(body), body)
            )
            return True
        self._arrivals.append((headers.get("webhook-id", ""), time.time()))
        self._transport.write(_NO_CONTENT)
        return True


async def _serve() -> None:
    arrivals: list[tuple[str, float]] = []
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _DeliveryProtocol(arrivals), "127.0.0.1", 0, backlog=1024
    )
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    async with server:
        await server.serve_forever()


@dataclass
class ReceiverProcess:
    """A running receiver process and a way to read what it recorded."""

    process: subprocess.Popen[str]
    port: int

    @classmethod
    def start(cls) -> "ReceiverProcess":
        """Start the receiver and wait until it listens."""
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.receiver"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        port = int(process.stdout.readline())
        return cls(process=process, port=port)

    def url(self, path: str = "/hook") -> str:
        """Return the URL of a path on this receiver."""
        return f"http://127.0.0.1:{self.port}{path}"

    def take_arrivals(self) -> dict[str, float]:
        """Return the arrival time of each webhook id since the last call.

        A repeated id keeps its first arrival; duplicates are counted by
        the caller from the raw list when it matters.
        """
        return first_arrivals(self.take_raw_arrivals())

    def take_raw_arrivals(self) -> list[tuple[str, float]]:
        """Return every recorded (webhook id, arrival time) since the last call."""
        response = urllib3.request("GET", self.url("/arrivals"), timeout=30)
        return [(item[0], item[1]) for item in json.loads(response.data)]

    def stop(self) -> None:
        """Stop the receiver process."""
        self.process.terminate()
        self.process.wait(10)


def first_arrivals(raw: list[tuple[str, float]]) -> dict[str, float]:
    """Map each webhook id to its first arrival time."""
    arrivals: dict[str, float] = {}
    for webhook_id, arrived_at in raw:
        arrivals.setdefault(webhook_id, arrived_at)
    return arrivals


if __name__ == "__main__":
    try:
        asyncio.run(_serve())
    except KeyboardInterrupt:
        pass
