"""Notifications waiting for an e-mail to the operators."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import class_row

from relay.database import translated_errors


@dataclass(frozen=True)
class PendingEmail:
    """A notification claimed for one mail try."""

    id: uuid.UUID
    kind: str
    webhook_id: uuid.UUID | None
    webhook_name: str
    message: str
    created_at: datetime


def claim_notification_emails(
    connection: psycopg.Connection,
    limit: int,
    lease: timedelta,
    window: timedelta,
    max_attempts: int,
) -> list[PendingEmail]:
    """Claim notifications whose mail is due; commits at once."""
    with (
        translated_errors(),
        connection.cursor(row_factory=class_row(PendingEmail)) as cursor,
    ):
        cursor.execute(
            "SELECT id, kind, webhook_id, webhook_name, message, created_at"
            " FROM webhooks.claim_notification_emails(%s, %s, %s, %s)",
            (limit, lease, window, max_attempts),
        )
        return cursor.fetchall()


def mark_notification_emailed(
    connection: psycopg.Connection, notification_id: uuid.UUID
) -> None:
    """Record that the operators were mailed about a notification."""
    with translated_errors():
        connection.execute(
            "SELECT webhooks.mark_notification_emailed(%s)", (notification_id,)
        )
