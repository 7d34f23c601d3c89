"""Execute now, cancel, bulk retry and recover through the API."""

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient
from standardwebhooks.webhooks import Webhook

from relay.config import Settings
from relay.delivery import Sender, build_request
from relay.store import queue
from tests.integration.api_client import api_client
from tests.integration.instance_data import (
    LEASE,
    UNKNOWN_ID,
    add_webhook,
    answered,
    emit,
    instance_ids,
    instance_row,
    record_try,
    refused,
)
from tests.receiver import Receiver, Response, running_receiver


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


def failed_instance(
    client: FlaskClient, db: psycopg.Connection, url: str, **webhook_fields: Any
) -> tuple[dict[str, Any], str]:
    """Make a webhook with one instance whose first try failed."""
    webhook = add_webhook(client, url, **webhook_fields)
    emit(db, "order.created", {"id": "6f1f", "orderNumber": "0000000001"})
    [instance_id] = instance_ids(db, webhook["id"])
    record_try(db, instance_id, refused())
    return webhook, instance_id


def secret_of(client: FlaskClient, webhook_id: str) -> str:
    """Return a webhook's signing secret."""
    response = client.get(f"/webhooks/{webhook_id}/secret")
    assert response.status_code == 200
    return response.get_json()["secret"]


def failure_count(db: psycopg.Connection, webhook_id: str) -> int:
    """Return a webhook's successive failure count."""
    row = db.execute(
        "SELECT successive_failure_count FROM webhooks.webhook WHERE id = %s",
        (webhook_id,),
    ).fetchone()
    assert row is not None
    return int(row[0])


def execution_count(db: psycopg.Connection, instance_id: str) -> int:
    """Return how many executions an instance has stored."""
    row = db.execute(
        "SELECT count(*) FROM webhooks.execution WHERE instance_id = %s",
        (instance_id,),
    ).fetchone()
    assert row is not None
    return int(row[0])


# Execute now


