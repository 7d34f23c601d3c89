"""The audit trail: who changed each webhook, and how.

Entries are written in the transaction of the change they describe, and
have no foreign key to the webhook, so they outlive its deletion.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from relay.database import translated_errors

# The author of the changes the relay makes by itself, such as disabling a
# webhook after failures.
RELAY_AUTHOR = "relay"

# Every action an entry records. record_executions writes webhook.disabled
# with author "relay" itself; the rest come from the API.
ACTIONS = (
    "webhook.created",
    "webhook.updated",
    "webhook.enabled",
    "webhook.disabled",
    "webhook.deleted",
    "secret.rotated",
    "instance.executed",
    "instance.canceled",
    "instances.retried",
    "events.recovered",
)


@dataclass(frozen=True)
class AuditEntry:
    """One change to a webhook, with its author and time."""

    id: uuid.UUID
    created_at: datetime
    webhook_id: uuid.UUID
    action: str
    author: str
    details: dict[str, Any]


def record_audit(
    connection: psycopg.Connection,
    webhook_id: uuid.UUID,
    action: str,
    author: str,
    details: dict[str, Any] | None = None,
) -> uuid.UUID:
    """Store one audit entry in the caller's transaction; return its id."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    with translated_errors():
        row = connection.execute(
            "SELECT webhooks.record_audit(%s, %s, %s, %s)",
            (webhook_id, action, author, Jsonb(details or {})),
        ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def list_audit_entries(
    connection: psycopg.Connection,
    *,
    webhook_id: uuid.UUID | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[AuditEntry]:
    """Return one page of audit entries, newest first, of one webhook or all."""
    where, params = _where_clause(webhook_id)
    query = sql.SQL(
        "SELECT a.id, a.created_at, a.webhook_id, a.action, a.author, a.details"
        " FROM webhooks.audit_entry AS a {where}"
        " ORDER BY a.position DESC"
        " LIMIT %s OFFSET %s"
    ).format(where=where)

    with (
        translated_errors(),
        connection.cursor(row_factory=class_row(AuditEntry)) as cursor,
    ):
        cursor.execute(query, [*params, limit, offset])
        return cursor.fetchall()


def count_audit_entries(
    connection: psycopg.Connection, *, webhook_id: uuid.UUID | None = None
) -> int:
    """Return how many audit entries there are, of one webhook or all."""
    where, params = _where_clause(webhook_id)
    query = sql.SQL("SELECT count(*) FROM webhooks.audit_entry AS a {where}").format(
        where=where
    )

    with translated_errors():
        row = connection.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def _where_clause(webhook_id: uuid.UUID | None) -> tuple[sql.Composable, list[Any]]:
    if webhook_id is None:
        return sql.SQL(""), []
    return sql.SQL("WHERE a.webhook_id = %s"), [webhook_id]
