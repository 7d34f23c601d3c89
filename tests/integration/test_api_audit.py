"""The audit trail: an entry for every change, with its author."""

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient

from tests.integration.api_client import OPERATOR, api_client
from tests.integration.instance_data import (
    DATE_FORMAT,
    add_webhook,
    answered,
    emit,
    instance_ids,
    record_try,
    refused,
)
from tests.receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def client(database_url: str) -> Iterator[FlaskClient]:
    with api_client(database_url, allow_private_targets=True) as test_client:
        yield test_client


def _entries(client: FlaskClient, webhook_id: str, **query: Any) -> list[dict]:
    response = client.get("/audit", query_string={"webhookId": webhook_id, **query})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _actions(client: FlaskClient, webhook_id: str) -> list[str]:
    return [entry["action"] for entry in _entries(client, webhook_id, limit=100)]


def test_audit_create_update_enable_delete(client: FlaskClient) -> None:
    webhook = add_webhook(client, enabled=False)
    webhook_id = webhook["id"]

    response = client.patch(
        f"/webhooks/{webhook_id}",
        json={"url": "http://127.0.0.1:9/other", "name": "Orders", "enabled": True},
    )
    assert response.status_code == 200
    assert (
        client.patch(f"/webhooks/{webhook_id}", json={"enabled": False}).status_code
        == 200
    )
    assert client.delete(f"/webhooks/{webhook_id}").status_code == 204

    entries = _entries(client, webhook_id)
    actions = [entry["action"] for entry in entries]
    assert actions == [
        "webhook.deleted",
        "webhook.disabled",
        "webhook.enabled",
        "webhook.updated",
        "webhook.created",
    ]
    assert all(entry["author"] == OPERATOR for entry in entries)
    assert all(entry["webhookId"] == webhook_id for entry in entries)
    assert all(DATE_FORMAT.match(entry["createdAt"]) for entry in entries)
    # The name was sent unchanged, so only the URL counts as changed.
    assert entries[3]["details"] == {"fields": ["url"]}
    assert entries[0]["details"] == {"name": "Orders"}
    assert entries[4]["details"] == {"name": "Orders", "enabled": False}


def test_audit_entries_outlive_webhook(client: FlaskClient) -> None:
    webhook_id = add_webhook(client)["id"]
    assert client.delete(f"/webhooks/{webhook_id}").status_code == 204

    count = client.get("/audit/count", query_string={"webhookId": webhook_id})

    assert count.status_code == 200
    assert count.get_json() == {"count": 2}
    assert _actions(client, webhook_id) == ["webhook.deleted", "webhook.created"]


def test_audit_secret_rotation_has_no_secret(client: FlaskClient) -> None:
    webhook_id = add_webhook(client)["id"]

    rotated = client.post(f"/webhooks/{webhook_id}/secret/rotate").get_json()

    [entry, _created] = _entries(client, webhook_id)
    assert entry["action"] == "secret.rotated"
    assert entry["details"] == {}
    assert rotated["secret"] not in str(_entries(client, webhook_id))


def test_audit_instance_actions(
    client: FlaskClient, db: psycopg.Connection, receiver: Receiver
) -> None:
    webhook_id = add_webhook(client, receiver.url())["id"]
    emit(db)
    emit(db)
    first, second = instance_ids(db, webhook_id)
    record_try(db, first, refused())
    record_try(db, second, refused())

    assert client.post(f"/webhook-instances/{first}/execute").status_code == 200
    assert client.post(f"/webhook-instances/{second}/cancel").status_code == 200
    retried = client.post(f"/webhooks/{webhook_id}/instances/execute")
    recovered = client.post(
        f"/webhooks/{webhook_id}/recover", json={"since": "2000-01-01T00:00:00.000Z"}
    )
    assert retried.status_code == 202
    assert recovered.status_code == 202

    recover, retry, cancel, execute, _created = _entries(client, webhook_id)
    assert execute["action"] == "instance.executed"
    assert execute["details"] == {"instanceId": first, "success": True}
    assert cancel["action"] == "instance.canceled"
    assert cancel["details"] == {"instanceId": second}
    assert retry["action"] == "instances.retried"
    assert retry["details"] == {"count": 1}
    assert recover["action"] == "events.recovered"
    assert recover["details"]["count"] == 0
    assert recover["details"]["since"].startswith("2000-01-01T00:00:00")
    assert {recover["author"], retry["author"], cancel["author"]} == {OPERATOR}


def test_audit_auto_disable_by_relay(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    db.execute("SELECT webhooks.configure(%s, %s)", (["1 minute"], 1))
    webhook_id = add_webhook(client)["id"]
    emit(db)
    [instance_id] = instance_ids(db, webhook_id)

    record_try(db, instance_id, answered(503))

    [disabled, _created] = _entries(client, webhook_id)
    assert disabled["action"] == "webhook.disabled"
    assert disabled["author"] == "relay"
    assert disabled["details"] == {"reason": "HTTP 503", "successiveFailureCount": 1}


def test_audit_failed_change_leaves_no_entry(client: FlaskClient) -> None:
    webhook_id = add_webhook(client)["id"]

    response = client.post(f"/webhook-instances/{webhook_id}/cancel")

    assert response.status_code == 404
    assert _actions(client, webhook_id) == ["webhook.created"]


def test_audit_list_paging_and_filter(client: FlaskClient) -> None:
    first = add_webhook(client)["id"]
    second = add_webhook(client)["id"]
    for name in ("a", "b", "c"):
        client.patch(f"/webhooks/{first}", json={"name": name})

    everything = client.get("/audit", query_string={"limit": 100}).get_json()
    page = client.get("/audit", query_string={"limit": 2, "offset": 1}).get_json()

    assert [entry["webhookId"] for entry in everything] == [
        first,
        first,
        first,
        second,
        first,
    ]
    assert page == everything[1:3]
    assert client.get("/audit/count").get_json() == {"count": 5}
    assert client.get("/audit", query_string={"limit": 0}).status_code == 422
    assert client.get("/audit", query_string={"webhookId": "x"}).status_code == 422


def test_audit_needs_token(database_url: str) -> None:
    with api_client(database_url) as client:
        client.environ_base.pop("HTTP_AUTHORIZATION")
        response = client.get("/audit")

    assert response.status_code == 401
