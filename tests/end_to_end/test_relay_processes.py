"""Relay processes: races, crashes and shutdown."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable

import psycopg

from tests.end_to_end.conftest import RelayProcess, add_webhook, scalar, wait_until
from tests.receiver import Receiver, Response


def _emit_many(db: psycopg.Connection, code: str, count: int) -> None:
    with db.transaction():
        for number in range(count):
            db.execute(
                "SELECT webhooks.emit(%s, %s)", (code, json.dumps({"n": number}))
            )


def _count_state(db: psycopg.Connection, state: str) -> int:
    return int(
        scalar(db, "SELECT count(*) FROM webhooks.instance WHERE state = %s", state)
    )  # type: ignore[call-overload]


def test_relays_racing_deliver_each_instance_once(
    db: psycopg.Connection, receiver: Receiver, start_relay: Callable[..., RelayProcess]
) -> None:
    add_webhook(db, receiver.url("/a"), ["product.created"])
    add_webhook(db, receiver.url("/b"), ["product.created"])
    _emit_many(db, "product.created", 300)

    first = start_relay(workers=2, concurrency=8)
    second = start_relay(workers=2, concurrency=8)

    wait_until(lambda: _count_state(db, "success") == 600, timeout=60)
    ids = Counter(request.json()["id"] for request in receiver.requests)
    assert len(ids) == 600
    assert max(ids.values()) == 1
    assert first.stop() == 0
    assert second.stop() == 0


def test_relay_worker_killed_loses_nothing(
    db: psycopg.Connection, receiver: Receiver, start_relay: Callable[..., RelayProcess]
) -> None:
    # Slow answers keep requests in flight when the worker dies.
    receiver.script("/hook", Response(204, delay=0.3))
    add_webhook(db, receiver.url(), ["order.updated"])
    _emit_many(db, "order.updated", 40)
    relay = start_relay(workers=2, concurrency=4, WEBHOOKS_TIMEOUT="1")

    receiver.wait_for(4, timeout=15)
    victim = relay.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)

    # The lease is the timeout plus 5 s; the killed claims come back after it.
    wait_until(lambda: _count_state(db, "success") == 40, timeout=45)
    assert _count_state(db, "running") == 0
    delivered = {request.json()["id"] for request in receiver.requests}
    assert len(delivered) == 40
    assert relay.stop() == 0
    assert "exited with code" in relay.log()


def test_relay_sigterm_finishes_in_flight_and_exits_zero(
    db: psycopg.Connection, receiver: Receiver, start_relay: Callable[..., RelayProcess]
) -> None:
    receiver.script("/hook", Response(204, delay=1.0))
    add_webhook(db, receiver.url(), ["import.started"])
    _emit_many(db, "import.started", 6)
    relay = start_relay(workers=1, concurrency=4)
    receiver.wait_for(2, timeout=15)

    started = time.monotonic()
    exit_code = relay.stop()

    assert exit_code == 0
    assert time.monotonic() - started < 2 + 1 + 2
    assert _count_state(db, "running") == 0
    finished = _count_state(db, "success")
    assert finished >= 2
    assert finished + _count_state(db, "new") == 6
    assert "relay stopped" in relay.log()


def test_relay_gone_response_disables_webhook_at_once(
    db: psycopg.Connection, receiver: Receiver, start_relay: Callable[..., RelayProcess]
) -> None:
    receiver.script("/hook", 410)
    add_webhook(db, receiver.url(), ["order.created"])
    relay = start_relay()

    db.execute("SELECT webhooks.emit('order.created', '{}')")

    wait_until(lambda: scalar(db, "SELECT NOT enabled FROM webhooks.webhook") is True)
    assert scalar(db, "SELECT kind FROM webhooks.notification") == "webhook.disabled"
    assert scalar(db, "SELECT message FROM webhooks.notification") == "HTTP 410 Gone"
    assert relay.stop() == 0


def test_relay_without_schema_says_migrate(
    database_url: str, start_relay: Callable[..., RelayProcess], db: psycopg.Connection
) -> None:
    db.execute("DROP SCHEMA webhooks CASCADE")

    relay = start_relay()

    assert relay.process.wait(20) == 1
    assert "run `relay migrate` first" in relay.log()


def test_relay_ctrl_c_stops_cleanly(
    db: psycopg.Connection, receiver: Receiver, start_relay: Callable[..., RelayProcess]
) -> None:
    receiver.script("/hook", Response(204, delay=0.5))
    add_webhook(db, receiver.url(), ["order.created"])
    _emit_many(db, "order.created", 4)
    relay = start_relay(workers=2, concurrency=2)
    receiver.wait_for(1, timeout=15)

    # A terminal's Ctrl-C sends SIGINT to every process of the group.
    os.killpg(relay.process.pid, signal.SIGINT)

    assert relay.process.wait(15) == 0, relay.log()
    assert _count_state(db, "running") == 0
    assert "stopping: SIGINT received" in relay.log()


def test_relay_keeps_delivering_during_migrate(
    database_url: str,
    db: psycopg.Connection,
    receiver: Receiver,
    start_relay: Callable[..., RelayProcess],
) -> None:
    add_webhook(db, receiver.url(), ["product.updated"])
    relay = start_relay(workers=1, concurrency=4)
    _emit_many(db, "product.updated", 20)

    migrate_runs = [
        subprocess.run(
            [sys.executable, "-m", "relay", "migrate"],
            env={**os.environ, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        for _ in range(2)
    ]
    _emit_many(db, "product.updated", 20)

    assert [run.returncode for run in migrate_runs] == [0, 0]
    assert "schema up to date" in migrate_runs[1].stdout
    wait_until(lambda: _count_state(db, "success") == 40, timeout=30)
    assert relay.stop() == 0
