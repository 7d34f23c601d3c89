"""Workers killed mid-delivery lose nothing and duplicate little."""

import json
import os
import random
import re
import signal
import time
from collections import Counter
from collections.abc import Callable

import psycopg
import pytest

from tests.end_to_end.conftest import RelayProcess, add_webhook, scalar
from tests.receiver import Receiver, Response

pytestmark = pytest.mark.faults

EVENTS = 2000
WEBHOOKS = 5
WORKERS = 3
CONCURRENCY = 4
MAX_KILLS = 6
KILL_EVERY = 1.5
# The supervisor resets expired claims every 2 s and checks its schedule
# every second, so nothing may stay running this long past its lease.
LEASE_GRACE = "4 seconds"


def live_worker_pids(relay: RelayProcess) -> dict[str, int]:
    """Return the newest pid of each worker, from the supervisor's log."""
    pids: dict[str, int] = {}
    for name, pid in re.findall(r"started (worker-\d+) \(pid (\d+)\)", relay.log()):
        pids[name] = int(pid)
    return pids


def emit_round_robin(db: psycopg.Connection, codes: list[str]) -> None:
    """Emit EVENTS events, each in its own transaction, spread over codes."""
    for number in range(EVENTS):
        db.execute(
            "SELECT webhooks.emit(%s, %s)",
            (codes[number % len(codes)], json.dumps({"n": number})),
        )


def test_killed_workers_lose_nothing(
    db: psycopg.Connection, receiver: Receiver, start_relay: Callable[..., RelayProcess]
) -> None:
    # One event code per webhook, so EVENTS events make EVENTS instances.
    codes = [
        "order.created",
        "order.updated",
        "shipment.created",
        "invoice.created",
        "product.updated",
    ]
    assert len(codes) == WEBHOOKS
    for code in codes:
        receiver.script(f"/{code}", Response(204, delay=0.05))
        add_webhook(db, receiver.url(f"/{code}"), [code])
    emit_round_robin(db, codes)

    relay = start_relay(workers=WORKERS, concurrency=CONCURRENCY)
    rng = random.Random(20261204)
    started = time.monotonic()
    kills = 0
    stuck_samples = []
    deadline = started + 120
    while time.monotonic() < deadline:
        done = scalar(
            db, "SELECT count(*) FROM webhooks.instance WHERE state = 'success'"
        )
        if done == EVENTS:
            break
        stuck_samples.append(
            scalar(
                db,
                "SELECT count(*) FROM webhooks.instance"
                " WHERE state = 'running' AND due_at < now() - %s::interval",
                LEASE_GRACE,
            )
        )
        pids = live_worker_pids(relay)
        if kills < MAX_KILLS and len(pids) == WORKERS and done > 0:
            name = rng.choice(sorted(pids))
            try:
                os.kill(pids[name], signal.SIGKILL)
                kills += 1
            except ProcessLookupError:
                pass  # it died or is being restarted already
        time.sleep(KILL_EVERY)
    elapsed = time.monotonic() - started

    assert relay.stop() == 0, relay.log()
    states = dict(
        db.execute("SELECT state, count(*) FROM webhooks.instance GROUP BY state")
    )
    assert states == {"success": EVENTS}
    assert kills >= 3, f"the run ended after {kills} kills; make it longer"
    assert max(stuck_samples) == 0
    arrivals = Counter(request.json()["id"] for request in receiver.requests)
    assert len(arrivals) == EVENTS
    duplicates = sum(count - 1 for count in arrivals.values())
    # A killed worker had at most CONCURRENCY requests in flight.
    assert duplicates <= kills * CONCURRENCY
    assert relay.log().count("exited with code -9; restarting it") == kills
    print(
        f"relay crashes: {EVENTS} events to {WEBHOOKS} webhooks, {kills} workers"
        f" killed, {duplicates} duplicate deliveries (bound {kills * CONCURRENCY}),"
        f" all delivered in {elapsed:.1f} s"
    )
