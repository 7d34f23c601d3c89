"""Listing notifications and marking them read through the API."""

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient

from relay.store.maintenance import configure
from tests.integration.api_client import api_client
from tests.integration.instance_data import (
    DATE_FORMAT,
    UNKNOWN_ID,
    add_webhook,
    emit,
    instance_ids,
    record_try,
    refused,
)

NOTIFICATION_FIELDS = {"id", "kind", "webhookId", "message", "createdAt", "readAt"}


@pytest.fixture
def client(database_url: str) -> Iterator[FlaskClient]:
    """Return an authenticated test client of the API."""
    with api_client(database_url) as test_client:
        yield test_client


def notify(
    db: psycopg.Connection,
    webhook_id: str | None,
    created_at: str,
    kind: str = "webhook.failing",
    read_at: str | None = None,
) -> str:
    """Store a notification as webhooks.notify_operators would; return its id."""
    row = db.execute(
        "INSERT INTO webhooks.notification"
        " (kind, webhook_id, webhook_name, message, created_at, read_at)"
        " VALUES (%s, %s, 'Orders', 'HTTP 503 Service Unavailable', %s, %s)"
        " RETURNING id",
        (kind, webhook_id, created_at, read_at),
    ).fetchone()
    assert row is not None
    return str(row[0])


def listed(client: FlaskClient, query: str = "") -> list[str]:
    """Return the ids of the notifications a list request returns."""
    response = client.get(f"/notifications{query}")
    assert response.status_code == 200, response.get_json()
    return [notification["id"] for notification in response.get_json()]


def test_list_returns_notifications(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook = add_webhook(client)
    notification_id = notify(db, webhook["id"], "2024-01-15T16:40:36.829Z")

    response = client.get("/notifications")

    assert response.status_code == 200
    [notification] = response.get_json()
    assert set(notification) == NOTIFICATION_FIELDS
    assert notification == {
        "id": notification_id,
        "kind": "webhook.failing",
        "webhookId": webhook["id"],
        "message": "HTTP 503 Service Unavailable",
        "createdAt": "2024-01-15T16:40:36.829Z",
        "readAt": None,
    }


def test_list_newest_first(client: FlaskClient, db: psycopg.Connection) -> None:
    webhook = add_webhook(client)
    oldest = notify(db, webhook["id"], "2024-01-01T00:00:00Z")
    newest = notify(db, webhook["id"], "2024-01-03T00:00:00Z")
    middle = notify(db, webhook["id"], "2024-01-02T00:00:00Z")

    assert listed(client) == [newest, middle, oldest]


def test_list_equal_dates_ordered_by_id(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    ids = [notify(db, None, "2024-01-01T00:00:00Z") for _ in range(4)]

    pages = listed(client, "?limit=2") + listed(client, "?limit=2&offset=2")

    assert pages == sorted(ids, reverse=True)


def test_list_unread_filter(client: FlaskClient, db: psycopg.Connection) -> None:
    read = notify(db, None, "2024-01-01T00:00:00Z", read_at="2024-01-02T00:00:00Z")
    unread = notify(db, None, "2024-01-03T00:00:00Z")

    assert listed(client, "?unread=true") == [unread]
    assert listed(client, "?unread=false") == [read]
    assert listed(client) == [unread, read]


def test_list_paging(client: FlaskClient, db: psycopg.Connection) -> None:
    for day in range(1, 26):
        notify(db, None, f"2024-01-{day:02d}T00:00:00Z")

    assert len(listed(client)) == 20
    assert len(listed(client, "?limit=100")) == 25
    assert len(listed(client, "?offset=20")) == 5


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("offset=-1", "offset"),
        ("unread=maybe", "unread"),
        ("sort=createdAt", "sort"),
        ("kind=webhook.failing", "kind"),
    ],
)
def test_list_rejects_parameters(
    client: FlaskClient, query: str, parameter: str
) -> None:
    response = client.get(f"/notifications?{query}")

    assert response.status_code == 422
    assert parameter in response.get_json()["errors"]["query"]


def test_list_after_webhook_deleted(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook = add_webhook(client)
    notify(db, webhook["id"], "2024-01-01T00:00:00Z")
    client.delete(f"/webhooks/{webhook['id']}")

    [notification] = client.get("/notifications").get_json()

    assert notification["webhookId"] is None
    assert notification["message"] == "HTTP 503 Service Unavailable"


def test_list_shows_stored_by_record_executions(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    configure(db, (), disable_after=2)
    webhook = add_webhook(client)
    emit(db)
    emit(db)
    for instance_id in instance_ids(db, webhook["id"]):
        record_try(db, instance_id, refused())

    notifications = client.get("/notifications").get_json()

    # Both may share a millisecond, so their order is not checked here.
    assert sorted(n["kind"] for n in notifications) == [
        "webhook.disabled",
        "webhook.failing",
    ]
    assert {n["webhookId"] for n in notifications} == {webhook["id"]}
    assert {n["message"] for n in notifications} == {"Connection refused"}


# Read


def test_read_sets_read_at(client: FlaskClient, db: psycopg.Connection) -> None:
    notification_id = notify(db, None, "2024-01-01T00:00:00Z")

    response = client.post(f"/notifications/{notification_id}/read")

    assert response.status_code == 200
    notification = response.get_json()
    assert set(notification) == NOTIFICATION_FIELDS
    assert notification["id"] == notification_id
    assert DATE_FORMAT.match(notification["readAt"])
    assert listed(client, "?unread=true") == []
    assert client.get("/notifications").get_json() == [notification]


def test_read_twice_keeps_first_read_at(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    notification_id = notify(db, None, "2024-01-01T00:00:00Z")
    first = client.post(f"/notifications/{notification_id}/read").get_json()
    time.sleep(0.01)

    second = client.post(f"/notifications/{notification_id}/read")

    assert second.status_code == 200
    assert second.get_json()["readAt"] == first["readAt"]


def test_read_leaves_others_unread(client: FlaskClient, db: psycopg.Connection) -> None:
    first = notify(db, None, "2024-01-01T00:00:00Z")
    second = notify(db, None, "2024-01-02T00:00:00Z")

    client.post(f"/notifications/{first}/read")

    assert listed(client, "?unread=true") == [second]


@pytest.mark.parametrize("notification_id", [UNKNOWN_ID, "not-a-uuid"])
def test_read_unknown_notification(client: FlaskClient, notification_id: str) -> None:
    response = client.post(f"/notifications/{notification_id}/read")

    assert response.status_code == 404
    body: dict[str, Any] = response.get_json()
    assert body["code"] == 404
