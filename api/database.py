"""The API's connection pool and the connection each request borrows."""

import logging
import threading

import psycopg
from flask import Flask, current_app, g
from psycopg_pool import ConnectionPool, PoolTimeout

from relay.database import create_pool
from relay.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

_EXTENSION = "streto-webhooks.database"

# How long a request waits for a free or new connection before it gets a 503.
# The pool has at most 4 connections and a gunicorn sync worker serves one
# request at a time, so a longer wait means the database is unreachable.
CONNECTION_TIMEOUT = 5.0


class ApiDatabase:
    """A connection pool that opens on first use, so startup needs no database.

    The pool checks each connection before lending it (see create_pool), so
    connections lost to a database restart are replaced by new ones.
    """

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._pool: ConnectionPool | None = None
        # Guards the lazy creation: two first requests must not open two pools.
        self._lock = threading.Lock()

    def getconn(self, timeout: float = CONNECTION_TIMEOUT) -> psycopg.Connection:
        """Borrow a connection, waiting at most timeout seconds for one.

        Raises DatabaseUnavailable when no connection comes in time.
        """
        pool = self._open_pool()
        # psycopg_pool retries a connection that fails its check at once, but
        # backs off 1 s, then 2 s, after each further failure. After a database
        # restart every idle connection is broken, so a request could wait out
        # that back-off or time out. check() replaces the broken idle
        # connections first, at the cost of one round trip for each of them.
        pool.check()
        try:
            return pool.getconn(timeout=timeout)
        except PoolTimeout as error:
            raise DatabaseUnavailable(
                f"No database connection within {timeout:g} s; "
                "check that PostgreSQL is running and DATABASE_URL points to it."
            ) from error

    def putconn(self, connection: psycopg.Connection) -> None:
        """Give a borrowed connection back to the pool."""
        assert self._pool is not None
        self._pool.putconn(connection)

    def close(self) -> None:
        """Close the pool and its connections, if the pool was ever opened."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def _open_pool(self) -> ConnectionPool:
        with self._lock:
            if self._pool is None:
                pool = create_pool(self._database_url, name="api")
                # wait=False: when the database is down, the pool keeps
                # connecting in the background and getconn times out.
                pool.open(wait=False)
                self._pool = pool
            return self._pool


def init_database(app: Flask, database_url: str) -> ApiDatabase:
    """Attach an ApiDatabase to app and return borrowed connections on teardown."""
    database = ApiDatabase(database_url)
    app.extensions[_EXTENSION] = database
    app.teardown_appcontext(_return_connection)
    return database


def get_database(app: Flask) -> ApiDatabase:
    """Return the ApiDatabase that init_database attached to app."""
    database: ApiDatabase = app.extensions[_EXTENSION]
    return database


def connection(timeout: float = CONNECTION_TIMEOUT) -> psycopg.Connection:
    """Return the current request's connection, borrowing it on first use.

    timeout is how many seconds the first call waits for a connection.
    """
    borrowed: psycopg.Connection | None = g.get("database_connection")
    if borrowed is None:
        borrowed = get_database(current_app).getconn(timeout)
        g.database_connection = borrowed
    return borrowed


def _return_connection(_error: BaseException | None) -> None:
    borrowed: psycopg.Connection | None = g.pop("database_connection", None)
    if borrowed is not None:
        get_database(current_app).putconn(borrowed)
