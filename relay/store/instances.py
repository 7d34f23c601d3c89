"""Instances and their executions: read them, cancel, retry and recover.

Execute now, which claims an instance for one try, is in relay.store.queue
next to the relay's own claim.
"""

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from relay.database import translated_errors
from relay.errors import NotFound

STATES = ("new", "running", "success", "failed", "canceled")


@dataclass(frozen=True)
class Execution:
    """One HTTP try of an instance.

    has_response is False when no HTTP response came (connection refused,
    timeout, blocked destination); response_status, response_headers and
    response_body are then None and mean nothing. With a response,
    response_body is None for an empty body.
    """

    id: uuid.UUID
    created_at: datetime
    success: bool
    message: str
    has_response: bool
    response_status: int | None
    response_headers: dict[str, str] | None
    response_body: Any


@dataclass(frozen=True)
class Instance:
    """One event for one webhook, with its executions when they were read."""

    id: uuid.UUID
    webhook_id: uuid.UUID
    created_at: datetime
    updated_at: datetime | None
    state: str
    remaining_retries: int
    event_code: str
    payload: Any
    executions: list[Execution] | None = None


@dataclass(frozen=True)
class InstanceFilter:
    """Conditions a listed, counted or retried instance must meet.

    None means any value; states matches any of the states listed.
    """

    states: tuple[str, ...] | None = None
    event_code: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


_COLUMNS = sql.SQL(
    "i.id, i.webhook_id, i.created_at, i.updated_at, i.state,"
    " i.remaining_retries, i.event_code, e.payload"
)
_FROM = sql.SQL(
    "FROM webhooks.instance AS i JOIN webhooks.outbox AS e ON e.id = i.event_id"
)

# record_executions stores SQL NULL in both columns when no response came.
# With a response, an empty body is JSON null, which reads as None too, so
# has_response is what tells the two apart.
_EXECUTION_QUERY = """
SELECT x.id, x.created_at, x.success, x.message,
       (x.response_status IS NOT NULL OR x.response_body IS NOT NULL)
           AS has_response,
       x.response_status, x.response_headers, x.response_body
FROM webhooks.execution AS x
WHERE x.instance_id = %s
ORDER BY x.created_at, x.id
"""


def get_instance(connection: psycopg.Connection, instance_id: uuid.UUID) -> Instance:
    """Return one instance with its executions, oldest first.

    Raises NotFound when the instance does not exist.
    """
    query = sql.SQL("SELECT {columns} {from_} WHERE i.id = %s").format(
        columns=_COLUMNS, from_=_FROM
    )

    # One transaction, so the executions belong to the state read with them.
    with translated_errors(), connection.transaction():
        with connection.cursor(row_factory=class_row(Instance)) as cursor:
            cursor.execute(query, (instance_id,))
            instance = cursor.fetchone()
        if instance is None:
            raise NotFound(f"Webhook instance {instance_id} not found.")
        with connection.cursor(row_factory=class_row(Execution)) as cursor:
            cursor.execute(_EXECUTION_QUERY, (instance_id,))
            executions = cursor.fetchall()
    return dataclasses.replace(instance, executions=executions)


def list_instances(
    connection: psycopg.Connection,
    webhook_id: uuid.UUID,
    filters: InstanceFilter,
    *,
    descending: bool = True,
    limit: int = 20,
    offset: int = 0,
) -> list[Instance]:
    """Return one page of a webhook's instances that match filters.

    Instances come without executions, sorted by creation time and then id.
    Raises NotFound when the webhook does not exist.
    """
    direction = sql.SQL("DESC" if descending else "ASC")
    where, params = _where_clause(webhook_id, filters)
    query = sql.SQL(
        "SELECT {columns} {from_} {where}"
        " ORDER BY i.created_at {direction}, i.id {direction}"
        " LIMIT %s OFFSET %s"
    ).format(columns=_COLUMNS, from_=_FROM, where=where, direction=direction)

    with translated_errors(), connection.transaction():
        _check_webhook_exists(connection, webhook_id)
        with connection.cursor(row_factory=class_row(Instance)) as cursor:
            cursor.execute(query, [*params, limit, offset])
            return cursor.fetchall()


