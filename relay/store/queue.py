"""The delivery queue: claims, execute now and recording results."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from relay.database import translated_errors


@dataclass(frozen=True)
class Claim:
    """One instance taken for one HTTP try, with what the request needs."""

    instance_id: uuid.UUID
    webhook_id: uuid.UUID
    event_code: str
    payload: Any
    retry_number: int
    url: str
    secrets: list[str]


@dataclass(frozen=True)
class Recorded:
    """What record_executions decided for one result."""

    instance_id: uuid.UUID
    webhook_id: uuid.UUID
    state: str
    remaining_retries: int
    due_at: Any
    failure_count: int
    notification: str | None


_CLAIM_COLUMNS = (
    "instance_id, webhook_id, event_code, payload, retry_number, url, secrets"
)


# The largest PostgreSQL integer: a cap that never applies.
NO_CAP = 2**31 - 1


def claim(
    connection: psycopg.Connection,
    limit: int,
    lease: timedelta,
    token: uuid.UUID,
    max_per_webhook: int = NO_CAP,
) -> list[Claim]:
    """Claim up to limit due instances under token; commits at once.

    No webhook gets more than max_per_webhook instances running at once,
    counting those that other relays hold.
    """
    with translated_errors(), connection.cursor(row_factory=class_row(Claim)) as cursor:
        cursor.execute(
            f"SELECT {_CLAIM_COLUMNS} FROM webhooks.claim(%s, %s, %s, %s)",
            (limit, lease, token, max_per_webhook),
        )
        return cursor.fetchall()


def start_execution(
    connection: psycopg.Connection,
    instance_id: uuid.UUID,
    lease: timedelta,
    token: uuid.UUID,
) -> Claim:
    """Claim one instance for execute now; raises NotFound or Conflict."""
    with translated_errors(), connection.cursor(row_factory=class_row(Claim)) as cursor:
        cursor.execute(
            f"SELECT {_CLAIM_COLUMNS} FROM webhooks.start_execution(%s, %s, %s)",
            (instance_id, lease, token),
        )
        row = cursor.fetchone()
    assert row is not None
    return row


def lock_webhooks(connection: psycopg.Connection, webhook_ids: list[uuid.UUID]) -> None:
    """Lock webhooks in id order, the order record_executions locks them in.

    A relay records the results of several claims, each under its own
    token, in one transaction. Each record_executions call orders only its
    own webhooks, so two such transactions could take the same webhooks in
    opposite orders and deadlock. Locking the whole batch first keeps one
    global order.
    """
    with translated_errors():
        connection.execute(
            "SELECT 1 FROM webhooks.webhook AS w WHERE w.id = ANY(%s)"
            " ORDER BY w.id FOR NO KEY UPDATE",
            (webhook_ids,),
        )


def record_executions(
    connection: psycopg.Connection, token: uuid.UUID, results: list[dict[str, Any]]
) -> list[Recorded]:
    """Record a batch of results claimed under token; returns the decisions.

    Results whose claim was lost (lease ran out, webhook deleted) are
    dropped by the database and missing from the returned list.
    """
    with (
        translated_errors(),
        connection.cursor(row_factory=class_row(Recorded)) as cursor,
    ):
        cursor.execute(
            "SELECT instance_id, webhook_id, state, remaining_retries, due_at,"
            " failure_count, notification"
            " FROM webhooks.record_executions(%s, %s)",
            (token, Jsonb(results)),
        )
        return cursor.fetchall()


def reset_expired_claims(connection: psycopg.Connection, limit: int) -> int:
    """Reset up to limit instances whose claim ran out; return the count."""
    with translated_errors():
        row = connection.execute(
            "SELECT webhooks.reset_expired_claims(%s)", (limit,)
        ).fetchone()
    return int(row[0]) if row else 0
