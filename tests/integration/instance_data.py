"""Webhooks, instances and executions made for the API tests.

Instances come from webhooks.emit, and executions from the same claim and
record_executions calls that a relay makes, so the rows have the shape the
relay gives them.
"""

import re
import uuid
from datetime import timedelta
from typing import Any

import psycopg
from flask.testing import FlaskClient
from psycopg.types.json import Jsonb

from relay.delivery import Outcome
from relay.store import queue

LEASE = timedelta(seconds=15)
UNKNOWN_ID = "7b0f5a3e-3f0e-4c1e-9d0a-6a1f2b3c4d5e"
DATE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
# A port nothing listens on, so a request there is refused at once.
CLOSED_URL = "http://127.0.0.1:9/hook"


def add_webhook(
    client: FlaskClient,
    url: str = CLOSED_URL,
    *,
    event_codes: tuple[str, ...] = ("order.created",),
    enabled: bool = True,
    **fields: Any,
) -> dict[str, Any]:
    """Create a webhook through the API and return it."""
    body = {
        "name": "Orders",
        "url": url,
        "eventCodes": list(event_codes),
        "enabled": enabled,
        **fields,
    }
    response = client.post("/webhooks", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def emit(
    db: psycopg.Connection,
    code: str = "order.created",
    payload: dict[str, Any] | None = None,
) -> None:
    """Emit one event, which creates an instance per listening webhook."""
    db.execute(
        "SELECT webhooks.emit(%s, %s)",
        (code, Jsonb(payload or {"id": 1})),
    )


def instance_ids(db: psycopg.Connection, webhook_id: str) -> list[str]:
    """Return the ids of a webhook's instances, oldest first.

    Instances emitted within one millisecond share created_at, so the
    event id, which grows with every emit, orders them.
    """
    rows = db.execute(
        "SELECT id FROM webhooks.instance WHERE webhook_id = %s"
        " ORDER BY created_at, event_id",
        (webhook_id,),
    ).fetchall()
    return [str(row[0]) for row in rows]


def record_try(db: psycopg.Connection, instance_id: str, outcome: Outcome) -> None:
    """Claim one instance as a relay would and record outcome for it.

    The instance must be new, failed with retries left, or running with an
    expired lease; its webhook must be enabled.
    """
    db.execute(
        "UPDATE webhooks.instance SET due_at = '-infinity' WHERE id = %s",
        (instance_id,),
    )
    token = uuid.uuid4()
    claims = queue.claim(db, 1, LEASE, token)
    assert [str(claim.instance_id) for claim in claims] == [instance_id]
    queue.record_executions(db, token, [outcome.as_result(instance_id)])


def refused() -> Outcome:
    """Return the outcome of a try that got no HTTP response."""
    return Outcome(success=False, message="Connection refused", duration_ms=3)


def answered(
    status: int,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Outcome:
    """Return the outcome of a try that got an HTTP response."""
    return Outcome(
        success=200 <= status < 300,
        message=f"HTTP {status}",
        duration_ms=5,
        has_response=True,
        response_status=status,
        response_headers=headers or {},
        response_body=body,
    )


def instance_row(db: psycopg.Connection, instance_id: str) -> dict[str, Any]:
    """Return an instance's stored state, retries and schedule."""
    row = db.execute(
        "SELECT state, remaining_retries, execution_count, due_at, held,"
        " manual_retry, updated_at"
        " FROM webhooks.instance WHERE id = %s",
        (instance_id,),
    ).fetchone()
    assert row is not None
    names = (
        "state",
        "remaining_retries",
        "execution_count",
        "due_at",
        "held",
        "manual_retry",
        "updated_at",
    )
    return dict(zip(names, row, strict=True))
