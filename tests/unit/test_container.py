"""The Dockerfile and docker-compose.yml, checked without Docker."""

import json
import re
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())


def _dockerfile() -> str:
    return (PROJECT_ROOT / "Dockerfile").read_text()


def test_compose_has_expected_services() -> None:
    services = _compose()["services"]

    assert set(services) == {"postgres", "migrate", "api", "relay"}
    assert services["migrate"]["command"] == ["relay", "migrate"]
    assert services["relay"]["command"][:2] == ["relay", "run"]
    assert services["api"]["command"][0] == "gunicorn"


def test_compose_starts_after_migrate() -> None:
    services = _compose()["services"]

    assert services["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"}
    }
    for name in ("api", "relay"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }, name


def test_compose_healthchecks_and_ports() -> None:
    services = _compose()["services"]

    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    assert "/health" in services["api"]["healthcheck"]["test"][-1]
    assert "/metrics" in services["relay"]["healthcheck"]["test"][-1]
    assert services["relay"]["environment"]["WEBHOOKS_METRICS_PORT"] == "9120"
    # Published on the host's loopback only.
    for name in ("api", "relay"):
        for port in services[name]["ports"]:
            assert port.startswith("127.0.0.1:"), (name, port)


def test_compose_api_command_matches_dockerfile() -> None:
    match = re.search(r"^CMD (\[.*\])$", _dockerfile(), re.MULTILINE)
    assert match is not None

    assert json.loads(match.group(1)) == _compose()["services"]["api"]["command"]


def test_dockerfile_multi_stage_non_root() -> None:
    dockerfile = _dockerfile()
    stages = re.findall(r"^FROM \S+ AS (\w+)$", dockerfile, re.MULTILINE)
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)

    assert stages == ["builder", "runtime"]
    assert users == ["webhooks"]
    assert "pip wheel" in dockerfile
    assert "pip install /wheels/*.whl" in dockerfile


def test_dockerignore_lets_copied_files_in() -> None:
    allowed = {
        line[1:].rstrip("/")
        for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copied = {
        source.rstrip("/")
        for line in re.findall(r"^COPY (?!--from)(.+)$", _dockerfile(), re.MULTILINE)
        for source in line.split()[:-1]
    }

    assert copied
    assert copied <= allowed, copied - allowed
    for source in copied:
        assert (PROJECT_ROOT / source).exists(), source