def count_instances(
    connection: psycopg.Connection, webhook_id: uuid.UUID, filters: InstanceFilter
) -> int:
    """Return how many of a webhook's instances match filters.

    Raises NotFound when the webhook does not exist.
    """
    where, params = _where_clause(webhook_id, filters)
    query = sql.SQL("SELECT count(*) FROM webhooks.instance AS i {where}").format(
        where=where
    )

    with translated_errors(), connection.transaction():
        _check_webhook_exists(connection, webhook_id)
        row = connection.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def cancel_instance(connection: psycopg.Connection, instance_id: uuid.UUID) -> None:
    """Cancel the remaining retries of a failed instance.

    Raises NotFound when the instance does not exist, Conflict unless it is
    failed with retries left.
    """
    with translated_errors():
        connection.execute("SELECT webhooks.cancel_instance(%s)", (instance_id,))


def queue_retries(
    connection: psycopg.Connection, webhook_id: uuid.UUID, filters: InstanceFilter
) -> int:
    """Queue a webhook's failed and canceled instances that match filters.

    The relay tries each one as soon as it can; they keep their remaining
    retries. Returns how many were queued. Raises NotFound when the webhook
    does not exist.
    """
    states = None if filters.states is None else list(filters.states)
    with translated_errors():
        row = connection.execute(
            "SELECT webhooks.queue_retries(%s, %s, %s, %s, %s)",
            (
                webhook_id,
                states,
                filters.event_code,
                filters.created_from,
                filters.created_to,
            ),
        ).fetchone()
    assert row is not None
    return int(row[0])


def recover_events(
    connection: psycopg.Connection, webhook_id: uuid.UUID, since: datetime
) -> int:
    """Create instances for the stored events since a time that a webhook missed.

    Only events the webhook listens to and has no instance for count.
    Returns how many instances were created. Raises NotFound when the webhook
    does not exist.
    """
    with translated_errors():
        row = connection.execute(
            "SELECT webhooks.recover_events(%s, %s)", (webhook_id, since)
        ).fetchone()
    assert row is not None
    return int(row[0])


def list_next_retry_times(
    connection: psycopg.Connection, instance_ids: list[uuid.UUID]
) -> dict[uuid.UUID, datetime]:
    """Return when the next automatic retry is due, for the failed instances.

    Instances with no retry scheduled are left out: finished ones, and
    failed ones held while their webhook is disabled (due_at is NULL then).
    """
    with translated_errors():
        rows = connection.execute(
            "SELECT id, due_at FROM webhooks.instance"
            " WHERE id = ANY (%s) AND state = 'failed' AND due_at IS NOT NULL",
            (instance_ids,),
        ).fetchall()
    return {row[0]: row[1] for row in rows}


def _check_webhook_exists(
    connection: psycopg.Connection, webhook_id: uuid.UUID
) -> None:
    row = connection.execute(
        "SELECT 1 FROM webhooks.webhook WHERE id = %s", (webhook_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"Webhook {webhook_id} not found.")


def _where_clause(
    webhook_id: uuid.UUID, filters: InstanceFilter
) -> tuple[sql.Composable, list[Any]]:
    """Build the WHERE clause for one webhook and filters, with its values."""
    conditions = [sql.SQL("i.webhook_id = %s")]
    params: list[Any] = [webhook_id]
    if filters.states is not None:
        conditions.append(sql.SQL("i.state = ANY (%s)"))
        params.append(list(filters.states))
    if filters.event_code is not None:
        conditions.append(sql.SQL("i.event_code = %s"))
        params.append(filters.event_code)
    if filters.created_from is not None:
        conditions.append(sql.SQL("i.created_at >= %s"))
        params.append(filters.created_from)
    if filters.created_to is not None:
        conditions.append(sql.SQL("i.created_at <= %s"))
        params.append(filters.created_to)
    return sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions), params
