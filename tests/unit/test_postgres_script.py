"""scripts/postgres.py: the failure paths that start nothing.

Each test runs the script in a subprocess. The only connections go to a
port on 127.0.0.1 that the test keeps bound without listening, so they are
refused at once.
"""

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres.py"
SCRIPT_TIMEOUT_S = 30


def run_script(command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run postgres.py with the given variables and none inherited of its own."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name != "DATABASE_URL" and not name.startswith("WEBHOOKS_PG_")
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, str(SCRIPT), command],
        env=environment,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
    )


@pytest.fixture
def closed_port() -> Iterator[int]:
    """Return a 127.0.0.1 port that is bound but not listening: connections fail."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        yield int(holder.getsockname()[1])


def test_start_unreachable_database_url_names_it(closed_port: int) -> None:
    url = f"postgresql://webhooks:s3cret-Pa55@127.0.0.1:{closed_port}/app"

    result = run_script("start", DATABASE_URL=url)

    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "DATABASE_URL" in lines[0]
    assert f"127.0.0.1:{closed_port}" in lines[0]
    assert "unreachable" in lines[0]
    assert "s3cret-Pa55" not in result.stderr
    assert "webhooks:***@" in lines[0]


def test_start_invalid_database_url_hides_password() -> None:
    # libpq echoes the invalid value, so the password must be scrubbed from
    # the error text too, not only from the URL.
    url = "host=127.0.0.1 port=not-a-port user=webhooks password=s3cret-Pa55"

    result = run_script("start", DATABASE_URL=url)

    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not-a-port" in result.stderr
    assert "s3cret-Pa55" not in result.stderr


def test_start_nothing_found_explains_fix(closed_port: int, tmp_path: Path) -> None:
    result = run_script(
        "start",
        WEBHOOKS_PG_PROBE=f"127.0.0.1:{closed_port}",
        WEBHOOKS_PG_BINDIR=str(tmp_path),
    )

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"127.0.0.1:{closed_port}" in lines[0]
    assert str(tmp_path) in lines[0]
    assert "apt-get install postgresql" in lines[0]
    assert "DATABASE_URL" in lines[0]


def test_start_invalid_probe_rejected() -> None:
    result = run_script("start", WEBHOOKS_PG_PROBE="127.0.0.1")

    assert result.returncode == 2
    assert result.stdout == ""
    assert "WEBHOOKS_PG_PROBE" in result.stderr
    assert "HOST:PORT" in result.stderr


def test_stop_without_throwaway_does_nothing() -> None:
    result = run_script("stop")

    assert result.returncode == 0
    assert result.stdout == ""
    assert "nothing to stop" in result.stderr


def test_stop_removed_cluster_does_nothing(tmp_path: Path) -> None:
    datadir = tmp_path / "gone" / "data"

    result = run_script("stop", WEBHOOKS_PG_THROWAWAY=str(datadir))

    assert result.returncode == 0
    assert "nothing to stop" in result.stderr


def test_stop_foreign_directory_kept(tmp_path: Path) -> None:
    datadir = tmp_path / "data"
    datadir.mkdir()

    result = run_script("stop", WEBHOOKS_PG_THROWAWAY=str(datadir))

    assert result.returncode == 1
    assert "not a throwaway cluster" in result.stderr
    assert datadir.is_dir()


def test_stop_mismatched_marker_kept(tmp_path: Path) -> None:
    datadir = tmp_path / "data"
    datadir.mkdir()
    marker = {"datadir": "/somewhere/else", "bindir": "/usr/bin", "owner": None}
    (tmp_path / "throwaway.json").write_text(json.dumps(marker))

    result = run_script("stop", WEBHOOKS_PG_THROWAWAY=str(datadir))

    assert result.returncode == 1
    assert "does not match" in result.stderr
    assert datadir.is_dir()


def test_unknown_command_rejected() -> None:
    result = run_script("restart")

    assert result.returncode == 2
    assert "invalid choice" in result.stderr
