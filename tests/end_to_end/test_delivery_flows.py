"""The three flows of the feature: first try, retry, auto-disable."""

import json
from collections.abc import Callable

import psycopg
from standardwebhooks.webhooks import Webhook

from tests.end_to_end.conftest import RelayProcess, add_webhook, scalar, wait_until
from tests.receiver import Receiver, Response

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _emit(db: psycopg.Connection, code: str, payload: dict[str, object]) -> None:
    db.execute("SELECT webhooks.emit(%s, %s)", (code, json.dumps(payload)))


def _instance_state(db: psycopg.Connection, webhook_id: str) -> tuple[str, int]:
    row = db.execute(
        "SELECT state, remaining_retries FROM webhooks.instance WHERE webhook_id = %s",
        (webhook_id,),
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def test_delivery_first_try_success(
    db: psycopg.Connection, receiver: Receiver, start_relay: Callable[..., RelayProcess]
) -> None:
    webhook_id = add_webhook(db, receiver.url(), ["order.created"], secret=SECRET)
    relay = start_relay()

    _emit(db, "order.created", {"orderNumber": "0000000001"})

    [request] = receiver.wait_for(1)
    body = request.json()
    assert body["webhookId"] == webhook_id
    assert body["eventCode"] == "order.created"
    assert body["retryNumber"] == 0
    assert body["payload"] == {"orderNumber": "0000000001"}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == body["id"]
    Webhook(SECRET).verify(request.body, request.headers)

    wait_until(lambda: _instance_state(db, webhook_id)[0] == "success")
    assert _instance_state(db, webhook_id) == ("success", 8)
    execution = db.execute(
        "SELECT success, message, response_status, response_body"
        " FROM webhooks.execution"
    ).fetchone()
    assert execution == (True, "HTTP 204 No Content", 204, None)
    assert relay.stop() == 0
    assert "delivered instance" in relay.log()


def test_delivery_failure_then_retry_success(
    db: psycopg.Connection, receiver: Receiver, start_relay: Callable[..., RelayProcess]
) -> None:
    receiver.script(
        "/hook",
        Response(503, b'{"error": "busy"}', {"content-type": "application/json"}),
        Response(200, b"thanks", {"content-type": "text/plain"}),
    )
    webhook_id = add_webhook(db, receiver.url(), ["shipment.created"], secret=SECRET)
    relay = start_relay()

    _emit(db, "shipment.created", {"number": "S000000000030"})

    first, second = receiver.wait_for(2)
    assert first.json()["retryNumber"] == 0
    assert second.json()["retryNumber"] == 1
    assert first.json()["id"] == second.json()["id"]
    Webhook(SECRET).verify(second.body, second.headers)
    wait_until(lambda: _instance_state(db, webhook_id)[0] == "success")
    assert _instance_state(db, webhook_id) == ("success", 7)
    executions = db.execute(
        "SELECT success, message, response_status, response_body, response_headers"
        " FROM webhooks.execution ORDER BY created_at"
    ).fetchall()
    assert [row[:4] for row in executions] == [
        (False, "HTTP 503 Service Unavailable", 503, {"error": "busy"}),
        (True, "HTTP 200 OK", 200, "thanks"),
    ]
    assert executions[1][4]["content-type"] == "text/plain"
    assert scalar(db, "SELECT successive_failure_count FROM webhooks.webhook") == 0
    assert relay.stop() == 0
    assert "retry at" in relay.log()


def test_delivery_successive_failures_disable_webhook(
    db: psycopg.Connection, receiver: Receiver, start_relay: Callable[..., RelayProcess]
) -> None:
    receiver.script("/hook", 500)
    webhook_id = add_webhook(db, receiver.url(), ["invoice.created"])
    relay = start_relay(WEBHOOKS_DISABLE_AFTER="4")

    _emit(db, "invoice.created", {"number": "I000000000003"})
    _emit(db, "invoice.created", {"number": "I000000000004"})

    wait_until(lambda: scalar(db, "SELECT NOT enabled FROM webhooks.webhook") is True)
    assert scalar(db, "SELECT successive_failure_count FROM webhooks.webhook") == 4
    kinds = db.execute(
        "SELECT kind, message FROM webhooks.notification ORDER BY created_at"
    ).fetchall()
    assert kinds == [
        ("webhook.failing", "HTTP 500 Internal Server Error"),
        ("webhook.disabled", "HTTP 500 Internal Server Error"),
    ]
    # Retries are held, not dropped: both instances wait with retries left.
    wait_until(
        lambda: (
            scalar(
                db,
                "SELECT count(*) FROM webhooks.instance"
                " WHERE held AND state = 'failed'",
            )
            == 2
        )
    )
    requests_when_disabled = len(receiver.requests)

    # Emitting while disabled creates nothing for this webhook.
    _emit(db, "invoice.created", {"number": "I000000000005"})
    assert scalar(db, "SELECT count(*) FROM webhooks.instance") == 2

    receiver.script("/hook", 200)
    db.execute("SELECT webhooks.set_webhook_enabled(%s, true)", (webhook_id,))

    wait_until(
        lambda: (
            scalar(db, "SELECT count(*) FROM webhooks.instance WHERE state = 'success'")
            == 2
        )
    )
    assert len(receiver.requests) == requests_when_disabled + 2
    assert scalar(db, "SELECT successive_failure_count FROM webhooks.webhook") == 0
    last_kind = scalar(
        db, "SELECT kind FROM webhooks.notification ORDER BY created_at DESC LIMIT 1"
    )
    assert last_kind == "webhook.recovered"
    assert relay.stop() == 0
    assert "disabled after 4 successive failures" in relay.log()
