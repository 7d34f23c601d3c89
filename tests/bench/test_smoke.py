"""Run the whole benchmark at a tiny size, so that it keeps working.

The figures of such a short run mean nothing. The tests check that every
part ran, that every system delivered every job (the benchmark raises
otherwise) and that the report has the shape docs/benchmarks.md reads.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.bench]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    output = tmp_path_factory.mktemp("bench") / "report.json"
    environment = dict(os.environ)
    server = os.environ.get("WEBHOOKS_TEST_DATABASE_URL")
    if server:
        environment["DATABASE_URL"] = server
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "run",
            "--rounds=1",
            "--events=20",
            "--idle-seconds=1",
            "--emit-seconds=1",
            "--backlog",
            "1000",
            "2000",
            "--timeout=60",
            f"--output={output}",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "| throughput | relay / ceiling |" in completed.stdout
    return json.loads(output.read_text())


def test_smoke_measures_every_system(report: dict) -> None:
    throughput = report["figures"]["throughput"]
    for rate in (
        "ceiling rate",
        "relay drain deliveries_per_second",
        "relay live deliveries_per_second",
        "pgqueuer deliveries_per_second",
        "procrastinate deliveries_per_second",
    ):
        assert throughput[rate]["median"] > 0, rate


def test_smoke_counts_database_cost(report: dict) -> None:
    throughput = report["figures"]["throughput"]
    # Every system commits at least once per batch of claimed jobs.
    for system in ("relay drain", "pgqueuer", "procrastinate"):
        assert throughput[f"{system} commits_per_delivery"]["median"] > 0, system
    assert 0 < throughput["relay drain peak_rss_mb_per_worker"]["median"] < 1000


def test_smoke_measures_latency(report: dict) -> None:
    idle = report["figures"]["idle"]
    assert 0 < idle["p50"]["median"] <= idle["p99"]["median"]
    live = report["figures"]["throughput"]
    assert 0 < live["relay live p50"]["median"] <= live["relay live p99"]["median"]


def test_smoke_measures_emit_cost(report: dict) -> None:
    emit = report["figures"]["emit"]
    assert emit["one-row insert: no emit share"]["median"] == 1
    assert emit["one-row insert: emit, 10 webhooks tps"]["median"] > 0
    assert emit["order with 3 lines: naive pg_notify tps"]["median"] > 0


def test_smoke_measures_backlog(report: dict) -> None:
    for size in ("1000", "2000"):
        backlog = report["figures"][f"backlog {size}"]
        assert backlog["claim_ms"]["median"] > 0
        assert backlog["count_pending_ms"]["median"] > 0


def test_smoke_describes_machine(report: dict) -> None:
    machine = report["machine"]
    assert machine["nproc"] >= 1
    assert "synchronous_commit" in machine["postgresql_settings"]
