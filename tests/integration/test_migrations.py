"""Migrations: idempotent, and equal to the readable schema file."""

import re
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

import relay.migrate
from relay.migrate import SQL_DIR, apply_functions, migrate

SCHEMA_FILE = SQL_DIR / "schema" / "webhooks.sql"


def _dump_schema(database_url: str) -> str:
    """Return pg_dump's schema-only output for the webhooks tables and functions."""
    result = subprocess.run(
        [
            "pg_dump",
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "--schema=webhooks",
            "--exclude-table=webhooks._yoyo*",
            "--exclude-table=webhooks.yoyo_lock",
            database_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [
        line
        for line in result.stdout.splitlines()
        if line
        and not line.startswith(("--", "SET ", "\\restrict", "\\unrestrict"))
        and not line.startswith("SELECT pg_catalog.set_config")
    ]
    return re.sub(r"\n{2,}", "\n", "\n".join(lines))


pytestmark = pytest.mark.skipif(
    shutil.which("pg_dump") is None, reason="pg_dump is not installed"
)


def test_migrate_rerun_changes_nothing(database_url: str) -> None:
    before = _dump_schema(database_url)

    applied = migrate(database_url)

    assert applied == []
    assert _dump_schema(database_url) == before


def test_migrations_match_schema_file(
    database_url: str, postgresql: psycopg.Connection
) -> None:
    fresh_name = f"{postgresql.info.dbname}_fresh"
    fresh_url = database_url.rsplit("/", 1)[0] + f"/{fresh_name}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{fresh_name}"')
    try:
        with psycopg.connect(fresh_url, autocommit=True) as fresh:
            fresh.execute(SCHEMA_FILE.read_bytes())
            apply_functions(fresh)

        assert _dump_schema(fresh_url) == _dump_schema(database_url)
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{fresh_name}" WITH (FORCE)')


def test_migration_gives_up_behind_long_transaction(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "0099_add_column.sql").write_text(
        "ALTER TABLE webhooks.instance ADD COLUMN note text;\n"
    )
    monkeypatch.setattr(relay.migrate, "MIGRATIONS_DIR", tmp_path)
    monkeypatch.setattr(relay.migrate, "MIGRATION_LOCK_TIMEOUT", "300ms")

    with psycopg.connect(database_url) as holder:
        # An open transaction that read the table keeps a lock that ALTER
        # TABLE must wait for.
        holder.execute("SELECT count(*) FROM webhooks.instance")
        started = time.monotonic()
        with pytest.raises(psycopg.errors.LockNotAvailable):
            relay.migrate.apply_migrations(database_url)
        waited = time.monotonic() - started
        holder.rollback()

    assert waited < 5
    with psycopg.connect(database_url) as connection:
        columns = connection.execute(
            "SELECT count(*) FROM information_schema.columns"
            " WHERE table_schema = 'webhooks' AND table_name = 'instance'"
            " AND column_name = 'note'"
        ).fetchone()
    assert columns == (0,)
