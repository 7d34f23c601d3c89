"""The API under gunicorn with gunicorn.conf.py, as the container runs it."""

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.end_to_end.conftest import wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ops-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ApiServer:
    """A gunicorn master whose log goes to a file."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path):
        self.process = process
        self.port = port
        self.log_path = log

    def get(self, path: str, token: str | None = None) -> tuple[int, str]:
        """Send a GET and return the status and body."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def log(self) -> str:
        """Return what gunicorn and the app logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def api_server(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    """Start `gunicorn -c gunicorn.conf.py wsgi:app` on 127.0.0.1."""
    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    environment = {
        key: value
        for key, value in os.environ.items()
        if key != "PROMETHEUS_MULTIPROC_DIR"
    }
    environment.update(
        {
            "DATABASE_URL": database_url,
            "WEBHOOKS_API_TOKENS": f"ops:{TOKEN}",
            "WEB_CONCURRENCY": "2",
        }
    )
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "wsgi:app",
            ],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = ApiServer(process, port, log_path)
    try:
        wait_until(lambda: _answers(server), timeout=30, step=0.2)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _answers(server: ApiServer) -> bool:
    assert server.process.poll() is None, server.log()
    try:
        return server.get("/health")[0] == 200
    except OSError:
        return False


def _request_count(server: ApiServer, **labels: str) -> float:
    status, text = server.get("/metrics")
    assert status == 200
    wanted = tuple(sorted(labels.items()))
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "webhooks_api_requests_total" and (
                tuple(sorted(sample.labels.items())) == wanted
            ):
                return sample.value
    return 0.0


def _worker_pids(server: ApiServer) -> set[int]:
    return {
        int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", server.log())
    }


def test_api_server_serves_health_and_metrics(api_server: ApiServer) -> None:
    for _ in range(12):
        assert api_server.get("/webhooks", TOKEN)[0] == 200
    assert api_server.get("/webhooks")[0] == 401

    ok = _request_count(api_server, method="GET", route="/webhooks", status="200")
    rejected = _request_count(api_server, method="GET", route="/webhooks", status="401")

    assert ok == 12
    assert rejected == 1
    assert _request_count(api_server, method="GET", route="/health", status="200") >= 1
    assert "summing the workers' metrics in" in api_server.log()


def test_api_server_metrics_survive_worker_exit(api_server: ApiServer) -> None:
    for _ in range(6):
        assert api_server.get("/webhooks", TOKEN)[0] == 200
    wait_until(lambda: len(_worker_pids(api_server)) == 2)
    first_workers = _worker_pids(api_server)

    for pid in first_workers:
        os.kill(pid, signal.SIGKILL)
    # The master replaces both; the counters of the dead ones stay summed.
    wait_until(lambda: len(_worker_pids(api_server)) == 4, timeout=30)
    wait_until(lambda: _answers(api_server), timeout=30)

    count = _request_count(api_server, method="GET", route="/webhooks", status="200")
    assert count == 6


def test_api_server_removes_its_metrics_directory(
    api_server: ApiServer,
) -> None:
    match = re.search(r"summing the workers' metrics in (\S+)", api_server.log())
    assert match is not None
    directory = Path(match.group(1))
    assert directory.is_dir()

    api_server.process.send_signal(signal.SIGTERM)
    assert api_server.process.wait(20) == 0

    assert not directory.exists()


def test_api_server_passes_compose_healthcheck(api_server: ApiServer) -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["api"]["healthcheck"]["test"]
    assert command[:2] == ["CMD", "python"]
    # The container's port 8000 is this test server's port.
    arguments = [part.replace(":8000/", f":{api_server.port}/") for part in command[2:]]

    probe = subprocess.run(
        [sys.executable, *arguments], capture_output=True, text=True, timeout=30
    )

    assert probe.returncode == 0, probe.stderr
