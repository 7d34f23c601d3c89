"""A transaction left open for a minute does not stop delivery."""

import threading
from collections.abc import Callable

import psycopg
import pytest

from tests.end_to_end.conftest import RelayProcess, add_webhook, scalar, wait_until
from tests.faults.steady import emit_steadily, phase_latency, warm_up
from tests.receiver import Receiver

pytestmark = pytest.mark.faults

RATE = 100.0
BASELINE_SECONDS = 10.0
HELD_SECONDS = 60.0


def test_open_transaction_does_not_stop_delivery(
    database_url: str,
    db: psycopg.Connection,
    receiver: Receiver,
    start_relay: Callable[..., RelayProcess],
) -> None:
    add_webhook(db, receiver.url(), ["order.created"])
    relay = start_relay(workers=1, concurrency=8)
    warm_up(db, receiver, "order.created")
    emitted = emit_steadily(db, "order.created", "baseline", RATE, BASELINE_SECONDS)

    # A repeatable-read transaction keeps its snapshot, and so the xmin
    # horizon, until it ends: vacuum can remove no row deleted after it.
    holder = psycopg.connect(database_url)
    holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    holder.execute("SELECT count(*) FROM webhooks.instance")
    released = threading.Event()
    timer = threading.Timer(HELD_SECONDS, released.set)
    timer.start()
    try:
        emitted += emit_steadily(db, "order.created", "held", RATE, HELD_SECONDS)
        released.wait(10)
        dead_rows = scalar(
            db,
            "SELECT n_dead_tup FROM pg_stat_user_tables"
            " WHERE schemaname = 'webhooks' AND relname = 'instance'",
        )
    finally:
        timer.cancel()
        holder.rollback()
        holder.close()

    def delivered() -> bool:
        done = scalar(
            db, "SELECT count(*) FROM webhooks.instance WHERE state = 'success'"
        )
        return done == emitted + 1

    wait_until(delivered, timeout=30)
    assert relay.stop() == 0, relay.log()
    baseline = phase_latency(receiver, "baseline")
    held = phase_latency(receiver, "held")
    assert baseline.count == int(RATE * BASELINE_SECONDS)
    assert held.count == int(RATE * HELD_SECONDS)
    # Delivery goes on; a bound far above the figures seen keeps this
    # test about stopping, not about speed.
    assert held.p99 < 2000
    print(
        f"held snapshot: baseline {baseline}; with a transaction open"
        f" {HELD_SECONDS:.0f} s: {held}; {dead_rows} dead instance rows"
        f" at its end"
    )
