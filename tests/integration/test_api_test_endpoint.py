"""The webhook test endpoint: one signed request now, nothing stored."""

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient
from standardwebhooks.webhooks import Webhook

from tests.integration.api_client import api_client
from tests.integration.instance_data import (
    CLOSED_URL,
    DATE_FORMAT,
    UNKNOWN_ID,
    add_webhook,
)
from tests.receiver import Receiver, Response, running_receiver

RESULT_FIELDS = {
    "createdAt",
    "success",
    "message",
    "responseStatus",
    "responseHeaders",
    "responseBody",
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Return a receiver on 127.0.0.1 that responds with 204 unless scripted."""
    with running_receiver() as running:
        yield running


@pytest.fixture
def client(database_url: str) -> Iterator[FlaskClient]:
    """Return a test client of an API that may send requests to 127.0.0.1."""
    with api_client(database_url, allow_private_targets=True) as test_client:
        yield test_client


def example_payload(client: FlaskClient, code: str) -> dict[str, Any]:
    """Return the catalog's example payload of an event code."""
    response = client.get(f"/webhook-events?code={code}")
    [event] = [event for event in response.get_json() if event["code"] == code]
    return event["examplePayload"]


def secret_of(client: FlaskClient, webhook_id: str) -> str:
    """Return a webhook's signing secret."""
    return client.get(f"/webhooks/{webhook_id}/secret").get_json()["secret"]


def database_state(db: psycopg.Connection) -> tuple[Any, ...]:
    """Return what a test request must leave unchanged in the database."""
    counts = db.execute(
        "SELECT (SELECT count(*) FROM webhooks.instance),"
        " (SELECT count(*) FROM webhooks.execution),"
        " (SELECT count(*) FROM webhooks.notification),"
        " (SELECT count(*) FROM webhooks.outbox)"
    ).fetchone()
    webhooks = db.execute(
        "SELECT id, updated_at, successive_failure_count, enabled, warned_at"
        " FROM webhooks.webhook ORDER BY id"
    ).fetchall()
    return (counts, webhooks)


def test_sends_signed_request(client: FlaskClient, receiver: Receiver) -> None:
    webhook = add_webhook(client, receiver.url(), event_codes=("order.updated",))

    response = client.post(f"/webhooks/{webhook['id']}/test")

    assert response.status_code == 200
    [request] = receiver.wait_for(1)
    body = Webhook(secret_of(client, webhook["id"])).verify(
        request.body, request.headers
    )
    assert set(body) == {"id", "webhookId", "eventCode", "retryNumber", "payload"}
    assert uuid.UUID(body["id"]).version == 4
    assert request.headers["webhook-id"] == body["id"]
    assert body["webhookId"] == webhook["id"]
    assert body["eventCode"] == "order.updated"
    assert body["retryNumber"] == 0
    assert body["payload"] == example_payload(client, "order.updated")


def test_new_message_id_each_time(client: FlaskClient, receiver: Receiver) -> None:
    webhook = add_webhook(client, receiver.url())

    client.post(f"/webhooks/{webhook['id']}/test")
    client.post(f"/webhooks/{webhook['id']}/test")

    first, second = receiver.wait_for(2)
    assert first.json()["id"] != second.json()["id"]


def test_returns_result(client: FlaskClient, receiver: Receiver) -> None:
    receiver.script(
        "/hook",
        Response(200, b'{"accepted": 1}', {"Content-Type": "application/json"}),
    )
    webhook = add_webhook(client, receiver.url())

    result = client.post(f"/webhooks/{webhook['id']}/test").get_json()

    assert set(result) == RESULT_FIELDS
    assert DATE_FORMAT.match(result["createdAt"])
    assert result["success"] is True
    assert result["message"] == "HTTP 200 OK"
    assert result["responseStatus"] == 200
    assert result["responseHeaders"]["content-type"] == "application/json"
    assert result["responseBody"] == {"accepted": 1}


@pytest.mark.parametrize(
    ("response", "body"),
    [
        (Response(204), None),
        (Response(500, b"broken"), "broken"),
        (Response(503, b"[1]", {"Content-Type": "application/problem+json"}), [1]),
        (
            Response(200, b"{not json", {"Content-Type": "application/json"}),
            "{not json",
        ),
    ],
)
def test_result_body_forms(
    client: FlaskClient, receiver: Receiver, response: Response, body: Any
) -> None:
    receiver.script("/hook", response)
    webhook = add_webhook(client, receiver.url())

    result = client.post(f"/webhooks/{webhook['id']}/test").get_json()

    assert set(result) == RESULT_FIELDS
    assert result["success"] is (response.status == 200 or response.status == 204)
    assert result["responseStatus"] == response.status
    assert result["responseBody"] == body


def test_failed_result_without_response(client: FlaskClient) -> None:
    webhook = add_webhook(client, CLOSED_URL)

    response = client.post(f"/webhooks/{webhook['id']}/test")

    assert response.status_code == 200
    result = response.get_json()
    assert set(result) == {"createdAt", "success", "message"}
    assert result["success"] is False
    assert result["message"] == "Connection refused"


def test_redirect_not_followed(client: FlaskClient, receiver: Receiver) -> None:
    target = receiver.url("/moved")
    receiver.script("/hook", Response(302, headers={"Location": target}))
    webhook = add_webhook(client, receiver.url())

    result = client.post(f"/webhooks/{webhook['id']}/test").get_json()

    assert result["success"] is False
    assert result["message"] == f"Redirect to {target} not followed"
    assert [request.path for request in receiver.requests] == ["/hook"]


def test_blocked_destination(database_url: str, receiver: Receiver) -> None:
    with api_client(database_url) as guarded:
        webhook = add_webhook(guarded, receiver.url())

        result = guarded.post(f"/webhooks/{webhook['id']}/test").get_json()

    assert set(result) == {"createdAt", "success", "message"}
    assert result["message"] == "Blocked: 127.0.0.1 is a loopback address"
    assert receiver.requests == []


def test_body_picks_event_and_payload(client: FlaskClient, receiver: Receiver) -> None:
    webhook = add_webhook(client, receiver.url(), event_codes=("order.created",))
    payload = {"id": "6f1f", "nested": {"list": [1, 2.5, None, True]}}

    response = client.post(
        f"/webhooks/{webhook['id']}/test",
        json={"eventCode": "shipment.created", "payload": payload},
    )

    assert response.status_code == 200
    [request] = receiver.wait_for(1)
    assert request.json()["eventCode"] == "shipment.created"
    assert request.json()["payload"] == payload


def test_body_event_code_alone_uses_example(
    client: FlaskClient, receiver: Receiver
) -> None:
    webhook = add_webhook(client, receiver.url())

    client.post(
        f"/webhooks/{webhook['id']}/test", json={"eventCode": "invoice.created"}
    )

    [request] = receiver.wait_for(1)
    assert request.json()["eventCode"] == "invoice.created"
    assert request.json()["payload"] == example_payload(client, "invoice.created")


def test_body_payload_alone_uses_first_code(
    client: FlaskClient, receiver: Receiver
) -> None:
    webhook = add_webhook(
        client, receiver.url(), event_codes=("product.updated", "order.created")
    )

    client.post(f"/webhooks/{webhook['id']}/test", json={"payload": {"a": 1}})

    [request] = receiver.wait_for(1)
    assert request.json()["eventCode"] == "product.updated"
    assert request.json()["payload"] == {"a": 1}


def test_empty_object_body_uses_defaults(
    client: FlaskClient, receiver: Receiver
) -> None:
    webhook = add_webhook(client, receiver.url(), event_codes=("import.started",))

    response = client.post(f"/webhooks/{webhook['id']}/test", json={})

    assert response.status_code == 200
    [request] = receiver.wait_for(1)
    assert request.json()["eventCode"] == "import.started"


def test_webhook_without_event_codes_uses_catalog(
    client: FlaskClient, receiver: Receiver
) -> None:
    webhook = add_webhook(client, receiver.url(), event_codes=())
    first_code = client.get("/webhook-events?limit=1").get_json()[0]["code"]

    client.post(f"/webhooks/{webhook['id']}/test")

    [request] = receiver.wait_for(1)
    assert request.json()["eventCode"] == first_code
    assert request.json()["payload"] == example_payload(client, first_code)


def test_works_on_disabled_webhook(client: FlaskClient, receiver: Receiver) -> None:
    webhook = add_webhook(client, receiver.url(), enabled=False)

    result = client.post(f"/webhooks/{webhook['id']}/test").get_json()

    assert result["success"] is True
    assert len(receiver.requests) == 1


def test_signed_with_both_secrets_after_rotation(
    client: FlaskClient, receiver: Receiver
) -> None:
    webhook = add_webhook(client, receiver.url())
    old_secret = secret_of(client, webhook["id"])
    new_secret = client.post(f"/webhooks/{webhook['id']}/secret/rotate").get_json()[
        "secret"
    ]

    client.post(f"/webhooks/{webhook['id']}/test")

    [request] = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split()) == 2
    for secret in (old_secret, new_secret):
        Webhook(secret).verify(request.body, request.headers)


