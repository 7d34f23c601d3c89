"""Webhooks: create, read, list, count, update and delete subscriptions.

Timestamps written here are truncated to milliseconds, the precision the API
shows, so that a createdAt value a client read back can be used as an exact
filter bound.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from relay.database import translated_errors
from relay.errors import NotFound


@dataclass(frozen=True)
class Webhook:
    """An operator's subscription, without its signing secret."""

    id: uuid.UUID
    created_at: datetime
    updated_at: datetime | None
    name: str
    description: str | None
    url: str
    event_codes: list[str]
    enabled: bool
    successive_failure_count: int


@dataclass(frozen=True)
class WebhookFilter:
    """Conditions a listed or counted webhook must meet, where None means any."""

    name: str | None = None
    enabled: bool | None = None
    event_code: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


# The columns an update may change. enabled is not among them because it
# goes through webhooks.set_webhook_enabled, which also holds or releases
# the webhook's pending instances.
UPDATABLE_COLUMNS = frozenset({"name", "description", "url", "event_codes"})

# Sort keys and the expressions behind them. Each sort ends with the id, so
# rows with equal keys keep one order across pages.
_SORT_EXPRESSIONS = {
    "created_at": sql.SQL("w.created_at"),
    "name": sql.SQL("lower(w.name)"),
    "successive_failure_count": sql.SQL("w.successive_failure_count"),
}
SORT_KEYS = frozenset(_SORT_EXPRESSIONS)

_COLUMNS = sql.SQL(
    "w.id, w.created_at, w.updated_at, w.name, w.description, w.url,"
    " w.event_codes, w.enabled, w.successive_failure_count"
)
_NOW_MILLISECONDS = sql.SQL("date_trunc('milliseconds', now())")


def create_webhook(
    connection: psycopg.Connection,
    *,
    name: str,
    description: str | None,
    url: str,
    event_codes: list[str],
    enabled: bool,
    secret: str,
) -> Webhook:
    """Insert a webhook and return it.

    secret is the stored form of its signing secret, from
    relay.secret_storage.
    """
    query = sql.SQL(
        "INSERT INTO webhooks.webhook AS w"
        " (created_at, name, description, url, event_codes, enabled, secret)"
        " VALUES ({now}, %s, %s, %s, %s, %s, %s)"
        " RETURNING {columns}"
    ).format(now=_NOW_MILLISECONDS, columns=_COLUMNS)
    params = (name, description, url, event_codes, enabled, secret)

    with (
        translated_errors(),
        connection.cursor(row_factory=class_row(Webhook)) as cursor,
    ):
        cursor.execute(query, params)
        row = cursor.fetchone()
    assert row is not None
    return row


def get_webhook(connection: psycopg.Connection, webhook_id: uuid.UUID) -> Webhook:
    """Return one webhook, or raise NotFound when it does not exist."""
    query = sql.SQL(
        "SELECT {columns} FROM webhooks.webhook AS w WHERE w.id = %s"
    ).format(columns=_COLUMNS)

    with (
        translated_errors(),
        connection.cursor(row_factory=class_row(Webhook)) as cursor,
    ):
        cursor.execute(query, (webhook_id,))
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"Webhook {webhook_id} not found.")
    return row


def list_webhooks(
    connection: psycopg.Connection,
    filters: WebhookFilter,
    *,
    sort_key: str = "created_at",
    descending: bool = True,
    limit: int = 20,
    offset: int = 0,
) -> list[Webhook]:
    """Return one page of the webhooks that match filters.

    sort_key is one of SORT_KEYS; name sorts without regard to case.
    """
    if sort_key not in _SORT_EXPRESSIONS:
        raise ValueError(f"unknown webhook sort key {sort_key!r}")
    direction = sql.SQL("DESC" if descending else "ASC")
    where, params = _where_clause(filters)
    query = sql.SQL(
        "SELECT {columns} FROM webhooks.webhook AS w {where}"
        " ORDER BY {key} {direction}, w.id {direction}"
        " LIMIT %s OFFSET %s"
    ).format(
        columns=_COLUMNS,
        where=where,
        key=_SORT_EXPRESSIONS[sort_key],
        direction=direction,
    )

    with (
        translated_errors(),
        connection.cursor(row_factory=class_row(Webhook)) as cursor,
    ):
        cursor.execute(query, [*params, limit, offset])
        return cursor.fetchall()


