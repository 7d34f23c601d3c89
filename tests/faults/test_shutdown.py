"""SIGTERM under load: the relay exits in time and leaves nothing running."""

import json
import signal
import time
from collections.abc import Callable

import psycopg
import pytest

from tests.end_to_end.conftest import RelayProcess, add_webhook, scalar
from tests.receiver import Receiver, Response

pytestmark = pytest.mark.faults

TIMEOUT = 2.0


@pytest.mark.parametrize(
    ("answer_delay", "expected_state"),
    [(1.0, "success"), (30.0, "failed")],
    ids=["slow-receiver", "hanging-receiver"],
)
def test_sigterm_under_load_exits_in_time(
    db: psycopg.Connection,
    receiver: Receiver,
    start_relay: Callable[..., RelayProcess],
    answer_delay: float,
    expected_state: str,
) -> None:
    receiver.script("/hook", Response(204, delay=answer_delay))
    for code in ("order.created", "order.updated", "shipment.created"):
        add_webhook(db, receiver.url(), [code])
        for number in range(100):
            db.execute(
                "SELECT webhooks.emit(%s, %s)", (code, json.dumps({"n": number}))
            )
    relay = start_relay(
        workers=2,
        concurrency=8,
        WEBHOOKS_TIMEOUT=f"{TIMEOUT:g}",
        WEBHOOKS_RETRY_DELAYS="1h",
    )
    # Every delivery slot has a request in flight when the signal comes.
    receiver.wait_for(16, timeout=20)

    signalled = time.monotonic()
    relay.process.send_signal(signal.SIGTERM)
    exit_code = relay.process.wait(TIMEOUT + 10)
    exit_seconds = time.monotonic() - signalled

    assert exit_code == 0, relay.log()
    assert exit_seconds <= TIMEOUT + 1, relay.log()
    assert (
        scalar(db, "SELECT count(*) FROM webhooks.instance WHERE state = 'running'")
        == 0
    )
    # Each request that reached the receiver was recorded with an outcome:
    # mostly the expected one, though on a loaded machine a 1 s response can
    # still exceed the 2 s timeout.
    received = {request.json()["id"] for request in receiver.requests}
    recorded = scalar(
        db, "SELECT count(*) FROM webhooks.instance WHERE execution_count > 0"
    )
    finished = scalar(
        db, "SELECT count(*) FROM webhooks.instance WHERE state = %s", expected_state
    )
    assert recorded == len(received), relay.log()
    assert finished >= len(received) // 2
    assert "relay stopped" in relay.log()
    print(
        f"shutdown ({answer_delay:g} s answers): exited {exit_seconds:.2f} s after"
        f" SIGTERM; {recorded} requests in flight recorded, {finished} as"
        f" {expected_state}"
    )
