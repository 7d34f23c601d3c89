"""Apply the yoyo migrations and re-apply the SQL functions in sql/.

Safe to run while relays and the API are running: a session advisory lock
lets one migrate run at a time, migrations set a lock timeout instead of
queueing behind long transactions, and CREATE OR REPLACE swaps function
bodies without stopping callers that are already running them.
"""

import logging
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations

from relay.database import connect

log = logging.getLogger(__name__)


def _find_schema_root() -> Path:
    """Return the directory that holds migrations/ and sql/.

    In a source checkout (and an editable install) they sit next to the
    relay package. A wheel installs them as data files under
    <prefix>/share/streto-webhooks, see [options.data_files] in setup.cfg.
    """
    source_tree = Path(__file__).resolve().parent.parent
    if (source_tree / "migrations").is_dir():
        return source_tree
    return Path(sys.prefix) / "share" / "streto-webhooks"


PROJECT_ROOT = _find_schema_root()
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
SQL_DIR = PROJECT_ROOT / "sql"

MIGRATION_LOCK_TIMEOUT = "10s"

# Any constant works; it only has to differ from other advisory lock users.
_MIGRATE_LOCK_KEY = 0x57454248  # "WEBH"


def migrate(database_url: str) -> list[str]:
    """Apply pending migrations and the SQL functions; return applied ids."""
    with connect(database_url) as lock_connection:
        lock_connection.execute("SELECT pg_advisory_lock(%s)", (_MIGRATE_LOCK_KEY,))
        try:
            lock_connection.execute("CREATE SCHEMA IF NOT EXISTS webhooks")
            applied = apply_migrations(database_url)
            apply_functions(lock_connection)
        finally:
            lock_connection.execute(
                "SELECT pg_advisory_unlock(%s)", (_MIGRATE_LOCK_KEY,)
            )
    return applied


def apply_migrations(database_url: str) -> list[str]:
    """Apply the migrations that this database has not seen yet."""
    backend = get_backend(_yoyo_url(database_url), migration_table="_yoyo_migration")
    try:
        migrations = read_migrations(str(MIGRATIONS_DIR))
        pending = backend.to_apply(migrations)
        with backend.lock():
            backend.apply_migrations(pending)
    finally:
        backend.connection.close()
    applied = [migration.id for migration in pending]
    for migration_id in applied:
        log.info(
            "applied migration %s", migration_id, extra={"migration": migration_id}
        )
    return applied


def apply_functions(connection: psycopg.Connection) -> None:
    """Run every file in sql/, in name order, in one transaction."""
    with connection.transaction():
        connection.execute(f"SET LOCAL lock_timeout = '{MIGRATION_LOCK_TIMEOUT}'")
        for path in sorted(SQL_DIR.glob("*.sql")):
            connection.execute(path.read_text(encoding="utf-8").encode())
            log.debug("applied %s", path.name)


def _yoyo_url(database_url: str) -> str:
    """Turn any libpq connection string into the URL form that yoyo reads.

    yoyo parses only URLs, while DATABASE_URL may also be a key=value string,
    so the parts are taken apart with libpq's rules and put back together.
    """
    try:
        parts = conninfo_to_dict(database_url)
    except psycopg.ProgrammingError as error:
        raise ValueError(
            f"DATABASE_URL is not a valid connection string: {error}"
        ) from error
    user = quote(str(parts.pop("user", "")), safe="")
    password = parts.pop("password", None)
    credentials = (
        f"{user}:{quote(str(password), safe='')}@"
        if password
        else (f"{user}@" if user else "")
    )
    host = str(parts.pop("host", ""))
    port = parts.pop("port", None)
    location = ""
    if host and not host.startswith("/") and "," not in host:
        location = f"[{host}]" if ":" in host else host
        if port:
            location += f":{port}"
    else:
        # A socket directory or a host list goes in the query string.
        if host:
            parts["host"] = host
        if port:
            parts["port"] = port
    dbname = str(parts.pop("dbname", ""))
    # yoyo keeps its bookkeeping tables in the first schema of the path.
    parts["schema"] = "webhooks"
    # A migration that waits for a lock behind a long transaction would
    # queue every relay's claim behind itself. Failing instead lets the
    # operator run it again at a quieter moment. yoyo opens more than one
    # connection, so the setting goes into the connection string of each.
    lock_timeout = f"-c lock_timeout={MIGRATION_LOCK_TIMEOUT}"
    parts["options"] = f"{parts.get('options', '')} {lock_timeout}".strip()
    query = urlencode({key: str(value) for key, value in parts.items()})
    return f"postgresql+psycopg://{credentials}{location}/{dbname}?{query}"
