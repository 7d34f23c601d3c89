"""The relay with its destination guard on, against a loopback receiver."""

import json
from collections.abc import Callable

import psycopg

from tests.end_to_end.conftest import RelayProcess, add_webhook, scalar, wait_until
from tests.receiver import Receiver


def test_guard_on_loopback_receiver_gets_nothing(
    db: psycopg.Connection, receiver: Receiver, start_relay: Callable[..., RelayProcess]
) -> None:
    webhook_id = add_webhook(db, receiver.url(), ["order.created"])
    relay = start_relay(WEBHOOKS_ALLOW_PRIVATE_TARGETS="false")

    db.execute(
        "SELECT webhooks.emit(%s, %s)",
        ("order.created", json.dumps({"orderNumber": "0000000007"})),
    )

    wait_until(
        lambda: scalar(db, "SELECT count(*) FROM webhooks.execution") == 1  # type: ignore[operator]
    )
    message = scalar(db, "SELECT message FROM webhooks.execution")
    assert message == "Blocked: 127.0.0.1 is a loopback address"
    state = scalar(
        db, "SELECT state FROM webhooks.instance WHERE webhook_id = %s", webhook_id
    )
    assert state == "failed"
    assert relay.stop() == 0
    assert receiver.requests == []
    assert "destination guard is off" not in relay.log()


def test_guard_off_logs_warning_at_start(
    start_relay: Callable[..., RelayProcess],
) -> None:
    relay = start_relay(WEBHOOKS_ALLOW_PRIVATE_TARGETS="true")

    wait_until(lambda: "relay starting" in relay.log())
    assert relay.stop() == 0
    [warning] = [
        line for line in relay.log().splitlines() if "destination guard is off" in line
    ]
    assert "WARNING" in warning
