"""The wheel the Dockerfile builds: installed alone, it migrates a database.

The image installs the wheel and no source tree, so relay migrate has to
find the migrations and SQL functions among the installed data files.
"""

import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.conftest import _database_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _run(*command: str | Path, **options: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def empty_database(db: psycopg.Connection) -> Iterator[str]:
    """Create a database without the webhooks schema; return its URL."""
    name = f"{db.info.dbname}_wheel"
    db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _database_url(name)
    finally:
        db.execute(
            sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
        )


def test_wheel_install_migrates_database(tmp_path: Path, empty_database: str) -> None:
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
        "--no-build-isolation", "--no-index", "--wheel-dir", tmp_path / "wheels",
        PROJECT_ROOT,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "wheels").glob("streto_webhooks-*.whl"))

    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", "--without-pip", venv).returncode == 0
    python = venv / "bin" / "python"
    installed = _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
        "--no-deps", "--no-index", wheel,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr

    # Dependencies come from the test virtualenv; the project itself only
    # from the wheel, since the working directory is outside the checkout.
    dependencies = sysconfig.get_paths()["purelib"]
    environment = {"PYTHONPATH": dependencies, "DATABASE_URL": empty_database}
    located = _run(
        python, "-c", "import relay, wsgi; print(relay.__file__)",
        cwd=tmp_path, env=environment,
    )  # fmt: skip
    assert located.returncode == 0, located.stderr
    assert located.stdout.startswith(str(venv))

    migrated = _run(python, "-m", "relay", "migrate", cwd=tmp_path, env=environment)

    assert migrated.returncode == 0, migrated.stderr
    migrations = len(list((PROJECT_ROOT / "migrations").glob("*.sql")))
    assert migrated.stdout.startswith(f"applied {migrations} migrations")
    assert (venv / "share" / "streto-webhooks" / "sql" / "20_claim.sql").is_file()
    with psycopg.connect(empty_database) as connection:
        row = connection.execute(
            "SELECT to_regprocedure('webhooks.claim(integer, interval, uuid, integer)')"
        ).fetchone()
    assert row is not None
    assert row[0] is not None
