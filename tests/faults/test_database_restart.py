"""The relay outlives a database restart and loses nothing."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.faults.conftest import PrivateCluster
from tests.integration.api_client import api_client
from tests.receiver import Response, running_receiver

pytestmark = pytest.mark.faults


def _stat_fields(pid: int) -> list[str]:
    # The fields after the command name, which may contain spaces.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu_seconds(pid: int) -> float:
    """Return the CPU time of a process and its direct children so far."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat_fields(int(entry.name))[1]) == pid:
                    pids.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    ticks = 0
    for process in pids:
        try:
            fields = _stat_fields(process)
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _count_success(url: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=2) as connection:
            row = connection.execute(
                "SELECT count(*) FROM webhooks.instance WHERE state = 'success'"
            ).fetchone()
    except psycopg.OperationalError:
        return -1
    return int(row[0]) if row else 0


def test_relay_survives_database_restart(
    private_cluster: PrivateCluster, tmp_path: Path
) -> None:
    url = private_cluster.url
    log_path = tmp_path / "relay.log"
    with running_receiver() as receiver, psycopg.connect(url, autocommit=True) as db:
        receiver.script("/hook", Response(204, delay=0.02))
        db.execute(
            "INSERT INTO webhooks.webhook (name, url, event_codes, enabled, secret)"
            " VALUES ('w', %s, '{order.created}', true, 'whsec_dGVzdA==')",
            (receiver.url(),),
        )
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
            "WEBHOOKS_RETRY_DELAYS": "200ms",
            "WEBHOOKS_TIMEOUT": "2",
        }
        with log_path.open("wb") as log_file:
            relay = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "relay",
                    "run",
                    "--workers",
                    "2",
                    "--concurrency",
                    "4",
                ],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            with db.transaction():
                for number in range(300):
                    db.execute(
                        "SELECT webhooks.emit('order.created', %s)",
                        (json.dumps({"n": number}),),
                    )
            receiver.wait_for(20, timeout=20)

            private_cluster.restart()
            restarted_at = time.monotonic()

            deadline = time.monotonic() + 60
            while _count_success(url) < 300 and time.monotonic() < deadline:
                time.sleep(0.2)
            recovery_seconds = time.monotonic() - restarted_at
            assert _count_success(url) == 300, relay_log(log_path)

            # Idle after the backlog: the relay polls once a second, no spinning.
            cpu_before = _cpu_seconds(relay.pid)
            time.sleep(3)
            idle_cpu = _cpu_seconds(relay.pid) - cpu_before
            assert idle_cpu < 0.5
        finally:
            relay.terminate()
            exit_code = relay.wait(20)

    log = relay_log(log_path)
    assert exit_code == 0, log
    delivered = [request.json()["id"] for request in receiver.requests]
    assert len(set(delivered)) == 300
    # Each worker reports the loss once and the recovery once.
    assert log.count("database connection lost") <= 2
    assert log.count("database connection restored") == log.count(
        "database connection lost"
    )
    print(
        f"backlog finished {recovery_seconds:.1f} s after the restart;"
        f" {len(delivered) - 300} duplicate deliveries; relay CPU while idle"
        f" {idle_cpu:.2f} s in 3 s"
    )


def relay_log(path: Path) -> str:
    return path.read_text(errors="replace")


def test_api_survives_database_restart(
    private_cluster: PrivateCluster, caplog: pytest.LogCaptureFixture
) -> None:
    with api_client(private_cluster.url) as client:
        assert client.get("/webhooks/count").status_code == 200

        private_cluster.restart()

        # The first request after the restart already gets a new connection.
        statuses = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            response = client.get("/webhooks/count")
            statuses.append(response.status_code)
            assert response.is_json
            if response.status_code == 200:
                break
            time.sleep(0.2)
    assert statuses[-1] == 200
    assert set(statuses) <= {200, 503}
    assert not any(record.levelname == "CRITICAL" for record in caplog.records)
    print(f"API after a database restart: statuses {statuses}")
