"""Events: emitting into the outbox and reading the event catalog."""

from typing import Any

import psycopg
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
