"""Queue and webhook figures for `relay status` and the relay's metrics.

The instance queries filter on the predicates of two partial indexes:
the claim index (due_at IS NOT NULL) and the held index. PostgreSQL can
so read the queue without the finished history, and the cost follows
the queue's length.
"""

import uuid
from dataclasses import dataclass

import psycopg
from psycopg.rows import class_row

from relay.database import translated_errors


@dataclass(frozen=True)
class QueueStatus:
    """How much work waits in the queue, and how long the oldest has waited.

    new, running and failed count scheduled instances only: a failed
    instance here waits for a retry, and a running one holds a lease.
    due counts those whose due_at has passed, so a relay may claim them
    now; held counts the instances parked while their webhook is disabled.
    """

    new: int
    running: int
    failed: int
    due: int
    held: int
    oldest_due_age_seconds: float | None


@dataclass(frozen=True)
class WebhookHealth:
    """A webhook that is disabled or whose last tries failed."""

    id: uuid.UUID
    name: str
    enabled: bool
    successive_failure_count: int


def read_queue_status(connection: psycopg.Connection) -> QueueStatus:
    """Count the scheduled and held instances and age the oldest due one."""
    query = """
        SELECT
            count(*) FILTER (WHERE i.state = 'new') AS new,
            count(*) FILTER (WHERE i.state = 'running') AS running,
            count(*) FILTER (WHERE i.state = 'failed') AS failed,
            count(*) FILTER (WHERE i.due_at <= now()) AS due,
            (SELECT count(*) FROM webhooks.instance AS h WHERE h.held) AS held,
            extract(
                EPOCH FROM now() - min(i.due_at) FILTER (WHERE i.due_at <= now())
            )::float8 AS oldest_due_age_seconds
        FROM webhooks.instance AS i
        WHERE i.due_at IS NOT NULL
    """
    with (
        translated_errors(),
        connection.cursor(row_factory=class_row(QueueStatus)) as cursor,
    ):
        cursor.execute(query)
        row = cursor.fetchone()
    assert row is not None
    return row


def list_unhealthy_webhooks(connection: psycopg.Connection) -> list[WebhookHealth]:
    """Return the disabled webhooks and those with successive failures.

    Disabled ones come first, then by failure count, highest first.
    """
    query = """
        SELECT w.id, w.name, w.enabled, w.successive_failure_count
        FROM webhooks.webhook AS w
        WHERE NOT w.enabled
           OR w.successive_failure_count > 0
        ORDER BY w.enabled, w.successive_failure_count DESC, lower(w.name), w.id
    """
    with (
        translated_errors(),
        connection.cursor(row_factory=class_row(WebhookHealth)) as cursor,
    ):
        cursor.execute(query)
        return cursor.fetchall()
