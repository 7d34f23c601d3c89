"""scripts/postgres.py: start, use and stop a real throwaway cluster.

The probe is pointed at a port on 127.0.0.1 that refuses connections, so the
script takes its throwaway-cluster path even on a machine whose own server
listens on 5432. That server is never touched.
"""

import importlib.util
import logging
import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres.py"
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 60


def load_script() -> ModuleType:
    """Import scripts/postgres.py as a module, so that tests can call its functions."""
    spec = importlib.util.spec_from_file_location("postgres_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_script(
    command: str, timeout: float, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run postgres.py with the given variables, dropping inherited choices.

    WEBHOOKS_PG_BINDIR passes through, so the script searches the same
    directories as the test's skip check.
    """
    dropped = {"DATABASE_URL", "WEBHOOKS_PG_PROBE", "WEBHOOKS_PG_THROWAWAY"}
    environment = {
        name: value for name, value in os.environ.items() if name not in dropped
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, str(SCRIPT), command],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def parse_exports(output: str) -> dict[str, str]:
    """Read ``export NAME=value`` lines the way a shell would."""
    exports = {}
    for line in output.splitlines():
        keyword, assignment = shlex.split(line)
        assert keyword == "export"
        name, _, value = assignment.partition("=")
        exports[name] = value
    return exports


@pytest.fixture
def closed_port() -> Iterator[int]:
    """Return a 127.0.0.1 port that is bound but not listening: connections fail."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        yield int(holder.getsockname()[1])


@pytest.mark.slow
def test_throwaway_cluster_starts_and_stops(closed_port: int) -> None:
    bindir, searched = load_script().find_bindir()
    if bindir is None:
        searched_text = ", ".join(str(path) for path in searched)
        pytest.skip(f"no PostgreSQL server binaries found (searched: {searched_text})")
    probe = f"127.0.0.1:{closed_port}"

    started = run_script("start", START_TIMEOUT_S, WEBHOOKS_PG_PROBE=probe)

    assert started.returncode == 0, started.stderr
    exports = parse_exports(started.stdout)
    assert set(exports) == {"DATABASE_URL", "WEBHOOKS_PG_THROWAWAY"}
    datadir = Path(exports["WEBHOOKS_PG_THROWAWAY"])
    try:
        assert (datadir / "PG_VERSION").is_file()
        server = conninfo_to_dict(exports["DATABASE_URL"])
        assert server["host"] == "127.0.0.1"
        assert server["dbname"] == "postgres"
        assert int(str(server["port"])) != closed_port

        with psycopg.connect(exports["DATABASE_URL"], connect_timeout=5) as connection:
            row = connection.execute(
                "SELECT current_user, current_setting('listen_addresses')"
            ).fetchone()
        assert row == ("postgres", "127.0.0.1")
    finally:
        stopped = run_script(
            "stop",
            STOP_TIMEOUT_S,
            WEBHOOKS_PG_PROBE=probe,
            WEBHOOKS_PG_THROWAWAY=str(datadir),
        )

    assert stopped.returncode == 0, stopped.stderr
    assert not datadir.exists()
    assert not datadir.parent.exists()


@pytest.mark.slow
def test_throwaway_cluster_retries_taken_port(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="postgres.py")
    script = load_script()
    bindir, searched = script.find_bindir()
    if bindir is None:
        searched_text = ", ".join(str(path) for path in searched)
        pytest.skip(f"no PostgreSQL server binaries found (searched: {searched_text})")

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        taken_port = int(taken.getsockname()[1])
        # The first port handed out is already listening, as if another
        # process had bound it between the pick and the server's start.
        ports = iter([taken_port])
        pick_free_port = script.pick_free_port
        monkeypatch.setattr(
            script, "pick_free_port", lambda: next(ports, None) or pick_free_port()
        )

        url, datadir = script.start_throwaway_cluster(bindir)
        try:
            port = int(str(conninfo_to_dict(url)["port"]))
            assert port != taken_port
            assert f"port {taken_port} was taken" in caplog.text
            with psycopg.connect(url, connect_timeout=5) as connection:
                row = connection.execute("SELECT inet_server_port()").fetchone()
            assert row == (port,)
        finally:
            script.stop_throwaway_cluster(datadir)

    assert not datadir.parent.exists()
