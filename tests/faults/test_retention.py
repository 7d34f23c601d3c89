"""Pruning runs in small batches next to deliveries without holding them up."""

import subprocess
import sys
import threading
import time
from collections.abc import Callable

import psycopg
import pytest

from relay.config import Settings
from relay.retention import Pruner
from tests.end_to_end.conftest import (
    RelayProcess,
    add_webhook,
    relay_environment,
    scalar,
    wait_until,
)
from tests.faults.steady import emit_steadily, phase_latency, warm_up
from tests.receiver import Receiver

pytestmark = pytest.mark.faults

OLD_INSTANCES = 20_000
RATE = 100.0


def add_old_finished_instances(db: psycopg.Connection, webhook_id: str) -> None:
    """Store OLD_INSTANCES instances finished 40 days ago, each with an execution.

    No webhook listens to product.updated, so the events fan out to nothing
    and the instances are added by hand.
    """
    db.execute(
        "INSERT INTO webhooks.outbox (event_code, payload, created_at)"
        " SELECT 'product.updated', jsonb_build_object('n', n),"
        "        now() - interval '40 days'"
        " FROM generate_series(1, %s) AS n",
        (OLD_INSTANCES,),
    )
    db.execute(
        "INSERT INTO webhooks.instance"
        " (webhook_id, event_id, event_code, state, remaining_retries,"
        "  execution_count, created_at, updated_at)"
        " SELECT %s, o.id, o.event_code, 'success', 8, 1, o.created_at, o.created_at"
        " FROM webhooks.outbox AS o WHERE o.event_code = 'product.updated'",
        (webhook_id,),
    )
    db.execute(
        "INSERT INTO webhooks.execution"
        " (instance_id, created_at, success, message, response_status)"
        " SELECT i.id, i.created_at, true, 'HTTP 204 No Content', 204"
        " FROM webhooks.instance AS i WHERE i.event_code = 'product.updated'"
    )


def test_prune_next_to_deliveries(
    database_url: str,
    db: psycopg.Connection,
    receiver: Receiver,
    start_relay: Callable[..., RelayProcess],
) -> None:
    webhook_id = add_webhook(db, receiver.url(), ["order.created"])
    add_old_finished_instances(db, webhook_id)
    relay = start_relay(workers=1, concurrency=8)
    warm_up(db, receiver, "order.created")
    emitted = emit_steadily(db, "order.created", "baseline", RATE, 5)

    prune_result: list[subprocess.CompletedProcess[str]] = []
    prune_seconds: list[float] = []

    def run_prune() -> None:
        started = time.monotonic()
        prune_result.append(
            subprocess.run(
                [sys.executable, "-m", "relay", "prune"],
                env=relay_environment(database_url),
                capture_output=True,
                text=True,
                timeout=120,
            )
        )
        prune_seconds.append(time.monotonic() - started)

    pruner = threading.Thread(target=run_prune)
    pruner.start()
    emitted += emit_steadily(db, "order.created", "pruning", RATE, 5)
    pruner.join(120)

    def delivered() -> bool:
        done = scalar(
            db,
            "SELECT count(*) FROM webhooks.instance"
            " WHERE state = 'success' AND event_code = 'order.created'",
        )
        return done == emitted + 1

    wait_until(delivered, timeout=30)
    assert relay.stop() == 0, relay.log()
    [result] = prune_result
    assert result.returncode == 0, result.stderr
    assert "deleted 20000 instances and 20000 events" in result.stdout
    old_left = scalar(
        db,
        "SELECT count(*) FROM webhooks.instance WHERE event_code = 'product.updated'",
    )
    assert old_left == 0
    baseline = phase_latency(receiver, "baseline")
    pruning = phase_latency(receiver, "pruning")
    assert pruning.count == int(RATE * 5)
    assert pruning.p99 < 1000
    print(
        f"retention: pruned {OLD_INSTANCES} instances and events in"
        f" {prune_seconds[0]:.1f} s; delivery latency before: {baseline};"
        f" while pruning: {pruning}"
    )


def test_daemon_prunes_on_schedule(database_url: str, db: psycopg.Connection) -> None:
    webhook_id = add_webhook(db, "http://127.0.0.1:9/", ["order.created"])
    add_old_finished_instances(db, webhook_id)
    pruner = Pruner(Settings(database_url=database_url), first_run_in=0.0)

    pruner.run_if_due()

    assert scalar(db, "SELECT count(*) FROM webhooks.instance") == 0
    assert scalar(db, "SELECT count(*) FROM webhooks.outbox") == 0
    # The next run waits for the interval.
    add_old_finished_instances(db, webhook_id)
    pruner.run_if_due()
    assert scalar(db, "SELECT count(*) FROM webhooks.instance") == OLD_INSTANCES


def test_instance_table_storage_parameters(db: psycopg.Connection) -> None:
    options = scalar(
        db,
        "SELECT reloptions FROM pg_class WHERE oid = 'webhooks.instance'::regclass",
    )
    # Room for updates on the same page, and vacuum after 1 % of rows
    # changed instead of the default 20 %.
    assert "fillfactor=80" in options
    assert "autovacuum_vacuum_scale_factor=0.01" in options
