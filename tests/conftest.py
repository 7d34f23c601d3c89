"""Shared fixtures: a migrated template database cloned for every test.

The server comes from WEBHOOKS_TEST_DATABASE_URL (set by scripts/test after
it has found or started PostgreSQL), else 127.0.0.1:5432 as user postgres.
Each test gets a fresh database copied from a template that was migrated
once per run.
"""

import os
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from pytest_postgresql import factories

from relay.migrate import migrate

_SERVER = conninfo_to_dict(
    os.environ.get(
        "WEBHOOKS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/"
    )
)


def _database_url(dbname: str) -> str:
    """Return a URL for one database on the test server."""
    user = _SERVER.get("user", "postgres")
    password = _SERVER.get("password")
    credentials = f"{user}:{password}" if password else str(user)
    host = _SERVER.get("host", "127.0.0.1")
    port = _SERVER.get("port", 5432)
    if str(host).startswith("/"):
        return f"postgresql://{credentials}@/{dbname}?host={host}&port={port}"
    return f"postgresql://{credentials}@{host}:{port}/{dbname}"


def _load_schema(dbname: str, **_connection: object) -> None:
    migrate(_database_url(dbname))


postgresql_server = factories.postgresql_noproc(
    host=str(_SERVER.get("host", "127.0.0.1")),
    port=int(_SERVER.get("port", 5432)),
    user=str(_SERVER.get("user", "postgres")),
    password=_SERVER.get("password"),
    # One name per run, so runs side by side on one server never drop each
    # other's databases.
    dbname=f"webhooks_test_{os.getpid()}",
    load=[_load_schema],
)
postgresql = factories.postgresql("postgresql_server")


@pytest.fixture
def database_url(postgresql: psycopg.Connection) -> str:
    """Return the URL of this test's own freshly migrated database."""
    return _database_url(postgresql.info.dbname)


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection]:
    """Return an autocommit connection to this test's database."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection
