"""Signing secrets at rest: read and rewrite them in batches for a key rotation.

The secrets are in their stored form (see relay.secret_storage); this module
never encrypts or decrypts.
"""

import uuid
from dataclasses import dataclass

import psycopg
from psycopg.rows import class_row

from relay.database import translated_errors


@dataclass(frozen=True)
class StoredSecrets:
    """The stored signing secrets of one webhook."""

    webhook_id: uuid.UUID
    secret: str
    previous_secret: str | None


def list_stored_secrets(
    connection: psycopg.Connection, *, after: uuid.UUID | None, limit: int
) -> list[StoredSecrets]:
    """Return the stored secrets of up to limit webhooks with ids above after."""
    with (
        translated_errors(),
        connection.cursor(row_factory=class_row(StoredSecrets)) as cursor,
    ):
        cursor.execute(
            "SELECT w.id AS webhook_id, w.secret, w.previous_secret"
            " FROM webhooks.webhook AS w"
            " WHERE %(after)s::uuid IS NULL OR w.id > %(after)s::uuid"
            " ORDER BY w.id"
            " LIMIT %(limit)s",
            {"after": after, "limit": limit},
        )
        return cursor.fetchall()


def replace_stored_secrets(
    connection: psycopg.Connection, old: StoredSecrets, new: StoredSecrets
) -> bool:
    """Write new over old unless the row changed since old was read.

    Returns False when a secret rotation or a deletion came in between; the
    row then keeps what that change wrote.
    """
    with translated_errors():
        cursor = connection.execute(
            "UPDATE webhooks.webhook AS w"
            " SET secret = %s, previous_secret = %s"
            " WHERE w.id = %s"
            "   AND w.secret = %s"
            "   AND w.previous_secret IS NOT DISTINCT FROM %s",
            (
                new.secret,
                new.previous_secret,
                old.webhook_id,
                old.secret,
                old.previous_secret,
            ),
        )
    return cursor.rowcount == 1