@pytest.mark.parametrize("answer", [200, 500])
def test_writes_nothing(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver, answer: int
) -> None:
    receiver.script("/hook", answer)
    webhook = add_webhook(client, receiver.url())
    before = database_state(db)

    for _ in range(3):
        assert client.post(f"/webhooks/{webhook['id']}/test").status_code == 200

    assert database_state(db) == before
    stored = client.get(f"/webhooks/{webhook['id']}").get_json()
    assert stored["successiveFailureCount"] == 0
    assert stored["updatedAt"] is None
    assert client.get(f"/webhooks/{webhook['id']}/instances/count").get_json() == {
        "count": 0
    }


def test_failures_never_disable_webhook(
    database_url: str, db: psycopg.Connection, receiver: Receiver
) -> None:
    receiver.script("/hook", 410)
    with api_client(database_url, allow_private_targets=True) as client:
        webhook = add_webhook(client, receiver.url())
        before = database_state(db)

        result = client.post(f"/webhooks/{webhook['id']}/test").get_json()

        assert result["responseStatus"] == 410
        assert client.get(f"/webhooks/{webhook['id']}").get_json()["enabled"] is True
    assert database_state(db) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"eventCode": "order.deleted"}, "eventCode"),
        ({"eventCode": ""}, "eventCode"),
        ({"eventCode": 5}, "eventCode"),
        ({"payload": [1, 2]}, "payload"),
        ({"payload": "text"}, "payload"),
        ({"payload": None}, "payload"),
        ({"payload": 3}, "payload"),
        ({"payload": {"text": "a\u0000b"}}, "payload"),
        ({"payload": {"a\u0000": 1}}, "payload"),
        ({"retryNumber": 1}, "retryNumber"),
        ({"webhookId": UNKNOWN_ID}, "webhookId"),
    ],
)
def test_rejects_body(
    client: FlaskClient, receiver: Receiver, body: dict[str, Any], field: str
) -> None:
    webhook = add_webhook(client, receiver.url())

    response = client.post(f"/webhooks/{webhook['id']}/test", json=body)

    assert response.status_code == 422
    assert field in response.get_json()["errors"]["json"]
    assert receiver.requests == []


