"""Listing, counting and reading instances through the API."""

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient

from tests.integration.api_client import api_client
from tests.integration.instance_data import (
    DATE_FORMAT,
    UNKNOWN_ID,
    add_webhook,
    answered,
    emit,
    instance_ids,
    record_try,
    refused,
)

INSTANCE_FIELDS = {
    "id",
    "webhookId",
    "createdAt",
    "updatedAt",
    "state",
    "remainingRetries",
    "eventCode",
    "payload",
}
EXECUTION_FIELDS = {
    "id",
    "createdAt",
    "success",
    "message",
    "responseStatus",
    "responseHeaders",
    "responseBody",
}


@pytest.fixture
def client(database_url: str) -> Iterator[FlaskClient]:
    """Return an authenticated test client of the API."""
    with api_client(database_url) as test_client:
        yield test_client


@pytest.fixture
def webhook(client: FlaskClient) -> dict[str, Any]:
    """Return an enabled webhook listening to order.created and order.updated."""
    return add_webhook(client, event_codes=("order.created", "order.updated"))


def set_created_at(db: psycopg.Connection, instance_id: str, created_at: str) -> None:
    """Move an instance's creation time, to test date filters and sorting."""
    db.execute(
        "UPDATE webhooks.instance SET created_at = %s WHERE id = %s",
        (created_at, instance_id),
    )


def listed(client: FlaskClient, webhook_id: str, query: str = "") -> list[str]:
    """Return the ids of the instances a list request returns."""
    response = client.get(f"/webhooks/{webhook_id}/instances{query}")
    assert response.status_code == 200, response.get_json()
    return [instance["id"] for instance in response.get_json()]


