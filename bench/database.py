"""Create and drop the benchmark's databases and read their cost counters.

Every system under test gets a fresh database on the server named by
DATABASE_URL. Commits come from pg_stat_database and count only that
database. WAL bytes come from pg_current_wal_lsn(), which is cluster-wide,
so other work on the same server inflates them.
"""

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from bench.work import EVENT_CODE
from relay.signing import generate_secret
from relay.store.webhooks import create_webhook


def server_url() -> str:
    """Return the server's URL from DATABASE_URL, or the local default."""
    return (
        os.environ.get("DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres"
    )


def database_url(name: str) -> str:
    """Return the URL of database name on the benchmark's server.

    asyncpg, which PgQueuer uses, reads URLs only, so DATABASE_URL must be
    a postgresql:// URL rather than key=value pairs.
    """
    return urlsplit(server_url())._replace(path=f"/{name}").geturl()


@contextlib.contextmanager
def fresh_database(label: str) -> Iterator[str]:
    """Create an empty database, yield its URL and drop it afterwards."""
    name = f"bench_{label}_{os.getpid()}"
    with psycopg.connect(server_url(), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(name)
    finally:
        with psycopg.connect(server_url(), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )


@dataclass(frozen=True)
class CostSnapshot:
    """The counters that the cost per delivery is computed from."""

    commits: int
    wal_lsn: str


def cost_snapshot(url: str) -> CostSnapshot:
    """Read the commit count of url's database and the WAL position."""
    dbname = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(url, autocommit=True) as connection:
        # PostgreSQL 15 backends flush their statistics at most once a second.
        time.sleep(1.1)
        row = connection.execute(
            "SELECT xact_commit, pg_current_wal_lsn()::text"
            " FROM pg_stat_database WHERE datname = %s",
            (dbname,),
        ).fetchone()
    assert row is not None
    return CostSnapshot(commits=int(row[0]), wal_lsn=str(row[1]))


def cost_per_delivery(
    url: str, before: CostSnapshot, after: CostSnapshot, deliveries: int
) -> dict[str, float]:
    """Return commits and WAL bytes per delivery between two snapshots.

    The snapshots' own connections add one commit each, which is taken off.
    """
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)",
            (after.wal_lsn, before.wal_lsn),
        ).fetchone()
    assert row is not None
    commits = after.commits - before.commits - 1
    return {
        "commits_per_delivery": commits / deliveries,
        "wal_bytes_per_delivery": float(row[0]) / deliveries,
    }


def wait_until_zero(
    url: str, query: str, *, timeout: float, interval: float = 0.05
) -> float:
    """Poll query, which counts unfinished work, until it returns 0.

    Returns the time.time() at which it did. The polls run inside one READ
    COMMITTED transaction: each statement reads every commit made before
    it, and the transaction adds only one commit to the database's
    counters. Raises TimeoutError after timeout
    seconds.
    """
    deadline = time.monotonic() + timeout
    with psycopg.connect(url) as connection:
        while True:
            row = connection.execute(query).fetchone()
            assert row is not None
            if row[0] == 0:
                done = time.time()
                connection.rollback()
                return done
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{row[0]} jobs still unfinished after {timeout:g} s"
                )
            time.sleep(interval)


def add_webhooks(
    connection: psycopg.Connection, count: int, url_of: Callable[[int], str]
) -> list[uuid.UUID]:
    """Add count enabled webhooks listening to the benchmark's event code.

    url_of gives the delivery URL of webhook number 0, 1, ...
    """
    return [
        create_webhook(
            connection,
            name=f"bench {number}",
            description=None,
            url=url_of(number),
            event_codes=[EVENT_CODE],
            enabled=True,
            # Stored as plain text: the benchmark sets no encryption key.
            secret=generate_secret(),
        ).id
        for number in range(count)
    ]
