"""The relay command line: exit codes, messages, emit and prune."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest


def _relay(
    database_url: str, *arguments: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relay", *arguments],
        input=stdin,
        env={**os.environ, "DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _webhook(db: psycopg.Connection) -> None:
    db.execute(
        "INSERT INTO webhooks.webhook (name, url, event_codes, enabled, secret)"
        " VALUES ('w', 'http://127.0.0.1:9/', '{order.created}', true,"
        " 'whsec_dGVzdA==')"
    )


def test_cli_emit_from_stdin(database_url: str, db: psycopg.Connection) -> None:
    _webhook(db)

    result = _relay(
        database_url, "emit", "order.created", "--payload", "-", stdin='{"id": 1}'
    )

    assert result.returncode == 0, result.stderr
    assert "emitted to 1 webhook" in result.stdout
    assert "emitted to 1 webhooks" not in result.stdout
    row = db.execute("SELECT payload FROM webhooks.outbox").fetchone()
    assert row == ({"id": 1},)


def test_cli_emit_from_file(
    database_url: str, db: psycopg.Connection, tmp_path: Path
) -> None:
    payload = tmp_path / "order.json"
    payload.write_text(json.dumps({"orderNumber": "1"}))

    result = _relay(database_url, "emit", "order.created", "--payload", str(payload))

    assert result.returncode == 0, result.stderr
    assert "emitted to 0 webhooks" in result.stdout


def test_cli_emit_unknown_code_exit_2(
    database_url: str, db: psycopg.Connection
) -> None:
    result = _relay(database_url, "emit", "order.lost", "--payload", "-", stdin="{}")

    assert result.returncode == 2
    assert "Unknown event code 'order.lost'" in result.stderr
    assert db.execute("SELECT count(*) FROM webhooks.outbox").fetchone() == (0,)


def test_cli_emit_payload_too_large_exit_2(
    database_url: str, db: psycopg.Connection
) -> None:
    payload = json.dumps({"data": "x" * (300 * 1024)})

    result = _relay(
        database_url, "emit", "order.created", "--payload", "-", stdin=payload
    )

    assert result.returncode == 2
    assert "the limit is 262144 bytes (256 KiB)" in result.stderr
    assert db.execute("SELECT count(*) FROM webhooks.outbox").fetchone() == (0,)


def test_cli_emit_invalid_json_exit_2(database_url: str) -> None:
    result = _relay(
        database_url, "emit", "order.created", "--payload", "-", stdin="{nope"
    )

    assert result.returncode == 2
    assert "not valid JSON" in result.stderr


def test_cli_bad_setting_exit_2(database_url: str) -> None:
    result = _relay(database_url, "migrate", WEBHOOKS_TIMEOUT="abc")

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "WEBHOOKS_TIMEOUT" in result.stderr


def test_cli_unreachable_database_exit_1() -> None:
    result = _relay(
        "postgresql://postgres:pw@127.0.0.1:1/none",
        "emit",
        "order.created",
        "--payload",
        "-",
        stdin="{}",
    )

    assert result.returncode == 1
    assert "Cannot connect to PostgreSQL" in result.stderr
    assert "pw" not in result.stderr


@pytest.mark.parametrize(
    "payload", ['{"a": "\\u0000"}', '{"a": "\\ud800"}', '{"a": NaN}']
)
def test_cli_emit_unstorable_payload_exit_2(
    database_url: str, db: psycopg.Connection, payload: str
) -> None:
    result = _relay(
        database_url, "emit", "order.created", "--payload", "-", stdin=payload
    )

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert db.execute("SELECT count(*) FROM webhooks.outbox").fetchone() == (0,)


@pytest.mark.parametrize("command", ["migrate", "prune"])
def test_cli_malformed_database_url_one_line(command: str) -> None:
    result = _relay("garbage", command)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "DATABASE_URL is not a valid connection string" in result.stderr


def test_cli_prune_deletes_old_finished_rows(
    database_url: str, db: psycopg.Connection
) -> None:
    _webhook(db)
    db.execute("SELECT webhooks.emit('order.created', '{}')")
    db.execute("SELECT webhooks.emit('order.created', '{}')")
    db.execute(
        "UPDATE webhooks.instance SET state = 'success', due_at = NULL,"
        " updated_at = now() - interval '31 days'"
        " WHERE id = (SELECT min(id::text)::uuid FROM webhooks.instance)"
    )
    db.execute("UPDATE webhooks.outbox SET created_at = now() - interval '8 days'")

    result = _relay(database_url, "prune")

    assert result.returncode == 0, result.stderr
    assert "deleted 1 instances and 1 events" in result.stdout
    assert db.execute("SELECT count(*) FROM webhooks.instance").fetchone() == (1,)
    # The pending instance keeps its event even past the event retention.
    assert db.execute("SELECT count(*) FROM webhooks.outbox").fetchone() == (1,)


def test_cli_help_names_units(database_url: str) -> None:
    result = _relay(database_url, "run", "--help")

    assert result.returncode == 0
    help_text = " ".join(result.stdout.split())
    assert "Requests in flight at once in each worker process" in help_text
    assert "at most WEBHOOKS_TIMEOUT seconds" in help_text
