"""Fixtures for fault tests: a private PostgreSQL cluster the test may restart.

The machine's shared server is never restarted: a fault test starts its own
throwaway cluster with scripts/postgres.py, as an unprivileged user, on its
own port and socket directory, and removes it afterwards.
"""

import importlib.util
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from psycopg.conninfo import conninfo_to_dict

from relay.migrate import migrate
from tests.end_to_end.conftest import receiver, start_relay

_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres.py"


def _postgres_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("postgres_script", _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["postgres_script"] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class PrivateCluster:
    """A throwaway cluster with a migrated database that a test may restart."""

    url: str
    datadir: Path
    script: ModuleType

    def restart(self, down_seconds: float = 1.0) -> None:
        """Stop the server, wait, and start it again on the same port.

        pg_ctl restart would leave the new server holding this process's
        output pipes, so the server is stopped and started as the script
        starts it, with its log in a file.
        """
        cluster = self.script.read_marker(self.datadir)
        stopped = self.script.pg_ctl(cluster, "--mode=fast", "--wait", "stop")
        assert stopped.returncode == 0, stopped.stderr
        time.sleep(down_seconds)
        port = conninfo_to_dict(self.url)["port"]
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} "
            f"-k {shlex.quote(str(cluster.socket_dir))} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        started = self.script.pg_ctl(
            cluster, "--log", str(cluster.logfile), "--wait", "-o", options, "start"
        )
        assert started.returncode == 0, started.stderr


@pytest.fixture
def private_cluster() -> Iterator[PrivateCluster]:
    """Start a private cluster, migrate it, and remove it after the test."""
    script = _postgres_script()
    bindir, _searched = script.find_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries are installed")
    url, datadir = script.start_throwaway_cluster(bindir)
    try:
        migrate(url)
        yield PrivateCluster(url=url, datadir=datadir, script=script)
    finally:
        script.stop_throwaway_cluster(datadir)


__all__ = ["PrivateCluster", "private_cluster", "receiver", "start_relay"]
