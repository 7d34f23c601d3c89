"""The operator commands: status, webhooks list|enable|disable, recover."""

import json
import os
import subprocess
import sys

import psycopg
import pytest


def _relay(
    database_url: str, *arguments: str, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relay", *arguments],
        env={**os.environ, "DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _webhook(
    db: psycopg.Connection, name: str, *, enabled: bool = True, failures: int = 0
) -> str:
    row = db.execute(
        "INSERT INTO webhooks.webhook"
        " (name, url, event_codes, enabled, successive_failure_count, secret)"
        " VALUES (%s, 'http://127.0.0.1:9/', '{order.created}', %s, %s,"
        " 'whsec_dGVzdA==') RETURNING id",
        (name, enabled, failures),
    ).fetchone()
    assert row is not None
    return str(row[0])


def _count(db: psycopg.Connection, query: str, *params: object) -> int:
    row = db.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def _log_lines(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def test_status_json_counts_queue(database_url: str, db: psycopg.Connection) -> None:
    _webhook(db, "shop")
    failing = _webhook(db, "erp", failures=3)
    off = _webhook(db, "crm", enabled=False)
    for _ in range(3):
        db.execute("SELECT webhooks.emit('order.created', '{}')")
    # Two of the six instances: one leased, one waiting for a retry in an hour.
    db.execute(
        "UPDATE webhooks.instance SET state = 'running',"
        " due_at = now() + interval '1 minute'"
        " WHERE id = (SELECT min(id::text)::uuid FROM webhooks.instance)"
    )
    db.execute(
        "UPDATE webhooks.instance SET state = 'failed',"
        " due_at = now() + interval '1 hour'"
        " WHERE id = (SELECT max(id::text)::uuid FROM webhooks.instance)"
    )
    db.execute(
        "UPDATE webhooks.instance SET due_at = now() - interval '90 seconds'"
        " WHERE state = 'new'"
    )

    result = _relay(database_url, "status", "--json")

    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["instances"] == {"new": 4, "running": 1, "failed": 1}
    assert status["due"] == 4
    assert status["held"] == 0
    assert 89 <= status["oldestDueAgeSeconds"] < 150
    assert [webhook["id"] for webhook in status["webhooks"]] == [off, failing]
    assert status["webhooks"][1]["successiveFailureCount"] == 3


def test_status_text_names_webhooks(database_url: str, db: psycopg.Connection) -> None:
    off = _webhook(db, "crm", enabled=False)

    result = _relay(database_url, "status")

    assert result.returncode == 0, result.stderr
    assert "oldest due   none due" in result.stdout
    assert "webhooks: 1 disabled, 0 failing" in result.stdout
    assert f"disabled  {off}" in result.stdout


def test_status_unreachable_database_exit_1() -> None:
    result = _relay("postgresql://postgres@127.0.0.1:1/none", "status")

    assert result.returncode == 1
    assert "Cannot connect to PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr


def test_webhooks_list_json(database_url: str, db: psycopg.Connection) -> None:
    first = _webhook(db, "shop")
    second = _webhook(db, "crm", enabled=False)

    result = _relay(database_url, "webhooks", "list", "--json")

    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {row["id"] for row in rows} == {first, second}
    assert {row["name"]: row["enabled"] for row in rows} == {
        "shop": True,
        "crm": False,
    }


def test_webhooks_list_text(database_url: str, db: psycopg.Connection) -> None:
    webhook_id = _webhook(db, "shop")

    result = _relay(database_url, "webhooks", "list")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{webhook_id}  enabled ")
    assert "shop  http://127.0.0.1:9/" in result.stdout


def test_webhooks_disable_holds_by_name(
    database_url: str, db: psycopg.Connection
) -> None:
    webhook_id = _webhook(db, "erp")
    db.execute("SELECT webhooks.emit('order.created', '{}')")

    result = _relay(database_url, "webhooks", "disable", "erp")

    assert result.returncode == 0, result.stderr
    assert f"webhook {webhook_id} (erp) disabled" in result.stdout
    assert _count(db, "SELECT count(*) FROM webhooks.webhook WHERE enabled") == 0
    assert _count(db, "SELECT count(*) FROM webhooks.instance WHERE held") == 1


def test_webhooks_enable_releases_by_id(
    database_url: str, db: psycopg.Connection
) -> None:
    webhook_id = _webhook(db, "erp", failures=20)
    db.execute("SELECT webhooks.emit('order.created', '{}')")
    db.execute("SELECT webhooks.set_webhook_enabled(%s, false)", (webhook_id,))
    assert _count(db, "SELECT count(*) FROM webhooks.instance WHERE held") == 1

    result = _relay(database_url, "webhooks", "enable", webhook_id)

    assert result.returncode == 0, result.stderr
    assert _count(db, "SELECT count(*) FROM webhooks.instance WHERE held") == 0
    assert (
        _count(db, "SELECT count(*) FROM webhooks.instance WHERE due_at <= now()") == 1
    )
    assert _count(db, "SELECT successive_failure_count FROM webhooks.webhook") == 0


@pytest.mark.parametrize("reference", ["nope", "3c9fb8a4-9d56-4f5e-9c3c-0b1d9e0f6a11"])
def test_webhooks_enable_unknown_exit_2(
    database_url: str, db: psycopg.Connection, reference: str
) -> None:
    result = _relay(database_url, "webhooks", "enable", reference)

    assert result.returncode == 2
    assert "not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_webhooks_ambiguous_name_exit_2(
    database_url: str, db: psycopg.Connection
) -> None:
    first = _webhook(db, "erp")
    second = _webhook(db, "erp")

    result = _relay(database_url, "webhooks", "disable", "erp")

    assert result.returncode == 2
    assert first in result.stderr
    assert second in result.stderr
    assert _count(db, "SELECT count(*) FROM webhooks.webhook WHERE enabled") == 2


def test_recover_creates_missed_instances(
    database_url: str, db: psycopg.Connection
) -> None:
    webhook_id = _webhook(db, "erp", enabled=False)
    db.execute("SELECT webhooks.emit('order.created', '{}')")
    db.execute("SELECT webhooks.emit('order.created', '{}')")
    db.execute(
        "UPDATE webhooks.outbox SET created_at = now() - interval '3 hours'"
        " WHERE id = (SELECT min(id) FROM webhooks.outbox)"
    )

    result = _relay(database_url, "recover", "erp", "--since", "2h")

    assert result.returncode == 0, result.stderr
    assert f"created 1 instances for webhook {webhook_id} (erp)" in result.stdout
    # The webhook is disabled, so the new instance waits, held.
    assert _count(db, "SELECT count(*) FROM webhooks.instance WHERE held") == 1

    again = _relay(database_url, "recover", webhook_id, "--since", "2000-01-01")

    assert again.returncode == 0, again.stderr
    assert "created 1 instances" in again.stdout
    assert _count(db, "SELECT count(*) FROM webhooks.instance") == 2


def test_recover_invalid_since_exit_2(
    database_url: str, db: psycopg.Connection
) -> None:
    _webhook(db, "erp")

    result = _relay(database_url, "recover", "erp", "--since", "yesterday")

    assert result.returncode == 2
    assert "invalid time 'yesterday'" in result.stderr


def test_recover_missing_since_exit_2(database_url: str) -> None:
    result = _relay(database_url, "recover", "erp")

    assert result.returncode == 2
    assert "--since" in result.stderr


@pytest.mark.parametrize(
    "arguments",
    [
        ("--log-format", "json", "webhooks", "disable", "erp"),
        ("webhooks", "disable", "erp", "--log-format", "json"),
    ],
)
def test_cli_json_log_lines_carry_ids(
    database_url: str, db: psycopg.Connection, arguments: tuple[str, ...]
) -> None:
    webhook_id = _webhook(db, "erp")

    result = _relay(database_url, *arguments)

    assert result.returncode == 0, result.stderr
    lines = _log_lines(result.stderr)
    assert len(lines) == 1
    assert lines[0]["level"] == "INFO"
    assert lines[0]["webhook_id"] == webhook_id
    assert lines[0]["message"] == f"webhook {webhook_id} disabled from the command line"


def test_cli_json_log_format_from_environment(
    database_url: str, db: psycopg.Connection
) -> None:
    webhook_id = _webhook(db, "erp", enabled=False)

    result = _relay(
        database_url, "webhooks", "enable", "erp", WEBHOOKS_LOG_FORMAT="json"
    )

    assert result.returncode == 0, result.stderr
    assert _log_lines(result.stderr)[0]["webhook_id"] == webhook_id


def test_cli_prune_without_terminal_no_bar(database_url: str) -> None:
    result = _relay(database_url, "prune")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "deleted 0 instances and 0 events\n"
    assert result.stderr == ""


@pytest.mark.parametrize(
    "command",
    [
        ("migrate",),
        ("run",),
        ("emit",),
        ("prune",),
        ("status",),
        ("webhooks",),
        ("webhooks", "list"),
        ("webhooks", "enable"),
        ("webhooks", "disable"),
        ("recover",),
    ],
)
def test_cli_help_states_exit_codes(command: tuple[str, ...]) -> None:
    result = _relay("", *command, "--help")

    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Exit codes: 0 success, 1 runtime failure" in text
    assert "2 invalid usage or configuration" in text


def test_cli_unknown_option_exit_2(database_url: str) -> None:
    result = _relay(database_url, "status", "--colour")

    assert result.returncode == 2
    assert "No such option" in result.stderr