def count_webhooks(connection: psycopg.Connection, filters: WebhookFilter) -> int:
    """Return how many webhooks match filters."""
    where, params = _where_clause(filters)
    query = sql.SQL("SELECT count(*) FROM webhooks.webhook AS w {where}").format(
        where=where
    )

    with translated_errors():
        row = connection.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def update_webhook(
    connection: psycopg.Connection,
    webhook_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    enabled: bool | None = None,
) -> Webhook:
    """Change some columns of a webhook, set updated_at and return it.

    changes maps names from UPDATABLE_COLUMNS to new values. When enabled is
    given, webhooks.set_webhook_enabled runs in the same transaction, which
    resets successive_failure_count on enabling and holds or releases the
    pending instances. Raises NotFound when the webhook does not exist.
    """
    unknown = set(changes) - UPDATABLE_COLUMNS
    if unknown:
        raise ValueError(f"columns not updatable: {sorted(unknown)}")
    assignments = [
        sql.SQL("{} = %s").format(sql.Identifier(column)) for column in changes
    ]
    assignments.append(sql.SQL("updated_at = {}").format(_NOW_MILLISECONDS))
    query = sql.SQL(
        "UPDATE webhooks.webhook AS w SET {assignments} WHERE w.id = %s"
        " RETURNING {columns}"
    ).format(assignments=sql.SQL(", ").join(assignments), columns=_COLUMNS)

    with (
        translated_errors(),
        connection.transaction(),
        connection.cursor(row_factory=class_row(Webhook)) as cursor,
    ):
        # set_webhook_enabled compares with the stored value, so it has to
        # run before the UPDATE below could change anything it reads.
        if enabled is not None:
            cursor.execute(
                "SELECT webhooks.set_webhook_enabled(%s, %s)", (webhook_id, enabled)
            )
        cursor.execute(query, [*changes.values(), webhook_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"Webhook {webhook_id} not found.")
    return row


def delete_webhook(connection: psycopg.Connection, webhook_id: uuid.UUID) -> None:
    """Delete a webhook with its instances and executions.

    Raises NotFound when the webhook does not exist.
    """
    with translated_errors():
        cursor = connection.execute(
            "DELETE FROM webhooks.webhook WHERE id = %s", (webhook_id,)
        )
    if cursor.rowcount == 0:
        raise NotFound(f"Webhook {webhook_id} not found.")


def check_database(connection: psycopg.Connection) -> None:
    """Run ``SELECT 1``, raising DatabaseUnavailable when the database is down."""
    with translated_errors():
        connection.execute("SELECT 1")


def _where_clause(filters: WebhookFilter) -> tuple[sql.Composable, list[Any]]:
    """Build the WHERE clause for filters and the values it binds."""
    conditions: list[sql.Composable] = []
    params: list[Any] = []
    if filters.name is not None:
        conditions.append(sql.SQL("w.name ILIKE %s ESCAPE '\\'"))
        params.append(f"%{escape_like(filters.name)}%")
    if filters.enabled is not None:
        conditions.append(sql.SQL("w.enabled = %s"))
        params.append(filters.enabled)
    if filters.event_code is not None:
        conditions.append(sql.SQL("w.event_codes @> ARRAY[%s]::text[]"))
        params.append(filters.event_code)
    if filters.created_from is not None:
        conditions.append(sql.SQL("w.created_at >= %s"))
        params.append(filters.created_from)
    if filters.created_to is not None:
        conditions.append(sql.SQL("w.created_at <= %s"))
        params.append(filters.created_to)

    if not conditions:
        return sql.SQL(""), params
    return sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions), params


def escape_like(text: str) -> str:
    """Escape the LIKE wildcards in text, so that it matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get_signing_secret(connection: psycopg.Connection, webhook_id: uuid.UUID) -> str:
    """Return the stored form of a webhook's current signing secret.

    Raises NotFound when the webhook does not exist.
    """
    row = connection.execute(
        "SELECT secret FROM webhooks.webhook WHERE id = %s", (webhook_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"Webhook {webhook_id} not found.")
    return str(row[0])


@dataclass(frozen=True)
class DeliveryTarget:
    """Where a request to a webhook goes now, and the secrets that sign it."""

    webhook_id: uuid.UUID
    url: str
    event_codes: list[str]
    secrets: list[str]


def get_delivery_target(
    connection: psycopg.Connection, webhook_id: uuid.UUID
) -> DeliveryTarget:
    """Return a webhook's URL, event codes and current signing secrets.

    The secrets are those webhooks.signing_secrets gives a claim, in their
    stored form: the current one, and the previous one while its rotation
    grace period lasts. Raises NotFound when the webhook does not exist.
    """
    with (
        translated_errors(),
        connection.cursor(row_factory=class_row(DeliveryTarget)) as cursor,
    ):
        cursor.execute(
            "SELECT w.id AS webhook_id, w.url, w.event_codes,"
            " webhooks.signing_secrets(w) AS secrets"
            " FROM webhooks.webhook AS w WHERE w.id = %s",
            (webhook_id,),
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"Webhook {webhook_id} not found.")
    return row


def rotate_signing_secret(
    connection: psycopg.Connection,
    webhook_id: uuid.UUID,
    grace: timedelta,
    secret: str,
) -> None:
    """Replace a webhook's signing secret with secret, in its stored form.

    The replaced secret keeps signing, next to the new one, for grace.
    """
    with translated_errors():
        connection.execute(
            "SELECT webhooks.rotate_secret(%s, %s, %s)", (webhook_id, secret, grace)
        )


def list_auto_disabled_webhook_ids(
    connection: psycopg.Connection, webhook_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Return which of webhook_ids were disabled by failures, not by an operator.

    auto_disabled_at is set when failures disable a webhook and cleared when
    it is enabled again, so it tells the two kinds of disabled apart.
    """
    with translated_errors():
        rows = connection.execute(
            "SELECT id FROM webhooks.webhook"
            " WHERE id = ANY (%s) AND NOT enabled AND auto_disabled_at IS NOT NULL",
            (webhook_ids,),
        ).fetchall()
    return {row[0] for row in rows}