def test_rejects_lone_surrogate_in_payload(
    client: FlaskClient, receiver: Receiver
) -> None:
    webhook = add_webhook(client, receiver.url())

    response = client.post(
        f"/webhooks/{webhook['id']}/test",
        data='{"payload": {"text": "\\ud800"}}',
        content_type="application/json",
    )

    assert response.status_code == 422
    assert "payload" in response.get_json()["errors"]["json"]
    assert receiver.requests == []


def test_rejects_deeply_nested_payload(client: FlaskClient, receiver: Receiver) -> None:
    webhook = add_webhook(client, receiver.url())
    nested = '{"a": ' * 200 + "1" + "}" * 200

    response = client.post(
        f"/webhooks/{webhook['id']}/test",
        data=f'{{"payload": {nested}}}',
        content_type="application/json",
    )

    assert response.status_code == 422
    assert "payload" in response.get_json()["errors"]["json"]
    assert receiver.requests == []


def test_rejects_body_that_is_not_object(
    client: FlaskClient, receiver: Receiver
) -> None:
    webhook = add_webhook(client, receiver.url())

    response = client.post(f"/webhooks/{webhook['id']}/test", json=[1])

    assert response.status_code == 422
    assert receiver.requests == []


@pytest.mark.parametrize("webhook_id", [UNKNOWN_ID, "not-a-uuid"])
def test_unknown_webhook(client: FlaskClient, webhook_id: str) -> None:
    response = client.post(f"/webhooks/{webhook_id}/test")

    assert response.status_code == 404
    assert response.get_json()["code"] == 404
