"""Open connections to PostgreSQL and translate its errors.

Every other module of relay that talks to the database goes through the
functions in relay.store, which use the connections made here.
"""

import contextlib
import logging
from collections.abc import Iterator

import psycopg
from psycopg_pool import ConnectionPool

from relay.errors import Conflict, DatabaseUnavailable, InvalidInput, NotFound

log = logging.getLogger(__name__)

_SQLSTATE_ERRORS = {
    "WH404": NotFound,
    "WH409": Conflict,
    "WH422": InvalidInput,
}


def connect(database_url: str, *, autocommit: bool = True) -> psycopg.Connection:
    """Open one connection, raising DatabaseUnavailable when it fails."""
    try:
        return psycopg.connect(
            database_url, autocommit=autocommit, application_name="streto-webhooks"
        )
    except psycopg.OperationalError as error:
        raise DatabaseUnavailable(_describe_connection_error(error)) from error
    except psycopg.ProgrammingError as error:
        # libpq could not parse the string; its message may quote a password.
        raise DatabaseUnavailable(
            "DATABASE_URL is not a valid connection string; write a URL such as "
            "postgresql://user@127.0.0.1:5432/dbname."
        ) from error


def create_pool(
    database_url: str, *, min_size: int = 1, max_size: int = 4, name: str = "webhooks"
) -> ConnectionPool:
    """Create a connection pool that reconnects by itself after failures.

    The pool checks each connection before lending it, so a connection lost
    to a database restart is replaced instead of failing the next request.
    """
    return ConnectionPool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=False,
        check=ConnectionPool.check_connection,
        kwargs={"application_name": f"streto-{name}", "autocommit": True},
    )


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Translate psycopg errors into the relay's own exceptions."""
    try:
        yield
    except psycopg.errors.OperationalError as error:
        raise DatabaseUnavailable(
            f"Database connection failed: {error}".strip()
        ) from error
    except psycopg.Error as error:
        error_class = _SQLSTATE_ERRORS.get(error.sqlstate or "")
        if error_class is None:
            raise
        diag = error.diag
        raise error_class(
            diag.message_primary or str(error), diag.message_hint
        ) from error


def _describe_connection_error(error: Exception) -> str:
    first_line = (
        str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
    )
    return (
        f"Cannot connect to PostgreSQL ({first_line}). "
        "Set DATABASE_URL to a reachable server, such as "
        "postgresql://user@127.0.0.1:5432/dbname."
    )
