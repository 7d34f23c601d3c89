"""No token, signing secret or signature in logs or error bodies of a full run."""

import logging
from collections.abc import Iterator

import psycopg
import pytest
from cryptography.fernet import Fernet

from api import create_app
from api.database import get_database
from api.sender import close_sender
from relay.config import ApiToken, Settings
from tests.integration.api_client import TOKEN
from tests.integration.instance_data import emit, instance_ids, record_try, refused
from tests.receiver import Receiver, Response, running_receiver

OTHER_TOKEN = "second-operator-token-9f2c"
WRONG_TOKEN = "wrong-token-presented-5d1e"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def test_logs_hold_no_token_or_secret(
    database_url: str,
    db: psycopg.Connection,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.script("/hook", Response(500, b"down"), Response(204))
    bodies: list[str] = []
    tokens = (ApiToken(TOKEN, "alice"), ApiToken(OTHER_TOKEN, "bob"))
    settings = Settings(
        database_url=database_url,
        api_tokens=tokens,
        allow_private_targets=True,
        encryption_key=Fernet.generate_key().decode(),
    )
    app = create_app(settings)

    client = app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    created = client.post(
        "/webhooks",
        json={"name": "Orders", "url": receiver.url(), "enabled": True},
        headers=auth,
    ).get_json()
    webhook_id = created["id"]
    first = client.get(f"/webhooks/{webhook_id}/secret", headers=auth).get_json()
    second = client.post(
        f"/webhooks/{webhook_id}/secret/rotate",
        headers={"Authorization": f"Bearer {OTHER_TOKEN}"},
    ).get_json()
    client.patch(
        f"/webhooks/{webhook_id}",
        json={"eventCodes": ["order.created"]},
        headers=auth,
    )
    emit(db)
    [instance_id] = instance_ids(db, webhook_id)
    record_try(db, instance_id, refused())
    for path in (
        f"/webhooks/{webhook_id}/test",
        f"/webhook-instances/{instance_id}/execute",
    ):
        bodies.append(client.post(path, headers=auth).get_data(as_text=True))
    for headers in (
        {"Authorization": f"Bearer {WRONG_TOKEN}"},
        {"Authorization": f"Basic {TOKEN}"},
        {},
    ):
        response = client.get("/webhooks", headers=headers)
        assert response.status_code == 401
        bodies.append(response.get_data(as_text=True))
    bodies.append(
        client.post(
            "/webhooks",
            data="{",
            headers={**auth, "Content-Type": "application/json"},
        ).get_data(as_text=True)
    )

    close_sender(app)
    get_database(app).close()

    signatures = [
        signature
        for request in receiver.requests
        for signature in request.headers["webhook-signature"].split()
    ]
    assert len(receiver.requests) == 2
    assert len(signatures) == 4
    secrets = [first["secret"], second["secret"]]
    stored = [
        str(value)
        for row in db.execute("SELECT secret, previous_secret FROM webhooks.webhook")
        for value in row
    ]
    forbidden = [TOKEN, OTHER_TOKEN, WRONG_TOKEN, *secrets, *stored, *signatures]
    forbidden += [secret.removeprefix("whsec_") for secret in secrets]
    logged = "\n".join(
        f"{record.getMessage()} {record.__dict__}" for record in caplog.records
    )
    assert "webhook created" in logged
    assert "signing secret rotated" in logged
    for value in forbidden:
        assert value not in logged
        for body in bodies:
            assert value not in body
