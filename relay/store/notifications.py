"""Operator notifications: list them and mark them read.

record_executions stores them (webhook.failing, webhook.disabled,
webhook.recovered); relay.store.notification_email tracks their e-mails.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from relay.database import translated_errors
from relay.errors import NotFound


@dataclass(frozen=True)
class Notification:
    """A message to the operators about a webhook.

    webhook_id is None once the webhook has been deleted.
    """

    id: uuid.UUID
    kind: str
    webhook_id: uuid.UUID | None
    message: str
    created_at: datetime
    read_at: datetime | None


_COLUMNS = sql.SQL("n.id, n.kind, n.webhook_id, n.message, n.created_at, n.read_at")


def list_notifications(
    connection: psycopg.Connection,
    *,
    unread: bool | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[Notification]:
    """Return one page of notifications, newest first.

    unread=True keeps the unread ones, unread=False the read ones, and None
    keeps all.
    """
    where: sql.Composable = sql.SQL("")
    if unread is not None:
        where = sql.SQL("WHERE n.read_at IS {} NULL").format(
            sql.SQL("" if unread else "NOT")
        )
    query = sql.SQL(
        "SELECT {columns} FROM webhooks.notification AS n {where}"
        " ORDER BY n.created_at DESC, n.id DESC"
        " LIMIT %s OFFSET %s"
    ).format(columns=_COLUMNS, where=where)

    with (
        translated_errors(),
        connection.cursor(row_factory=class_row(Notification)) as cursor,
    ):
        cursor.execute(query, (limit, offset))
        return cursor.fetchall()


def mark_notification_read(
    connection: psycopg.Connection, notification_id: uuid.UUID
) -> Notification:
    """Set a notification's read time unless it is set already; return it.

    Raises NotFound when the notification does not exist.
    """
    # coalesce keeps the first read time, so marking twice changes nothing.
    query = sql.SQL(
        "UPDATE webhooks.notification AS n"
        " SET read_at = coalesce(n.read_at, date_trunc('milliseconds', now()))"
        " WHERE n.id = %s"
        " RETURNING {columns}"
    ).format(columns=_COLUMNS)

    with (
        translated_errors(),
        connection.cursor(row_factory=class_row(Notification)) as cursor,
    ):
        cursor.execute(query, (notification_id,))
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"Notification {notification_id} not found.")
    return row


def count_notifications(
    connection: psycopg.Connection, *, unread: bool | None = None
) -> int:
    """Return how many notifications there are; unread as in list_notifications."""
    condition = {None: "true", True: "read_at IS NULL", False: "read_at IS NOT NULL"}
    query = sql.SQL("SELECT count(*) FROM webhooks.notification WHERE {}").format(
        sql.SQL(condition[unread])
    )
    with translated_errors():
        row = connection.execute(query).fetchone()
    assert row is not None
    return int(row[0])
