"""Signing secrets stored encrypted: API, delivery, rotation command, wrong key."""

import os
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from cryptography.fernet import Fernet
from standardwebhooks.webhooks import Webhook

from tests.integration.api_client import api_client
from tests.integration.instance_data import add_webhook
from tests.receiver import Receiver, running_receiver

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
PLAINTEXT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def _stored(db: psycopg.Connection, webhook_id: str) -> tuple[str, str | None]:
    row = db.execute(
        "SELECT secret, previous_secret FROM webhooks.webhook WHERE id = %s",
        (webhook_id,),
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def _plaintext_webhook(db: psycopg.Connection) -> str:
    row = db.execute(
        "INSERT INTO webhooks.webhook (name, url, event_codes, enabled, secret)"
        " VALUES ('old', 'http://127.0.0.1:9/', '{order.created}', true, %s)"
        " RETURNING id",
        (PLAINTEXT_SECRET,),
    ).fetchone()
    assert row is not None
    return str(row[0])


def _relay(
    database_url: str, *arguments: str, key: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "WEBHOOKS_ENCRYPTION_KEY": key,
    }
    return subprocess.run(
        [sys.executable, "-m", "relay", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_secrets_encrypted_through_api(
    database_url: str, db: psycopg.Connection, receiver: Receiver
) -> None:
    with api_client(
        database_url, encryption_key=NEW_KEY, allow_private_targets=True
    ) as client:
        webhook_id = add_webhook(client, receiver.url())["id"]
        first = client.get(f"/webhooks/{webhook_id}/secret").get_json()["secret"]
        stored_first, _ = _stored(db, webhook_id)
        second = client.post(f"/webhooks/{webhook_id}/secret/rotate").get_json()[
            "secret"
        ]
        result = client.post(f"/webhooks/{webhook_id}/test").get_json()

    assert first.startswith("whsec_")
    assert stored_first != first
    assert Fernet(NEW_KEY).decrypt(stored_first.encode()).decode() == first
    stored_secret, stored_previous = _stored(db, webhook_id)
    assert stored_previous == stored_first
    assert Fernet(NEW_KEY).decrypt(stored_secret.encode()).decode() == second
    assert result["success"], result
    [request] = receiver.wait_for(1)
    Webhook(second).verify(request.body, request.headers)
    Webhook(first).verify(request.body, request.headers)


def test_rotation_command_encrypts_plaintext(
    database_url: str, db: psycopg.Connection
) -> None:
    webhook_id = _plaintext_webhook(db)

    with api_client(database_url, encryption_key=NEW_KEY) as client:
        before = client.get(f"/webhooks/{webhook_id}/secret").get_json()
    result = _relay(database_url, "rotate-encryption-key", key=NEW_KEY)
    again = _relay(database_url, "rotate-encryption-key", key=NEW_KEY)

    assert before == {"secret": PLAINTEXT_SECRET}
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 1 webhooks; 0 already used the first key" in result.stdout
    stored, _ = _stored(db, webhook_id)
    assert Fernet(NEW_KEY).decrypt(stored.encode()).decode() == PLAINTEXT_SECRET
    assert again.returncode == 0, again.stderr
    assert "re-encrypted 0 webhooks; 1 already used the first key" in again.stdout
    assert _stored(db, webhook_id)[0] == stored


def test_rotation_command_moves_to_new_key(
    database_url: str, db: psycopg.Connection
) -> None:
    with api_client(database_url, encryption_key=OLD_KEY) as client:
        ids = [add_webhook(client)["id"] for _ in range(3)]
        client.post(f"/webhooks/{ids[0]}/secret/rotate")
        secrets = [client.get(f"/webhooks/{i}/secret").get_json() for i in ids]

    result = _relay(
        database_url,
        "rotate-encryption-key",
        "--batch-size",
        "2",
        key=f"{NEW_KEY},{OLD_KEY}",
    )

    assert result.returncode == 0, result.stderr
    assert "re-encrypted 3 webhooks" in result.stdout
    with api_client(database_url, encryption_key=NEW_KEY) as client:
        assert [client.get(f"/webhooks/{i}/secret").get_json() for i in ids] == secrets
    previous = _stored(db, ids[0])[1]
    assert previous is not None
    Fernet(NEW_KEY).decrypt(previous.encode())


def test_wrong_key_clear_errors(database_url: str, db: psycopg.Connection) -> None:
    with api_client(database_url, encryption_key=OLD_KEY) as client:
        webhook_id = add_webhook(client)["id"]
        secret = client.get(f"/webhooks/{webhook_id}/secret").get_json()["secret"]

    with api_client(database_url, encryption_key=NEW_KEY) as client:
        response = client.get(f"/webhooks/{webhook_id}/secret")
    run = _relay(database_url, "run", key=NEW_KEY)
    rotate = _relay(database_url, "rotate-encryption-key", key=NEW_KEY)

    assert response.status_code == 500
    body = response.get_json()
    assert (
        "cannot be decrypted with any key in WEBHOOKS_ENCRYPTION_KEY"
        in (body["message"])
    )
    assert secret not in response.get_data(as_text=True)
    assert run.returncode == 2
    assert "1 webhooks have a signing secret that" in run.stderr
    assert rotate.returncode == 1
    assert "1 webhooks have a secret that no key" in rotate.stderr
    assert secret not in run.stderr + rotate.stderr


def test_malformed_key_stops_run(database_url: str) -> None:
    result = _relay(database_url, "run", key="short")

    assert result.returncode == 2
    assert "WEBHOOKS_ENCRYPTION_KEY: key 1 is not a Fernet key" in result.stderr
