"""Fixtures that run the real relay as subprocesses against a receiver."""

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.receiver import Receiver, running_receiver


class RelayProcess:
    """A `relay run` subprocess whose log goes to a file."""

    def __init__(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    def log(self) -> str:
        """Return everything the relay logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 20.0) -> int:
        """Send SIGTERM and wait for the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise

    def worker_pids(self) -> list[int]:
        """Return the pids of the worker processes, from the start log lines."""
        return [
            int(pid)
            for pid in re.findall(r"started worker-\d+ \(pid (\d+)\)", self.log())
        ]


def relay_environment(database_url: str, **overrides: str) -> dict[str, str]:
    """Return the environment for a relay subprocess with fast test timings."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
            "WEBHOOKS_RETRY_DELAYS": "200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms",
            "WEBHOOKS_TIMEOUT": "2",
        }
    )
    env.update(overrides)
    return env


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Return a scripted receiver on 127.0.0.1."""
    with running_receiver() as running:
        yield running


@pytest.fixture
def start_relay(
    database_url: str, tmp_path: Path
) -> Iterator[Callable[..., RelayProcess]]:
    """Return a function that starts `relay run`; all are stopped at teardown."""
    started: list[RelayProcess] = []

    def start(workers: int = 1, concurrency: int = 8, **env: str) -> RelayProcess:
        log_path = tmp_path / f"relay-{len(started) + 1}.log"
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "relay",
                "run",
                "--workers",
                str(workers),
                "--concurrency",
                str(concurrency),
            ],
            env=relay_environment(database_url, **env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            # Its own process group, so a test can send Ctrl-C to all of it.
            start_new_session=True,
        )
        log_file.close()
        relay = RelayProcess(process, log_path)
        started.append(relay)
        return relay

    yield start
    for relay in started:
        if relay.process.poll() is None:
            relay.process.kill()
            relay.process.wait(10)


def add_webhook(
    db: psycopg.Connection,
    url: str,
    codes: list[str],
    *,
    enabled: bool = True,
    secret: str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
) -> str:
    """Insert a webhook straight into the table and return its id."""
    row = db.execute(
        "INSERT INTO webhooks.webhook (name, url, event_codes, enabled, secret)"
        " VALUES ('test', %s, %s, %s, %s) RETURNING id",
        (url, codes, enabled, secret),
    ).fetchone()
    assert row is not None
    return str(row[0])


def wait_until(
    condition: Callable[[], bool], timeout: float = 15.0, step: float = 0.05
) -> None:
    """Poll condition until it holds; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


def scalar(db: psycopg.Connection, query: str, *params: object) -> object:
    """Return the first column of the first row of a query."""
    row = db.execute(query, params).fetchone()
    assert row is not None
    return row[0]
