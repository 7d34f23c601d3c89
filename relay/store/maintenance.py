"""Relay configuration stored in the database, and retention."""

from datetime import datetime, timedelta

import psycopg

from relay.database import translated_errors


def configure(
    connection: psycopg.Connection,
    retry_delays: tuple[timedelta, ...],
    disable_after: int,
) -> None:
    """Store the retry schedule and disable threshold that SQL decisions use."""
    with translated_errors():
        connection.execute(
            "SELECT webhooks.configure(%s::interval[], %s)",
            (list(retry_delays), disable_after),
        )


def prune_instances(
    connection: psycopg.Connection, before: datetime, limit: int
) -> int:
    """Delete up to limit finished instances last changed before a time."""
    with translated_errors():
        row = connection.execute(
            "SELECT webhooks.prune_instances(%s, %s)", (before, limit)
        ).fetchone()
    return int(row[0]) if row else 0


def prune_events(connection: psycopg.Connection, before: datetime, limit: int) -> int:
    """Delete up to limit unreferenced events created before a time."""
    with translated_errors():
        row = connection.execute(
            "SELECT webhooks.prune_events(%s, %s)", (before, limit)
        ).fetchone()
    return int(row[0]) if row else 0


def database_now(connection: psycopg.Connection) -> datetime:
    """Return the database clock, which every retention cut-off is based on."""
    row = connection.execute("SELECT now()").fetchone()
    assert row is not None
    return row[0]


def schema_version(connection: psycopg.Connection) -> str | None:
    """Return the newest applied migration id, or None without a schema."""
    row = connection.execute(
        "SELECT to_regclass('webhooks._yoyo_migration') IS NOT NULL"
        " AND to_regclass('webhooks.setting') IS NOT NULL"
    ).fetchone()
    if not row or not row[0]:
        return None
    latest = connection.execute(
        "SELECT max(migration_id) FROM webhooks._yoyo_migration"
    ).fetchone()
    return None if latest is None else latest[0]
