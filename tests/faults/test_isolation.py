"""A webhook whose receiver hangs does not hold up the other webhooks."""

import json
import time
from collections.abc import Callable

import psycopg
import pytest

from tests.end_to_end.conftest import RelayProcess, add_webhook
from tests.receiver import Receiver, Response

pytestmark = pytest.mark.faults


def test_hanging_webhook_leaves_slots_for_healthy_one(
    db: psycopg.Connection, receiver: Receiver, start_relay: Callable[..., RelayProcess]
) -> None:
    # The hanging receiver answers after the timeout, on every request.
    receiver.script("/hang", Response(204, delay=4.0))
    add_webhook(db, receiver.url("/hang"), ["product.updated"])
    add_webhook(db, receiver.url("/ok"), ["order.created"])
    with db.transaction():
        for number in range(60):
            db.execute(
                "SELECT webhooks.emit('product.updated', %s)",
                (json.dumps({"n": number}),),
            )
    relay = start_relay(
        workers=1,
        concurrency=8,
        WEBHOOKS_TIMEOUT="2",
        WEBHOOKS_MAX_IN_FLIGHT_PER_WEBHOOK="4",
    )
    receiver.wait_for(4, timeout=15, path="/hang")

    emitted_at = time.time()
    for number in range(5):
        db.execute(
            "SELECT webhooks.emit('order.created', %s)", (json.dumps({"n": number}),)
        )

    healthy = receiver.wait_for(5, timeout=10, path="/ok")
    slowest = max(request.received_at for request in healthy) - emitted_at
    # Well within one timeout (2 s), although the hanging webhook's backlog
    # is older and would fill every slot without the cap.
    assert slowest < 2.0, f"healthy deliveries took {slowest:.2f} s"
    hanging_in_flight = len(receiver.wait_for(4, path="/hang"))
    assert hanging_in_flight >= 4
    assert relay.stop() == 0
    print(
        f"isolation: 5 events of a healthy webhook arrived within {slowest:.2f} s"
        f" while a hanging webhook held {hanging_in_flight} of 8 slots"
    )
