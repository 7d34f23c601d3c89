"""Runs of the relay itself: drain a backlog, keep up with live emits, idle.

Each run starts ``relay run`` as its own process tree on a fresh database,
exactly as an operator would, and watches the instances' states.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.cpu import backend_pids, process_cpu_seconds, total_cpu_seconds
from bench.database import (
    add_webhooks,
    cost_per_delivery,
    cost_snapshot,
    fresh_database,
    wait_until_zero,
)
from bench.figures import latency_percentiles
from bench.receiver import ReceiverProcess
from bench.work import EVENT_CODE, PAYLOAD
from relay.migrate import migrate
from relay.store.events import emit

_UNFINISHED = "SELECT count(*) FROM webhooks.instance WHERE state <> 'success'"


@dataclass(frozen=True)
class RelayShape:
    """Processes and requests in flight of one relay, and its webhooks."""

    workers: int
    concurrency: int
    webhooks: int


def prepare(url: str, receiver: ReceiverProcess, webhooks: int) -> None:
    """Migrate the database and add webhooks listening to the benchmark's event."""
    migrate(url)
    with psycopg.connect(url, autocommit=True) as connection:
        add_webhooks(connection, webhooks, lambda n: receiver.url(f"/relay/{n}"))


def emit_events(url: str, count: int, *, clients: int = 1) -> dict[int, float]:
    """Emit count events, each in its own transaction, from clients threads.

    Returns the time.time() right after each event's commit returned.
    """
    committed: dict[int, float] = {}

    def emit_share(share: int) -> None:
        with psycopg.connect(url) as connection:
            for _ in range(share):
                event_id = emit(connection, EVENT_CODE, PAYLOAD)
                connection.commit()
                committed[event_id] = time.time()

    shares = [count // clients + (n < count % clients) for n in range(clients)]
    threads = [threading.Thread(target=emit_share, args=(s,)) for s in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return committed


def emit_at_rate(url: str, rate: float, duration: float) -> dict[int, float]:
    """Emit events one at a time at rate per second for duration seconds."""
    committed: dict[int, float] = {}
    interval = 1 / rate
    started = time.monotonic()
    with psycopg.connect(url) as connection:
        for number in range(int(rate * duration)):
            time.sleep(max(0.0, started + number * interval - time.monotonic()))
            event_id = emit(connection, EVENT_CODE, PAYLOAD)
            connection.commit()
            committed[event_id] = time.time()
    return committed


class RelayProcess:
    """A ``relay run`` process tree started for one run."""

    def __init__(self, url: str, shape: RelayShape) -> None:
        environment = {
            **os.environ,
            "DATABASE_URL": url,
            # The receiver listens on loopback, which the guard rejects.
            "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "relay",
                "--log-level",
                "WARNING",
                "run",
                "--workers",
                str(shape.workers),
                "--concurrency",
                str(shape.concurrency),
            ],
            env=environment,
            start_new_session=True,
        )

    def peak_rss_mb(self) -> float:
        """Return the largest peak resident memory of one worker process, in MB."""
        peaks = [_peak_rss_mb(pid) for pid in _worker_pids(self.process.pid)]
        return max(peaks, default=0.0)

    def stop(self) -> None:
        """Stop the relay the way an operator does, with SIGTERM."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            raise RuntimeError("the relay did not stop within 30 s") from None


@dataclass(frozen=True)
class _CpuSnapshot:
    """CPU seconds used so far, and the instances finished so far."""

    relay: float
    database: float
    receiver: float
    finished: int


def _cpu_snapshot(
    url: str,
    relay: RelayProcess,
    receiver: ReceiverProcess,
    shape: RelayShape,
    timeout: float,
) -> _CpuSnapshot:
    """Read the CPU time of the relay, its backends and the receiver.

    Waits until every worker has opened its two connections (claim and
    listen), so that the backends read are the relay's.
    """
    deadline = time.monotonic() + timeout
    while True:
        backends = backend_pids(url)
        if len(backends) >= 2 * shape.workers:
            break
        if time.monotonic() > deadline:
            raise TimeoutError("the relay's workers did not connect in time")
        time.sleep(0.05)
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM webhooks.instance WHERE state = 'success'"
        ).fetchone()
    assert row is not None
    relay_pids = [relay.process.pid, *_worker_pids(relay.process.pid)]
    return _CpuSnapshot(
        relay=total_cpu_seconds(relay_pids),
        database=total_cpu_seconds(backends),
        receiver=process_cpu_seconds(receiver.process.pid),
        finished=int(row[0]),
    )


def _worker_pids(supervisor_pid: int) -> list[int]:
    children = Path(f"/proc/{supervisor_pid}/task/{supervisor_pid}/children")
    pids = [int(pid) for pid in children.read_text().split()]
    return [
        pid
        for pid in pids
        if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _instance_events(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT id::text, event_id FROM webhooks.instance"
        ).fetchall()
    return {instance_id: event_id for instance_id, event_id in rows}


def _measured(instances: dict[str, int], committed: dict[int, float]) -> dict[str, int]:
    """Keep the instances of the measured events, dropping the warm-up's."""
    return {
        instance_id: event_id
        for instance_id, event_id in instances.items()
        if event_id in committed
    }


def _check_all_arrived(arrivals: dict[str, float], instances: dict[str, int]) -> None:
    missing = instances.keys() - arrivals.keys()
    if missing:
        raise RuntimeError(f"relay: {len(missing)} instances never arrived")


def _latencies(
    arrivals: dict[str, float], instances: dict[str, int], committed: dict[int, float]
) -> list[float]:
    return [
        arrivals[instance_id] - committed[event_id]
        for instance_id, event_id in instances.items()
    ]


def _warm_up(url: str, receiver: ReceiverProcess, timeout: float) -> None:
    """Deliver one event so that the workers are up before measuring."""
    emit_events(url, 1)
    wait_until_zero(url, _UNFINISHED, timeout=timeout)
    receiver.take_arrivals()


def run_drain(
    receiver: ReceiverProcess, shape: RelayShape, *, events: int, timeout: float
) -> dict[str, float]:
    """Emit events first, then start the relay and time until all succeed."""
    with fresh_database("relay") as url:
        prepare(url, receiver, shape.webhooks)
        emit_events(url, events)
        instances = _instance_events(url)
        before = cost_snapshot(url)

        relay = RelayProcess(url, shape)
        try:
            cpu_start = _cpu_snapshot(url, relay, receiver, shape, timeout)
            done = wait_until_zero(url, _UNFINISHED, timeout=timeout)
            cpu_end = _cpu_snapshot(url, relay, receiver, shape, timeout)
            peak_rss = relay.peak_rss_mb()
        finally:
            relay.stop()
        after = cost_snapshot(url)

        arrivals = receiver.take_arrivals()
        _check_all_arrived(arrivals, instances)
        first = min(arrivals.values())
        measured = cpu_end.finished - cpu_start.finished
        if measured == 0:
            # A run this short ended before the workers were connected, so
            # count every delivery and the relay's CPU time since it
            # started, start-up included.
            cpu_start = _CpuSnapshot(
                relay=0.0, database=0.0, receiver=cpu_start.receiver, finished=0
            )
            measured = cpu_end.finished
        return {
            "deliveries_per_second": len(instances) / (done - first),
            **{
                f"{part}_cpu_ms_per_delivery": (
                    (getattr(cpu_end, part) - getattr(cpu_start, part))
                    * 1000
                    / measured
                )
                for part in ("relay", "database", "receiver")
            },
            "peak_rss_mb_per_worker": peak_rss,
            **cost_per_delivery(url, before, after, len(instances)),
        }


def run_live(
    receiver: ReceiverProcess,
    shape: RelayShape,
    *,
    events: int,
    emit_clients: int,
    timeout: float,
) -> dict[str, float]:
    """Emit events while the relay runs; time until all succeed and latency."""
    with fresh_database("relay_live") as url:
        prepare(url, receiver, shape.webhooks)
        relay = RelayProcess(url, shape)
        try:
            _warm_up(url, receiver, timeout)
            started = time.time()
            committed = emit_events(url, events, clients=emit_clients)
            done = wait_until_zero(url, _UNFINISHED, timeout=timeout)
        finally:
            relay.stop()

        instances = _measured(_instance_events(url), committed)
        arrivals = receiver.take_arrivals()
        _check_all_arrived(arrivals, instances)
        latencies = _latencies(arrivals, instances, committed)
        return {
            "deliveries_per_second": len(latencies) / (done - started),
            **latency_percentiles(latencies),
        }


def run_idle(
    receiver: ReceiverProcess,
    shape: RelayShape,
    *,
    rate: float,
    duration: float,
    timeout: float,
) -> dict[str, float]:
    """Emit events at a low steady rate to one webhook; return the latency."""
    with fresh_database("relay_idle") as url:
        prepare(url, receiver, 1)
        relay = RelayProcess(url, shape)
        try:
            _warm_up(url, receiver, timeout)
            committed = emit_at_rate(url, rate, duration)
            wait_until_zero(url, _UNFINISHED, timeout=timeout)
        finally:
            relay.stop()

        instances = _measured(_instance_events(url), committed)
        arrivals = receiver.take_arrivals()
        _check_all_arrived(arrivals, instances)
        return latency_percentiles(_latencies(arrivals, instances, committed))
