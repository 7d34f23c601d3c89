"""`relay run` with JSON logs: every line parses and carries the ids."""

import json
from collections.abc import Callable

import psycopg

from tests.end_to_end.conftest import RelayProcess, add_webhook, scalar, wait_until
from tests.receiver import Receiver


def test_relay_json_log_lines_carry_ids(
    db: psycopg.Connection, receiver: Receiver, start_relay: Callable[..., RelayProcess]
) -> None:
    webhook_id = add_webhook(db, receiver.url(), ["order.created"])
    for number in range(3):
        db.execute(
            "SELECT webhooks.emit('order.created', %s)", (json.dumps({"n": number}),)
        )
    relay = start_relay(workers=2, WEBHOOKS_LOG_FORMAT="json")

    wait_until(
        lambda: (
            scalar(db, "SELECT count(*) FROM webhooks.instance WHERE state = 'success'")
            == 3
        )
    )
    assert relay.stop() == 0

    lines = [json.loads(line) for line in relay.log().splitlines() if line.strip()]
    deliveries = [line for line in lines if line["message"].startswith("delivered")]
    instance_ids = {
        str(row[0]) for row in db.execute("SELECT id FROM webhooks.instance")
    }
    assert {line["instance_id"] for line in deliveries} == instance_ids
    for line in deliveries:
        assert line["level"] == "INFO"
        assert line["webhook_id"] == webhook_id
        assert line["event_code"] == "order.created"
        assert line["retry_number"] == 0
        assert line["status"] == 204
        assert isinstance(line["duration_ms"], int)
        assert line["process"] in ("worker-1", "worker-2")
    assert lines[-1]["message"] == "relay stopped"
