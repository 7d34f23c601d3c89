"""Signing secrets: shown, rotated, and both secrets signing during grace."""

import base64
import uuid
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
from flask.testing import FlaskClient

from relay.store import queue
from tests.integration.api_client import api_client


@pytest.fixture
def client(database_url: str) -> Iterator[FlaskClient]:
    with api_client(database_url) as test_client:
        yield test_client


def _create(client: FlaskClient) -> str:
    response = client.post(
        "/webhooks",
        json={
            "name": "ERP",
            "url": "http://127.0.0.1:9/hook",
            "eventCodes": ["order.created"],
            "enabled": True,
        },
    )
    assert response.status_code == 201
    return str(response.get_json()["id"])


def test_secret_made_on_create(client: FlaskClient) -> None:
    webhook_id = _create(client)

    response = client.get(f"/webhooks/{webhook_id}/secret")

    assert response.status_code == 200
    secret = response.get_json()["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert "secret" not in client.get(f"/webhooks/{webhook_id}").get_json()


def test_secret_unknown_webhook_404(client: FlaskClient) -> None:
    assert client.get(f"/webhooks/{uuid.uuid4()}/secret").status_code == 404
    assert client.post(f"/webhooks/{uuid.uuid4()}/secret/rotate").status_code == 404
    assert client.get("/webhooks/not-a-uuid/secret").status_code == 404


def test_secret_requires_token(client: FlaskClient) -> None:
    webhook_id = _create(client)
    client.environ_base.pop("HTTP_AUTHORIZATION")

    assert client.get(f"/webhooks/{webhook_id}/secret").status_code == 401


def test_rotate_signs_with_both_for_grace(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook_id = _create(client)
    old = client.get(f"/webhooks/{webhook_id}/secret").get_json()["secret"]

    response = client.post(f"/webhooks/{webhook_id}/secret/rotate")

    assert response.status_code == 200
    new = response.get_json()["secret"]
    assert new != old
    assert client.get(f"/webhooks/{webhook_id}/secret").get_json()["secret"] == new
    db.execute("SELECT webhooks.emit('order.created', '{}')")
    [claim] = queue.claim(db, 1, timedelta(seconds=15), uuid.uuid4(), 10)
    assert claim.secrets == [new, old]
    expires = db.execute(
        "SELECT previous_secret_expires_at - now() FROM webhooks.webhook"
    ).fetchone()
    assert expires is not None
    assert timedelta(hours=23, minutes=59) < expires[0] <= timedelta(hours=24)


def test_rotate_old_secret_stops_after_grace(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook_id = _create(client)
    new = client.post(f"/webhooks/{webhook_id}/secret/rotate").get_json()["secret"]
    db.execute(
        "UPDATE webhooks.webhook"
        " SET previous_secret_expires_at = now() - interval '1 s'"
    )
    db.execute("SELECT webhooks.emit('order.created', '{}')")

    [claim] = queue.claim(db, 1, timedelta(seconds=15), uuid.uuid4(), 10)

    assert claim.secrets == [new]


def test_rotate_keeps_updated_at(client: FlaskClient) -> None:
    webhook_id = _create(client)

    client.post(f"/webhooks/{webhook_id}/secret/rotate")

    assert client.get(f"/webhooks/{webhook_id}").get_json()["updatedAt"] is None
