"""Emit: fan-out inside the caller's transaction."""

import psycopg
import pytest

from relay.errors import InvalidInput
from relay.store.events import emit


def _add_webhook(
    db: psycopg.Connection, codes: list[str], *, enabled: bool = True
) -> str:
    row = db.execute(
        "INSERT INTO webhooks.webhook (name, url, event_codes, enabled, secret)"
        " VALUES ('w', 'http://127.0.0.1:9/', %s, %s, 'whsec_dGVzdA==') RETURNING id",
        (codes, enabled),
    ).fetchone()
    assert row is not None
    return str(row[0])


def _instance_count(db: psycopg.Connection) -> int:
    row = db.execute("SELECT count(*) FROM webhooks.instance").fetchone()
    assert row is not None
    return int(row[0])


def test_emit_creates_one_instance_per_enabled_subscriber(
    db: psycopg.Connection,
) -> None:
    _add_webhook(db, ["order.created"])
    _add_webhook(db, ["order.created", "order.updated"])
    _add_webhook(db, ["order.created"], enabled=False)
    _add_webhook(db, ["product.created"])

    db.execute("SELECT webhooks.emit('order.created', '{\"id\": 1}')")

    assert _instance_count(db) == 2


def test_emit_plain_insert_fans_out(db: psycopg.Connection) -> None:
    _add_webhook(db, ["invoice.created"])

    db.execute(
        "INSERT INTO webhooks.outbox (event_code, payload)"
        " VALUES ('invoice.created', '{}')"
    )

    assert _instance_count(db) == 1


def test_emit_rollback_leaves_nothing(
    database_url: str, db: psycopg.Connection
) -> None:
    _add_webhook(db, ["order.created"])

    with psycopg.connect(database_url) as connection:
        emit(connection, "order.created", {"id": 1})
        connection.rollback()

    assert _instance_count(db) == 0
    row = db.execute("SELECT count(*) FROM webhooks.outbox").fetchone()
    assert row == (0,)


def test_emit_unknown_code_names_it(db: psycopg.Connection) -> None:
    with pytest.raises(InvalidInput, match=r"order\.exploded"):
        emit(db, "order.exploded", {})


def test_emit_sql_unknown_code_raises_sqlstate(db: psycopg.Connection) -> None:
    with pytest.raises(psycopg.Error) as caught:
        db.execute("SELECT webhooks.emit('nope.nothing', '{}')")

    assert caught.value.sqlstate == "WH422"
    assert "nope.nothing" in str(caught.value)


def test_emit_payload_must_be_object(db: psycopg.Connection) -> None:
    with pytest.raises(InvalidInput, match="JSON object"):
        emit(db, "order.created", [1, 2])


def test_emit_new_instance_counts_configured_retries(db: psycopg.Connection) -> None:
    _add_webhook(db, ["order.created"])

    emit(db, "order.created", {})

    row = db.execute(
        "SELECT state, remaining_retries FROM webhooks.instance"
    ).fetchone()
    assert row == ("new", 8)


# The largest payload accepted: 262144 bytes of JSON text.
_MAX_PAYLOAD_BYTES = 256 * 1024


def _payload_of_size(size: int) -> dict[str, str]:
    """Return an object whose JSON text, as PostgreSQL writes it, is size bytes."""
    # jsonb prints {"data": "..."} with one space after the colon.
    return {"data": "x" * (size - len('{"data": ""}'))}


def test_emit_payload_at_limit_accepted(db: psycopg.Connection) -> None:
    _add_webhook(db, ["order.created"])

    emit(db, "order.created", _payload_of_size(_MAX_PAYLOAD_BYTES))

    assert _instance_count(db) == 1


def test_emit_payload_over_limit_rejected(db: psycopg.Connection) -> None:
    _add_webhook(db, ["order.created"])

    with pytest.raises(InvalidInput, match=r"is 262145 bytes of JSON; the limit"):
        emit(db, "order.created", _payload_of_size(_MAX_PAYLOAD_BYTES + 1))

    assert _instance_count(db) == 0


def test_emit_plain_insert_over_limit_raises_sqlstate(db: psycopg.Connection) -> None:
    big = _payload_of_size(10 * 1024 * 1024)

    with pytest.raises(psycopg.Error) as raised:
        db.execute(
            "INSERT INTO webhooks.outbox (event_code, payload) VALUES (%s, %s)",
            ("order.created", psycopg.types.json.Jsonb(big)),
        )

    assert raised.value.sqlstate == "WH422"
    row = db.execute("SELECT count(*) FROM webhooks.outbox").fetchone()
    assert row == (0,)
