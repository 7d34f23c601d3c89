"""The commands in docs/operations.md run as written."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import psycopg

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _shell_lines() -> list[str]:
    """Return the command lines of the guide's sh blocks, without comments."""
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    return [
        line.split("  #")[0].strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip()
    ]


def _run(
    command: str, database_url: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    words = shlex.split(command)
    environment = {**os.environ, "DATABASE_URL": database_url}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        environment[name] = value
    assert words[0] == "relay", command
    return subprocess.run(
        [sys.executable, "-m", "relay", *words[1:], *extra],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_operations_guide_commands_run(
    database_url: str, db: psycopg.Connection
) -> None:
    db.execute(
        "INSERT INTO webhooks.webhook (name, url, event_codes, enabled, secret)"
        " VALUES ('shop', 'http://127.0.0.1:9/', '{order.created}', true,"
        " 'whsec_dGVzdA==')"
    )
    commands = [line for line in _shell_lines() if "relay " in line]
    assert len(commands) >= 10

    for command in commands:
        if " relay run" in f" {command}":
            # The daemon does not return; its options must parse.
            result = _run(command, database_url, "--help")
        else:
            result = _run(command, database_url)
        assert result.returncode == 0, (command, result.stderr)