def counted(client: FlaskClient, webhook_id: str, query: str = "") -> int:
    """Return the count a count request returns."""
    response = client.get(f"/webhooks/{webhook_id}/instances/count{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["count"]


def query_errors(response: Any) -> dict[str, Any]:
    """Return the per-parameter messages of a 422 response."""
    assert response.status_code == 422, response.get_json()
    return response.get_json()["errors"]["query"]


def three_instances(db: psycopg.Connection, webhook_id: str) -> list[str]:
    """Make instances created on three days, oldest first."""
    emit(db, "order.created")
    emit(db, "order.updated")
    emit(db, "order.created")
    ids = instance_ids(db, webhook_id)
    for day, instance_id in zip((1, 2, 3), ids, strict=True):
        set_created_at(db, instance_id, f"2024-01-0{day}T12:00:00Z")
    return ids


# List and count


def test_list_returns_instances(
    client: FlaskClient, db: psycopg.Connection, webhook: dict[str, Any]
) -> None:
    emit(db, "order.created", {"id": "6f1f", "orderNumber": "0000000001"})

    response = client.get(f"/webhooks/{webhook['id']}/instances")

    assert response.status_code == 200
    [instance] = response.get_json()
    assert set(instance) == INSTANCE_FIELDS
    assert instance["id"] == instance_ids(db, webhook["id"])[0]
    assert instance["webhookId"] == webhook["id"]
    assert DATE_FORMAT.match(instance["createdAt"])
    assert instance["updatedAt"] is None
    assert instance["state"] == "new"
    assert instance["remainingRetries"] == 8
    assert instance["eventCode"] == "order.created"
    assert instance["payload"] == {"id": "6f1f", "orderNumber": "0000000001"}


def test_list_only_this_webhook(
    client: FlaskClient, db: psycopg.Connection, webhook: dict[str, Any]
) -> None:
    other = add_webhook(client, event_codes=("order.created",))
    emit(db, "order.created")

    assert listed(client, webhook["id"]) == instance_ids(db, webhook["id"])
    assert listed(client, other["id"]) == instance_ids(db, other["id"])
    assert counted(client, webhook["id"]) == 1


def test_list_newest_first_by_default(
    client: FlaskClient, db: psycopg.Connection, webhook: dict[str, Any]
) -> None:
    oldest, middle, newest = three_instances(db, webhook["id"])

    assert listed(client, webhook["id"]) == [newest, middle, oldest]
    assert listed(client, webhook["id"], "?sort=-createdAt") == [newest, middle, oldest]
    assert listed(client, webhook["id"], "?sort=createdAt") == [oldest, middle, newest]


def test_list_equal_dates_ordered_by_id(
    client: FlaskClient, db: psycopg.Connection, webhook: dict[str, Any]
) -> None:
    for _ in range(4):
        emit(db)
    ids = instance_ids(db, webhook["id"])
    for instance_id in ids:
        set_created_at(db, instance_id, "2024-01-01T00:00:00Z")

    pages = [
        listed(client, webhook["id"], f"?sort=createdAt&limit=2&offset={offset}")
        for offset in (0, 2)
    ]

    assert pages[0] + pages[1] == sorted(ids)


def test_list_paging(
    client: FlaskClient, db: psycopg.Connection, webhook: dict[str, Any]
) -> None:
    for _ in range(25):
        emit(db)

    assert len(listed(client, webhook["id"])) == 20
    assert len(listed(client, webhook["id"], "?limit=100")) == 25
    assert len(listed(client, webhook["id"], "?limit=10&offset=20")) == 5
    assert counted(client, webhook["id"]) == 25


@pytest.mark.parametrize(
    "query", ["?limit=0", "?limit=101", "?offset=-1", "?limit=x", "?sort=name"]
)
def test_list_rejects_paging_and_sort(
    client: FlaskClient, webhook: dict[str, Any], query: str
) -> None:
    errors = query_errors(client.get(f"/webhooks/{webhook['id']}/instances{query}"))

    assert set(errors) == {query[1:].split("=")[0]}


def test_list_filters_by_state(
    client: FlaskClient, db: psycopg.Connection, webhook: dict[str, Any]
) -> None:
    emit(db)
    emit(db)
    emit(db)
    failed, succeeded, new = instance_ids(db, webhook["id"])
    record_try(db, failed, refused())
    record_try(db, succeeded, answered(200))

    assert listed(client, webhook["id"], "?state=failed") == [failed]
    assert listed(client, webhook["id"], "?state=new") == [new]
    assert set(listed(client, webhook["id"], "?state=failed&state=success")) == {
        failed,
        succeeded,
    }
    assert listed(client, webhook["id"], "?state=canceled") == []
    assert counted(client, webhook["id"], "?state=failed&state=new") == 2


@pytest.mark.parametrize("path", ["", "/count"])
@pytest.mark.parametrize("state", ["bogus", "", "FAILED", "cancelled"])
def test_list_rejects_unknown_state(
    client: FlaskClient, webhook: dict[str, Any], path: str, state: str
) -> None:
    response = client.get(f"/webhooks/{webhook['id']}/instances{path}?state={state}")

    assert "state" in query_errors(response)


def test_list_filters_by_event_code(
    client: FlaskClient, db: psycopg.Connection, webhook: dict[str, Any]
) -> None:
    _, updated, _ = three_instances(db, webhook["id"])

    assert listed(client, webhook["id"], "?eventCode=order.updated") == [updated]
    assert counted(client, webhook["id"], "?eventCode=order.created") == 2
    assert counted(client, webhook["id"], "?eventCode=shipment.created") == 0


@pytest.mark.parametrize("path", ["", "/count"])
def test_list_rejects_unknown_event_code(
    client: FlaskClient, webhook: dict[str, Any], path: str
) -> None:
    response = client.get(f"/webhooks/{webhook['id']}/instances{path}?eventCode=x.y")

    assert "Unknown event code 'x.y'" in query_errors(response)["eventCode"][0]


def test_list_filters_by_creation_date(
    client: FlaskClient, db: psycopg.Connection, webhook: dict[str, Any]
) -> None:
    oldest, middle, newest = three_instances(db, webhook["id"])
    webhook_id = webhook["id"]

    assert listed(client, webhook_id, "?createdFrom=2024-01-02T12:00:00.000Z") == [
        newest,
        middle,
    ]
    assert listed(client, webhook_id, "?createdTo=2024-01-02T12:00:00.000Z") == [
        middle,
        oldest,
    ]
    assert listed(
        client, webhook_id, "?createdFrom=2024-01-02&createdTo=2024-01-02T23:59:59Z"
    ) == [middle]
    assert counted(client, webhook_id, "?createdFrom=2024-01-04") == 0


@pytest.mark.parametrize("path", ["", "/count"])
@pytest.mark.parametrize("parameter", ["createdFrom", "createdTo"])
def test_list_rejects_malformed_date(
    client: FlaskClient, webhook: dict[str, Any], path: str, parameter: str
) -> None:
    response = client.get(
        f"/webhooks/{webhook['id']}/instances{path}?{parameter}=yesterday"
    )

    assert parameter in query_errors(response)


def test_count_rejects_paging(client: FlaskClient, webhook: dict[str, Any]) -> None:
    response = client.get(f"/webhooks/{webhook['id']}/instances/count?limit=5")

    assert set(query_errors(response)) == {"limit"}


def test_list_rejects_unknown_parameter(
    client: FlaskClient, webhook: dict[str, Any]
) -> None:
    response = client.get(f"/webhooks/{webhook['id']}/instances?status=failed")

    assert set(query_errors(response)) == {"status"}


@pytest.mark.parametrize("path", ["", "/count"])
def test_list_unknown_webhook(client: FlaskClient, path: str) -> None:
    response = client.get(f"/webhooks/{UNKNOWN_ID}/instances{path}")

    assert response.status_code == 404
    assert response.get_json()["message"] == f"Webhook {UNKNOWN_ID} not found."


def test_list_webhook_without_instances(
    client: FlaskClient, webhook: dict[str, Any]
) -> None:
    assert listed(client, webhook["id"]) == []
    assert counted(client, webhook["id"]) == 0


# Get one


def test_get_returns_executions_oldest_first(
    client: FlaskClient, db: psycopg.Connection, webhook: dict[str, Any]
) -> None:
    emit(db)
    [instance_id] = instance_ids(db, webhook["id"])
    record_try(db, instance_id, refused())
    record_try(db, instance_id, answered(503, "busy"))
    record_try(db, instance_id, answered(200, {"received": True}))

    response = client.get(f"/webhook-instances/{instance_id}")

    assert response.status_code == 200
    instance = response.get_json()
    assert set(instance) == INSTANCE_FIELDS | {"executions"}
    assert instance["state"] == "success"
    assert DATE_FORMAT.match(instance["updatedAt"])
    messages = [execution["message"] for execution in instance["executions"]]
    assert messages == ["Connection refused", "HTTP 503", "HTTP 200"]
    dates = [execution["createdAt"] for execution in instance["executions"]]
    assert dates == sorted(dates)


def test_get_execution_without_response(
    client: FlaskClient, db: psycopg.Connection, webhook: dict[str, Any]
) -> None:
    emit(db)
    [instance_id] = instance_ids(db, webhook["id"])
    record_try(db, instance_id, refused())

    [execution] = client.get(f"/webhook-instances/{instance_id}").get_json()[
        "executions"
    ]

    assert set(execution) == {"id", "createdAt", "success", "message"}
    assert execution["success"] is False
    assert execution["message"] == "Connection refused"
    assert DATE_FORMAT.match(execution["createdAt"])
    stored = db.execute(
        "SELECT response_status, response_headers, response_body IS NULL"
        " FROM webhooks.execution"
    ).fetchone()
    assert stored == (None, None, True)


def test_get_execution_with_empty_body(
    client: FlaskClient, db: psycopg.Connection, webhook: dict[str, Any]
) -> None:
    emit(db)
    [instance_id] = instance_ids(db, webhook["id"])
    record_try(db, instance_id, answered(204, None, {"server": "receiver"}))

    [execution] = client.get(f"/webhook-instances/{instance_id}").get_json()[
        "executions"
    ]

    assert set(execution) == EXECUTION_FIELDS
    assert execution["success"] is True
    assert execution["responseStatus"] == 204
    assert execution["responseHeaders"] == {"server": "receiver"}
    assert execution["responseBody"] is None
    stored = db.execute(
        "SELECT jsonb_typeof(response_body) FROM webhooks.execution"
    ).fetchone()
    assert stored == ("null",)


@pytest.mark.parametrize(
    "body",
    ["Service Unavailable", {"error": "busy", "retry": [1, 2]}, [1, "two"], 42, ""],
)
def test_get_execution_body_forms(
    client: FlaskClient, db: psycopg.Connection, webhook: dict[str, Any], body: Any
) -> None:
    emit(db)
    [instance_id] = instance_ids(db, webhook["id"])
    record_try(db, instance_id, answered(503, body))

    [execution] = client.get(f"/webhook-instances/{instance_id}").get_json()[
        "executions"
    ]

    assert execution["responseStatus"] == 503
    assert execution["responseBody"] == body


def test_get_instance_without_executions(
    client: FlaskClient, db: psycopg.Connection, webhook: dict[str, Any]
) -> None:
    emit(db)
    [instance_id] = instance_ids(db, webhook["id"])

    instance = client.get(f"/webhook-instances/{instance_id}").get_json()

    assert instance["executions"] == []
    assert instance["state"] == "new"


@pytest.mark.parametrize(
    "instance_id", [UNKNOWN_ID, "not-a-uuid", "7b0f5a3e3f0e4c1e9d0a6a1f2b3c4d5e0"]
)
def test_get_unknown_instance(client: FlaskClient, instance_id: str) -> None:
    response = client.get(f"/webhook-instances/{instance_id}")

    assert response.status_code == 404
    assert response.get_json()["code"] == 404


def test_get_instance_id_case_insensitive(
    client: FlaskClient, db: psycopg.Connection, webhook: dict[str, Any]
) -> None:
    emit(db)
    [instance_id] = instance_ids(db, webhook["id"])

    response = client.get(f"/webhook-instances/{instance_id.upper()}")

    assert response.status_code == 200
    assert response.get_json()["id"] == instance_id


def test_deleted_webhook_takes_instances(
    client: FlaskClient, db: psycopg.Connection, webhook: dict[str, Any]
) -> None:
    emit(db)
    [instance_id] = instance_ids(db, webhook["id"])

    assert client.delete(f"/webhooks/{webhook['id']}").status_code == 204

    assert client.get(f"/webhook-instances/{instance_id}").status_code == 404
    assert client.get(f"/webhooks/{webhook['id']}/instances").status_code == 404
