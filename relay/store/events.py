"""Events: emitting into the outbox and reading the event catalog."""

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from relay.database import translated_errors


def emit(connection: psycopg.Connection, code: str, payload: Any) -> int:
    """Store an event in the outbox on the caller's connection; return its id.

    Nothing is committed here: the event becomes visible to the relay when
    the caller's transaction commits, and vanishes if it rolls back. Raises
    relay.errors.InvalidInput for an unknown event code or a payload that is
    not a JSON object.
    """
    with translated_errors():
        row = connection.execute(
            "SELECT webhooks.emit(%s, %s)", (code, Jsonb(payload))
        ).fetchone()
    assert row is not None
    return int(row[0])


@dataclass(frozen=True)
class EventType:
    """One entry of the event catalog."""

    code: str
    title: str
    description: str
    example_payload: Any


def list_event_types(
    connection: psycopg.Connection,
    *,
    code_prefix: str | None = None,
    descending: bool = False,
    limit: int = 20,
    offset: int = 0,
) -> list[EventType]:
    """Return one page of the event catalog, sorted by code."""
    where, params = _code_prefix_clause(code_prefix)
    query = sql.SQL(
        "SELECT t.code, t.title, t.description, t.example_payload"
        " FROM webhooks.event_type AS t {where}"
        " ORDER BY t.code {direction}"
        " LIMIT %s OFFSET %s"
    ).format(where=where, direction=sql.SQL("DESC" if descending else "ASC"))

    with (
        translated_errors(),
        connection.cursor(row_factory=class_row(EventType)) as cursor,
    ):
        cursor.execute(query, [*params, limit, offset])
        return cursor.fetchall()


def count_event_types(
    connection: psycopg.Connection, *, code_prefix: str | None = None
) -> int:
    """Return how many catalog entries have a code starting with code_prefix."""
    where, params = _code_prefix_clause(code_prefix)
    query = sql.SQL("SELECT count(*) FROM webhooks.event_type AS t {where}").format(
        where=where
    )

    with translated_errors():
        row = connection.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def get_event_type(connection: psycopg.Connection, code: str) -> EventType | None:
    """Return the catalog entry of an event code, or None when it is unknown."""
    with (
        translated_errors(),
        connection.cursor(row_factory=class_row(EventType)) as cursor,
    ):
        cursor.execute(
            "SELECT t.code, t.title, t.description, t.example_payload"
            " FROM webhooks.event_type AS t WHERE t.code = %s",
            (code,),
        )
        return cursor.fetchone()


def list_event_codes(connection: psycopg.Connection) -> set[str]:
    """Return every event code in the catalog."""
    with translated_errors():
        rows = connection.execute("SELECT code FROM webhooks.event_type").fetchall()
    return {row[0] for row in rows}


def _code_prefix_clause(code_prefix: str | None) -> tuple[sql.Composable, list[Any]]:
    # starts_with compares literally, so a prefix needs no LIKE escaping.
    if code_prefix is None:
        return sql.SQL(""), []
    return sql.SQL("WHERE starts_with(t.code, %s)"), [code_prefix]


def count_instances_of_event(connection: psycopg.Connection, event_id: int) -> int:
    """Return how many instances an emitted event created."""
    row = connection.execute(
        "SELECT count(*) FROM webhooks.instance WHERE event_id = %s", (event_id,)
    ).fetchone()
    return int(row[0]) if row else 0