def test_execute_now_delivers_signed_request(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    webhook, instance_id = failed_instance(client, db, receiver.url())

    response = client.post(f"/webhook-instances/{instance_id}/execute")

    assert response.status_code == 200
    [request] = receiver.wait_for(1)
    body = Webhook(secret_of(client, webhook["id"])).verify(
        request.body, request.headers
    )
    assert body == {
        "id": instance_id,
        "webhookId": webhook["id"],
        "eventCode": "order.created",
        "retryNumber": 1,
        "payload": {"id": "6f1f", "orderNumber": "0000000001"},
    }
    assert request.headers["webhook-id"] == instance_id


def test_execute_now_returns_instance_after_try(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    receiver.script(
        "/hook", Response(200, b'{"ok": true}', {"Content-Type": "application/json"})
    )
    _, instance_id = failed_instance(client, db, receiver.url())

    instance = client.post(f"/webhook-instances/{instance_id}/execute").get_json()

    assert instance["id"] == instance_id
    assert instance["state"] == "success"
    assert instance["remainingRetries"] == 8
    first, second = instance["executions"]
    assert first["message"] == "Connection refused"
    assert second["success"] is True
    assert second["message"] == "HTTP 200 OK"
    assert second["responseStatus"] == 200
    assert second["responseHeaders"]["content-type"] == "application/json"
    assert second["responseBody"] == {"ok": True}
    assert instance == client.get(f"/webhook-instances/{instance_id}").get_json()


def test_execute_now_marks_execution_manual(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    _, instance_id = failed_instance(client, db, receiver.url())

    client.post(f"/webhook-instances/{instance_id}/execute")

    rows = db.execute(
        "SELECT manual FROM webhooks.execution WHERE instance_id = %s"
        " ORDER BY created_at",
        (instance_id,),
    ).fetchall()
    assert rows == [(False,), (True,)]


def test_execute_now_failure_schedules_retry(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    receiver.script("/hook", 500)
    webhook, instance_id = failed_instance(client, db, receiver.url())
    before = datetime.now(UTC)

    instance = client.post(f"/webhook-instances/{instance_id}/execute").get_json()

    assert instance["state"] == "failed"
    assert instance["remainingRetries"] == 8
    assert instance["executions"][-1]["message"] == "HTTP 500 Internal Server Error"
    row = instance_row(db, instance_id)
    # The first delay of the default schedule is 30 s with 10 % jitter.
    delay = (row["due_at"] - before).total_seconds()
    assert 26 <= delay <= 34, delay
    assert failure_count(db, webhook["id"]) == 2


def test_execute_now_success_resets_failure_count(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    webhook, instance_id = failed_instance(client, db, receiver.url())
    assert failure_count(db, webhook["id"]) == 1

    client.post(f"/webhook-instances/{instance_id}/execute")

    assert failure_count(db, webhook["id"]) == 0
    assert instance_row(db, instance_id)["due_at"] is None


def test_execute_now_redelivers_success(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    webhook = add_webhook(client, receiver.url())
    emit(db)
    [instance_id] = instance_ids(db, webhook["id"])
    record_try(db, instance_id, answered(200))

    response = client.post(f"/webhook-instances/{instance_id}/execute")

    assert response.status_code == 200
    assert response.get_json()["state"] == "success"
    assert len(response.get_json()["executions"]) == 2
    [request] = receiver.wait_for(1)
    assert request.json()["retryNumber"] == 1


def test_execute_now_canceled_instance(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    _, instance_id = failed_instance(client, db, receiver.url())
    assert client.post(f"/webhook-instances/{instance_id}/cancel").status_code == 200

    instance = client.post(f"/webhook-instances/{instance_id}/execute").get_json()

    assert instance["state"] == "success"
    assert instance["remainingRetries"] == 0
    assert len(receiver.requests) == 1


def test_execute_now_disabled_webhook(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    webhook, instance_id = failed_instance(client, db, receiver.url())
    client.patch(f"/webhooks/{webhook['id']}", json={"enabled": False})

    instance = client.post(f"/webhook-instances/{instance_id}/execute").get_json()

    assert instance["state"] == "success"
    assert len(receiver.requests) == 1


def test_execute_now_new_is_conflict(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    webhook = add_webhook(client, receiver.url())
    emit(db)
    [instance_id] = instance_ids(db, webhook["id"])

    response = client.post(f"/webhook-instances/{instance_id}/execute")

    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == 409
    assert f"{instance_id} is new" in body["message"]
    assert receiver.requests == []
    assert instance_row(db, instance_id)["state"] == "new"


def test_execute_now_running_is_conflict(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    webhook = add_webhook(client, receiver.url())
    emit(db)
    [instance_id] = instance_ids(db, webhook["id"])
    queue.claim(db, 1, LEASE, uuid.uuid4())

    response = client.post(f"/webhook-instances/{instance_id}/execute")

    assert response.status_code == 409
    assert f"{instance_id} is running" in response.get_json()["message"]
    assert receiver.requests == []


@pytest.mark.parametrize("instance_id", [UNKNOWN_ID, "not-a-uuid"])
def test_execute_now_unknown_instance(client: FlaskClient, instance_id: str) -> None:
    response = client.post(f"/webhook-instances/{instance_id}/execute")

    assert response.status_code == 404
    assert response.get_json()["code"] == 404


def test_execute_now_redirect_not_followed(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    target = receiver.url("/moved")
    receiver.script("/hook", Response(302, headers={"Location": target}))
    _, instance_id = failed_instance(client, db, receiver.url())

    instance = client.post(f"/webhook-instances/{instance_id}/execute").get_json()

    execution = instance["executions"][-1]
    assert execution["success"] is False
    assert execution["message"] == f"Redirect to {target} not followed"
    assert execution["responseStatus"] == 302
    assert execution["responseHeaders"]["location"] == target
    assert instance["state"] == "failed"
    assert [request.path for request in receiver.requests] == ["/hook"]


@pytest.mark.parametrize("status", [301, 307, 308])
def test_execute_now_other_redirects_fail(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver, status: int
) -> None:
    target = receiver.url("/moved")
    receiver.script("/hook", Response(status, headers={"Location": target}))
    _, instance_id = failed_instance(client, db, receiver.url())

    instance = client.post(f"/webhook-instances/{instance_id}/execute").get_json()

    assert instance["executions"][-1]["message"] == f"Redirect to {target} not followed"
    assert instance["state"] == "failed"


def test_execute_now_blocked_destination(
    database_url: str, db: psycopg.Connection, receiver: Receiver
) -> None:
    with api_client(database_url) as guarded:
        _, instance_id = failed_instance(guarded, db, receiver.url())

        instance = guarded.post(f"/webhook-instances/{instance_id}/execute").get_json()

    execution = instance["executions"][-1]
    assert set(execution) == {"id", "createdAt", "success", "message"}
    assert execution["message"] == "Blocked: 127.0.0.1 is a loopback address"
    assert receiver.requests == []


def test_execute_now_uses_current_url(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    webhook, instance_id = failed_instance(client, db, receiver.url("/old"))
    client.patch(f"/webhooks/{webhook['id']}", json={"url": receiver.url("/new")})

    client.post(f"/webhook-instances/{instance_id}/execute")

    assert [request.path for request in receiver.requests] == ["/new"]


def test_execute_now_waits_for_relay_claim(
    database_url: str, client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    # A relay claims the instance for an automatic retry and holds the row
    # lock until it commits. Execute now waits for that commit, then finds
    # the instance running and answers 409: only the relay's try happens.
    _, instance_id = failed_instance(client, db, receiver.url())
    db.execute(
        "UPDATE webhooks.instance SET due_at = now() WHERE id = %s", (instance_id,)
    )
    responses: list[Any] = []

    with psycopg.connect(database_url) as relay_connection:
        relay_token = uuid.uuid4()
        [claim] = queue.claim(relay_connection, 1, LEASE, relay_token)

        def execute_now() -> None:
            responses.append(client.post(f"/webhook-instances/{instance_id}/execute"))

        thread = threading.Thread(target=execute_now)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()
        relay_connection.commit()
        thread.join(10)
        assert not thread.is_alive()

        sender = Sender(Settings(allow_private_targets=True))
        outcome = sender.post(
            claim.url,
            build_request(
                message_id=str(claim.instance_id),
                webhook_id=str(claim.webhook_id),
                event_code=claim.event_code,
                retry_number=claim.retry_number,
                payload=claim.payload,
                signing_secrets=claim.secrets,
            ),
        )
        sender.close()
        queue.record_executions(
            relay_connection, relay_token, [outcome.as_result(instance_id)]
        )
        relay_connection.commit()

    assert responses[0].status_code == 409
    assert len(receiver.requests) == 1
    assert execution_count(db, instance_id) == 2
    assert instance_row(db, instance_id)["state"] == "success"


def test_execute_now_holds_off_relay_claims(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    # While execute now waits for the receiver, the instance is running
    # under the API's lease, so a relay's claim passes it over.
    receiver.script("/hook", Response(204, delay=1.0))
    _, instance_id = failed_instance(client, db, receiver.url())
    responses: list[Any] = []

    thread = threading.Thread(
        target=lambda: responses.append(
            client.post(f"/webhook-instances/{instance_id}/execute")
        )
    )
    thread.start()
    receiver.wait_for(1)
    claims = queue.claim(db, 10, LEASE, uuid.uuid4())
    thread.join(10)

    assert not thread.is_alive()
    assert claims == []
    assert responses[0].status_code == 200
    assert len(receiver.requests) == 1
    assert execution_count(db, instance_id) == 2


# Cancel


def test_cancel_failed_instance(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    _, instance_id = failed_instance(client, db, receiver.url())

    response = client.post(f"/webhook-instances/{instance_id}/cancel")

    assert response.status_code == 200
    instance = response.get_json()
    assert instance["id"] == instance_id
    assert instance["state"] == "canceled"
    assert instance["remainingRetries"] == 0
    assert [e["message"] for e in instance["executions"]] == ["Connection refused"]
    assert instance_row(db, instance_id)["due_at"] is None
    assert queue.claim(db, 10, LEASE, uuid.uuid4()) == []


def test_cancel_new_is_conflict(client: FlaskClient, db: psycopg.Connection) -> None:
    webhook = add_webhook(client)
    emit(db)
    [instance_id] = instance_ids(db, webhook["id"])

    response = client.post(f"/webhook-instances/{instance_id}/cancel")

    assert response.status_code == 409
    assert "is new with 8 retries left" in response.get_json()["message"]


def test_cancel_success_is_conflict(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook = add_webhook(client)
    emit(db)
    [instance_id] = instance_ids(db, webhook["id"])
    record_try(db, instance_id, answered(200))

    assert client.post(f"/webhook-instances/{instance_id}/cancel").status_code == 409
    assert instance_row(db, instance_id)["state"] == "success"


def test_cancel_without_retries_is_conflict(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    _, instance_id = failed_instance(client, db, receiver.url())
    db.execute(
        "UPDATE webhooks.instance SET remaining_retries = 0, due_at = NULL"
        " WHERE id = %s",
        (instance_id,),
    )

    response = client.post(f"/webhook-instances/{instance_id}/cancel")

    assert response.status_code == 409
    assert "is failed with 0 retries left" in response.get_json()["message"]


def test_cancel_twice_is_conflict(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    _, instance_id = failed_instance(client, db, receiver.url())
    assert client.post(f"/webhook-instances/{instance_id}/cancel").status_code == 200

    assert client.post(f"/webhook-instances/{instance_id}/cancel").status_code == 409


@pytest.mark.parametrize("instance_id", [UNKNOWN_ID, "not-a-uuid"])
def test_cancel_unknown_instance(client: FlaskClient, instance_id: str) -> None:
    assert client.post(f"/webhook-instances/{instance_id}/cancel").status_code == 404


# Bulk retry


def four_states(client: FlaskClient, db: psycopg.Connection) -> dict[str, str]:
    """Make one instance in each of failed, canceled, success and new."""
    webhook = add_webhook(client)
    for code in ("order.created", "order.created", "order.created", "order.created"):
        emit(db, code)
    failed, canceled, succeeded, new = instance_ids(db, webhook["id"])
    record_try(db, failed, refused())
    record_try(db, canceled, refused())
    record_try(db, succeeded, answered(200))
    assert client.post(f"/webhook-instances/{canceled}/cancel").status_code == 200
    return {
        "webhook": webhook["id"],
        "failed": failed,
        "canceled": canceled,
        "success": succeeded,
        "new": new,
    }


def test_bulk_retry_queues_failed_and_canceled(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    ids = four_states(client, db)
    before = {name: instance_row(db, ids[name]) for name in ("success", "new")}

    response = client.post(f"/webhooks/{ids['webhook']}/instances/execute")

    assert response.status_code == 202
    assert response.get_json() == {"count": 2}
    now = datetime.now(UTC)
    for name in ("failed", "canceled"):
        row = instance_row(db, ids[name])
        assert row["due_at"] <= now, name
        assert row["manual_retry"] is True, name
    assert instance_row(db, ids["failed"])["remaining_retries"] == 8
    assert instance_row(db, ids["canceled"])["remaining_retries"] == 0
    for name, row in before.items():
        assert instance_row(db, ids[name]) == row, name


def test_bulk_retry_keeps_remaining_retries_on_claim(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    ids = four_states(client, db)
    db.execute("UPDATE webhooks.instance SET due_at = NULL WHERE state = 'new'")
    client.post(f"/webhooks/{ids['webhook']}/instances/execute")

    claims = queue.claim(db, 10, LEASE, uuid.uuid4())

    assert {str(claim.instance_id) for claim in claims} == {
        ids["failed"],
        ids["canceled"],
    }
    assert instance_row(db, ids["failed"])["remaining_retries"] == 8
    assert instance_row(db, ids["canceled"])["remaining_retries"] == 0


def test_bulk_retry_filters_by_state(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    ids = four_states(client, db)

    response = client.post(
        f"/webhooks/{ids['webhook']}/instances/execute?state=canceled"
    )

    assert response.get_json() == {"count": 1}
    assert instance_row(db, ids["canceled"])["manual_retry"] is True
    assert instance_row(db, ids["failed"])["manual_retry"] is False


def test_bulk_retry_other_states_match_nothing(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    ids = four_states(client, db)

    response = client.post(
        f"/webhooks/{ids['webhook']}/instances/execute?state=success&state=new"
    )

    assert response.get_json() == {"count": 0}


def test_bulk_retry_filters_by_event_code_and_date(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook = add_webhook(client, event_codes=("order.created", "order.updated"))
    emit(db, "order.created")
    emit(db, "order.updated")
    emit(db, "order.created")
    old_created, updated, new_created = instance_ids(db, webhook["id"])
    for instance_id in (old_created, updated, new_created):
        record_try(db, instance_id, refused())
    db.execute(
        "UPDATE webhooks.instance SET created_at = '2024-01-01T00:00:00Z'"
        " WHERE id = %s",
        (old_created,),
    )
    path = f"/webhooks/{webhook['id']}/instances/execute"

    response = client.post(f"{path}?eventCode=order.created&createdFrom=2024-06-01")

    assert response.get_json() == {"count": 1}
    assert instance_row(db, new_created)["manual_retry"] is True
    assert instance_row(db, old_created)["manual_retry"] is False
    assert instance_row(db, updated)["manual_retry"] is False
    response = client.post(f"{path}?createdTo=2024-01-01T00:00:00.000Z")
    assert response.get_json() == {"count": 1}
    assert instance_row(db, old_created)["manual_retry"] is True


def test_bulk_retry_disabled_webhook_holds(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    ids = four_states(client, db)
    client.patch(f"/webhooks/{ids['webhook']}", json={"enabled": False})

    response = client.post(f"/webhooks/{ids['webhook']}/instances/execute")

    assert response.get_json() == {"count": 2}
    row = instance_row(db, ids["canceled"])
    assert row["held"] is True
    assert row["due_at"] is None


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("state=bogus", "state"),
        ("eventCode=x.y", "eventCode"),
        ("createdFrom=soon", "createdFrom"),
        ("limit=5", "limit"),
        ("sort=createdAt", "sort"),
    ],
)
def test_bulk_retry_rejects_parameters(
    client: FlaskClient, db: psycopg.Connection, query: str, parameter: str
) -> None:
    ids = four_states(client, db)

    response = client.post(f"/webhooks/{ids['webhook']}/instances/execute?{query}")

    assert response.status_code == 422
    assert parameter in response.get_json()["errors"]["query"]
    assert instance_row(db, ids["failed"])["manual_retry"] is False


def test_bulk_retry_unknown_webhook(client: FlaskClient) -> None:
    response = client.post(f"/webhooks/{UNKNOWN_ID}/instances/execute")

    assert response.status_code == 404
    assert response.get_json()["message"] == f"Webhook {UNKNOWN_ID} not found."


# Recover


def missed_events(client: FlaskClient, db: psycopg.Connection) -> dict[str, Any]:
    """Make a webhook that missed two order.created events while disabled."""
    webhook = add_webhook(client, event_codes=("order.created",), enabled=False)
    emit(db, "order.created", {"id": 1})
    emit(db, "order.created", {"id": 2})
    emit(db, "shipment.created", {"id": 3})
    assert instance_ids(db, webhook["id"]) == []
    return webhook


def test_recover_creates_missed_instances(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook = missed_events(client, db)
    client.patch(f"/webhooks/{webhook['id']}", json={"enabled": True})

    response = client.post(
        f"/webhooks/{webhook['id']}/recover", json={"since": "2020-01-01T00:00:00Z"}
    )

    assert response.status_code == 202
    assert response.get_json() == {"count": 2}
    instances = client.get(f"/webhooks/{webhook['id']}/instances")
    # One statement creates both, so they share createdAt and their order
    # is the id's.
    payloads = sorted(i["payload"]["id"] for i in instances.get_json())
    assert payloads == [1, 2]
    assert {i["state"] for i in instances.get_json()} == {"new"}
    assert len(queue.claim(db, 10, LEASE, uuid.uuid4())) == 2


def test_recover_twice_creates_nothing_more(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook = missed_events(client, db)
    path = f"/webhooks/{webhook['id']}/recover"
    client.post(path, json={"since": "2020-01-01"})

    response = client.post(path, json={"since": "2020-01-01"})

    assert response.get_json() == {"count": 0}
    assert len(instance_ids(db, webhook["id"])) == 2


def test_recover_skips_delivered_events(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook = add_webhook(client)
    emit(db)
    [instance_id] = instance_ids(db, webhook["id"])
    record_try(db, instance_id, answered(200))

    response = client.post(
        f"/webhooks/{webhook['id']}/recover", json={"since": "2020-01-01"}
    )

    assert response.get_json() == {"count": 0}
    assert instance_ids(db, webhook["id"]) == [instance_id]


def test_recover_since_excludes_older_events(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook = missed_events(client, db)
    db.execute(
        "UPDATE webhooks.outbox SET created_at = '2024-01-01T00:00:00Z'"
        " WHERE payload = '{\"id\": 1}'"
    )

    response = client.post(
        f"/webhooks/{webhook['id']}/recover",
        json={"since": "2024-01-01T00:00:00.001Z"},
    )

    assert response.get_json() == {"count": 1}
    instances = client.get(f"/webhooks/{webhook['id']}/instances").get_json()
    assert [i["payload"] for i in instances] == [{"id": 2}]


def test_recover_disabled_webhook_holds(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook = missed_events(client, db)

    response = client.post(
        f"/webhooks/{webhook['id']}/recover", json={"since": "2020-01-01"}
    )

    assert response.get_json() == {"count": 2}
    rows = db.execute(
        "SELECT held, due_at FROM webhooks.instance WHERE webhook_id = %s",
        (webhook["id"],),
    ).fetchall()
    assert rows == [(True, None), (True, None)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "since"),
        ({"since": None}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2024-13-01"}, "since"),
        ({"since": 1704067200}, "since"),
        ({"since": "2024-01-01", "until": "2024-02-01"}, "until"),
    ],
)
def test_recover_rejects_body(
    client: FlaskClient, db: psycopg.Connection, body: dict[str, Any], field: str
) -> None:
    webhook = missed_events(client, db)

    response = client.post(f"/webhooks/{webhook['id']}/recover", json=body)

    assert response.status_code == 422
    assert field in response.get_json()["errors"]["json"]
    assert instance_ids(db, webhook["id"]) == []


def test_recover_without_body(client: FlaskClient, db: psycopg.Connection) -> None:
    webhook = missed_events(client, db)

    response = client.post(f"/webhooks/{webhook['id']}/recover")

    assert response.status_code == 422
    assert "since" in response.get_json()["errors"]["json"]


def test_recover_unknown_webhook(client: FlaskClient) -> None:
    response = client.post(
        f"/webhooks/{UNKNOWN_ID}/recover", json={"since": "2024-01-01"}
    )

    assert response.status_code == 404
