"""A steady stream of events and its commit-to-arrival latency."""

import json
import statistics
import time
from dataclasses import dataclass

import psycopg

from tests.receiver import Receiver


@dataclass(frozen=True)
class Latency:
    """Commit-to-arrival latency of one phase, in milliseconds."""

    count: int
    p50: float
    p99: float

    def __str__(self) -> str:
        return f"p50 {self.p50:.0f} ms, p99 {self.p99:.0f} ms over {self.count}"


def emit_steadily(
    db: psycopg.Connection, code: str, phase: str, rate: float, seconds: float
) -> int:
    """Emit rate events a second for seconds, each committed alone.

    Each payload carries its phase and the time just before its commit, so
    the receiver's arrival times give the latency. Returns the count.
    """
    count = int(rate * seconds)
    started = time.monotonic()
    for number in range(count):
        pause = started + number / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        payload = {"phase": phase, "n": number, "emittedAt": time.time()}
        db.execute("SELECT webhooks.emit(%s, %s)", (code, json.dumps(payload)))
    return count


def phase_latency(receiver: Receiver, phase: str) -> Latency:
    """Return the latency of the first arrival of each event of a phase."""
    first: dict[int, float] = {}
    for request in receiver.requests:
        payload = request.json()["payload"]
        if payload.get("phase") != phase:
            continue
        delay = request.received_at - payload["emittedAt"]
        first[payload["n"]] = min(delay, first.get(payload["n"], delay))
    delays = sorted(1000 * delay for delay in first.values())
    return Latency(
        count=len(delays),
        p50=statistics.median(delays),
        p99=delays[min(len(delays) - 1, int(0.99 * len(delays)))],
    )


def warm_up(db: psycopg.Connection, receiver: Receiver, code: str) -> None:
    """Emit one event and wait for its arrival.

    A phase measured afterwards finds the relay's workers running, not
    starting.
    """
    emit_steadily(db, code, "warm-up", rate=1.0, seconds=1.0)
    receiver.wait_for(1, timeout=20)
