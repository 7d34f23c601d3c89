"""The SQL state functions: claims, results, retries, enable and cancel."""

import threading
import uuid
from datetime import timedelta

import psycopg
import pytest

from relay import leases
from relay.delivery import Outcome
from relay.errors import Conflict, NotFound
from relay.store import queue
from relay.store.maintenance import configure

LEASE = timedelta(seconds=15)


def _webhook(
    db: psycopg.Connection, codes: tuple[str, ...] = ("order.created",)
) -> str:
    row = db.execute(
        "INSERT INTO webhooks.webhook (name, url, event_codes, enabled, secret)"
        " VALUES ('w', 'http://127.0.0.1:9/', %s, true, 'whsec_dGVzdA==') RETURNING id",
        (list(codes),),
    ).fetchone()
    assert row is not None
    return str(row[0])


def _emit(db: psycopg.Connection, count: int = 1, code: str = "order.created") -> None:
    for _ in range(count):
        db.execute("SELECT webhooks.emit(%s, '{}')", (code,))


def _fail(status: int = 500, **extra: object) -> Outcome:
    return Outcome(
        success=False,
        message=f"HTTP {status}",
        duration_ms=5,
        has_response=True,
        response_status=status,
        response_headers={},
        **extra,  # type: ignore[arg-type]
    )


def _ok() -> Outcome:
    return Outcome(
        success=True,
        message="HTTP 200 OK",
        duration_ms=5,
        has_response=True,
        response_status=200,
        response_headers={},
        response_body=None,
    )


def _record(
    db: psycopg.Connection,
    token: uuid.UUID,
    claims: list[queue.Claim],
    outcome: Outcome,
) -> list[queue.Recorded]:
    return queue.record_executions(
        db, token, [outcome.as_result(str(claim.instance_id)) for claim in claims]
    )


def _instance(db: psycopg.Connection) -> tuple[object, ...]:
    row = db.execute(
        "SELECT state, remaining_retries, execution_count, held, due_at IS NOT NULL"
        " FROM webhooks.instance"
    ).fetchone()
    assert row is not None
    return tuple(row)


def _make_due(db: psycopg.Connection) -> None:
    db.execute("UPDATE webhooks.instance SET due_at = now() WHERE due_at IS NOT NULL")


def test_claim_takes_due_instances_once(db: psycopg.Connection) -> None:
    _webhook(db)
    _emit(db, 5)

    first = queue.claim(db, 3, LEASE, uuid.uuid4())
    second = queue.claim(db, 10, LEASE, uuid.uuid4())

    assert len(first) == 3
    assert len(second) == 2
    assert not {c.instance_id for c in first} & {c.instance_id for c in second}
    assert queue.claim(db, 10, LEASE, uuid.uuid4()) == []


def test_claim_concurrent_connections_never_overlap(
    database_url: str, db: psycopg.Connection
) -> None:
    _webhook(db)
    _emit(db, 200)
    claimed: list[list[queue.Claim]] = [[], []]

    def claim_all(slot: int) -> None:
        with psycopg.connect(database_url, autocommit=True) as connection:
            for _ in range(100):
                batch = queue.claim(connection, 7, LEASE, uuid.uuid4())
                if not batch:
                    return
                claimed[slot].extend(batch)

    threads = [threading.Thread(target=claim_all, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    ids = [c.instance_id for batch in claimed for c in batch]
    assert len(ids) == 200
    assert len(set(ids)) == 200


def test_claim_locked_row_is_skipped(database_url: str, db: psycopg.Connection) -> None:
    _webhook(db)
    _emit(db, 2)

    with psycopg.connect(database_url) as holder:
        holder.execute(
            "SELECT id FROM webhooks.instance ORDER BY due_at LIMIT 1 FOR UPDATE"
        )
        claims = queue.claim(db, 10, LEASE, uuid.uuid4())
        holder.rollback()

    assert len(claims) == 1


def test_claim_skips_disabled_webhook(db: psycopg.Connection) -> None:
    webhook_id = _webhook(db)
    _emit(db)
    db.execute(
        "UPDATE webhooks.webhook SET enabled = false WHERE id = %s", (webhook_id,)
    )

    assert queue.claim(db, 10, LEASE, uuid.uuid4()) == []


def test_claim_expired_lease_is_claimed_again(db: psycopg.Connection) -> None:
    _webhook(db)
    _emit(db)
    first_token = uuid.uuid4()
    [first] = queue.claim(db, 1, timedelta(seconds=0), first_token)

    [again] = queue.claim(db, 1, LEASE, uuid.uuid4())

    assert again.instance_id == first.instance_id
    assert again.retry_number == 0
    # The first claim's late result no longer counts.
    assert _record(db, first_token, [first], _ok()) == []
    assert _instance(db)[0] == "running"


def test_claim_returns_payload_url_and_secrets(db: psycopg.Connection) -> None:
    webhook_id = _webhook(db)
    db.execute("SELECT webhooks.emit('order.created', '{\"orderNumber\": \"1\"}')")

    [claim] = queue.claim(db, 1, LEASE, uuid.uuid4())

    assert str(claim.webhook_id) == webhook_id
    assert claim.payload == {"orderNumber": "1"}
    assert claim.url == "http://127.0.0.1:9/"
    assert claim.secrets == ["whsec_dGVzdA=="]
    assert claim.event_code == "order.created"


def test_record_failure_schedules_retry_with_jitter(db: psycopg.Connection) -> None:
    _webhook(db)
    _emit(db)
    token = uuid.uuid4()
    claims = queue.claim(db, 1, LEASE, token)

    [decision] = _record(db, token, claims, _fail())

    assert decision.state == "failed"
    assert decision.remaining_retries == 8
    delay = db.execute("SELECT due_at - now() FROM webhooks.instance").fetchone()
    assert delay is not None
    assert timedelta(seconds=27) <= delay[0] <= timedelta(seconds=33)


def test_record_retry_uses_next_delay_and_decrements(db: psycopg.Connection) -> None:
    _webhook(db)
    _emit(db)
    for _ in range(2):
        _make_due(db)
        token = uuid.uuid4()
        _record(db, token, queue.claim(db, 1, LEASE, token), _fail())

    assert _instance(db) == ("failed", 7, 2, False, True)
    delay = db.execute("SELECT due_at - now() FROM webhooks.instance").fetchone()
    assert delay is not None
    assert timedelta(seconds=108) <= delay[0] <= timedelta(seconds=132)


def test_record_last_retry_failure_is_final(db: psycopg.Connection) -> None:
    configure(db, (timedelta(seconds=1),), 100)
    _webhook(db)
    _emit(db)
    for _ in range(2):
        _make_due(db)
        token = uuid.uuid4()
        _record(db, token, queue.claim(db, 1, LEASE, token), _fail())

    assert _instance(db) == ("failed", 0, 2, False, False)
    _make_due(db)
    assert queue.claim(db, 1, LEASE, uuid.uuid4()) == []


def test_record_retry_after_postpones_up_to_longest_delay(
    db: psycopg.Connection,
) -> None:
    _webhook(db)
    _emit(db, 2)
    token = uuid.uuid4()
    first, second = queue.claim(db, 2, LEASE, token)

    _record(db, token, [first], _fail(429, retry_after_seconds=600))
    _record(db, token, [second], _fail(503, retry_after_seconds=10**9))

    delays = dict(
        db.execute(
            "SELECT id, extract(epoch FROM due_at - now()) FROM webhooks.instance"
        ).fetchall()
    )
    assert 595 <= delays[first.instance_id] <= 605
    assert 12 * 3600 - 5 <= delays[second.instance_id] <= 12 * 3600 + 5


def test_record_success_resets_failure_count(db: psycopg.Connection) -> None:
    _webhook(db)
    _emit(db, 2)
    token = uuid.uuid4()
    first, second = queue.claim(db, 2, LEASE, token)
    _record(db, token, [first], _fail())
    assert db.execute(
        "SELECT successive_failure_count FROM webhooks.webhook"
    ).fetchone() == (1,)

    _record(db, token, [second], _ok())

    assert db.execute(
        "SELECT successive_failure_count FROM webhooks.webhook"
    ).fetchone() == (0,)


def test_record_response_forms_stored(db: psycopg.Connection) -> None:
    _webhook(db)
    _emit(db, 3)
    token = uuid.uuid4()
    claims = queue.claim(db, 3, LEASE, token)
    no_response = Outcome(success=False, message="Connection refused", duration_ms=1)
    empty = Outcome(
        success=True,
        message="HTTP 204 No Content",
        duration_ms=1,
        has_response=True,
        response_status=204,
        response_headers={},
    )
    text = Outcome(
        success=True,
        message="HTTP 200 OK",
        duration_ms=1,
        has_response=True,
        response_status=200,
        response_headers={"a": "b"},
        response_body="ok",
    )

    queue.record_executions(
        db,
        token,
        [
            no_response.as_result(str(claims[0].instance_id)),
            empty.as_result(str(claims[1].instance_id)),
            text.as_result(str(claims[2].instance_id)),
        ],
    )

    rows = dict(
        (row[0], row[1:])
        for row in db.execute(
            "SELECT instance_id, response_status, response_headers, response_body,"
            " response_body IS NULL FROM webhooks.execution"
        ).fetchall()
    )
    assert rows[claims[0].instance_id] == (None, None, None, True)
    assert rows[claims[1].instance_id] == (204, {}, None, False)
    assert rows[claims[2].instance_id] == (200, {"a": "b"}, "ok", False)


def test_record_threshold_disables_once_and_holds(db: psycopg.Connection) -> None:
    configure(db, (timedelta(seconds=30),) * 8, 4)
    _webhook(db)
    _emit(db, 6)
    token = uuid.uuid4()
    claims = queue.claim(db, 6, LEASE, token)

    decisions = _record(db, token, claims, _fail())

    assert [d.notification for d in decisions] == [
        None,
        "webhook.failing",
        None,
        "webhook.disabled",
        None,
        None,
    ]
    assert db.execute(
        "SELECT enabled, auto_disabled_at IS NOT NULL FROM webhooks.webhook"
    ).fetchone() == (False, True)
    assert db.execute(
        "SELECT count(*) FROM webhooks.instance WHERE held"
    ).fetchone() == (6,)
    kinds = db.execute(
        "SELECT kind FROM webhooks.notification ORDER BY created_at"
    ).fetchall()
    assert kinds == [("webhook.failing",), ("webhook.disabled",)]


def test_set_webhook_enabled_releases_held_instances(db: psycopg.Connection) -> None:
    webhook_id = _webhook(db)
    _emit(db, 3)

    held = db.execute(
        "SELECT webhooks.set_webhook_enabled(%s, false)", (webhook_id,)
    ).fetchone()
    assert held == (3,)
    assert queue.claim(db, 10, LEASE, uuid.uuid4()) == []

    db.execute(
        "UPDATE webhooks.webhook SET successive_failure_count = 9 WHERE id = %s",
        (webhook_id,),
    )
    released = db.execute(
        "SELECT webhooks.set_webhook_enabled(%s, true)", (webhook_id,)
    ).fetchone()

    assert released == (3,)
    assert db.execute(
        "SELECT successive_failure_count FROM webhooks.webhook"
    ).fetchone() == (0,)
    assert len(queue.claim(db, 10, LEASE, uuid.uuid4())) == 3


def test_set_webhook_enabled_unknown_raises(db: psycopg.Connection) -> None:
    with pytest.raises(psycopg.Error) as caught:
        db.execute("SELECT webhooks.set_webhook_enabled(%s, true)", (uuid.uuid4(),))

    assert caught.value.sqlstate == "WH404"


def test_start_execution_states(db: psycopg.Connection) -> None:
    _webhook(db)
    _emit(db)
    instance_id = db.execute("SELECT id FROM webhooks.instance").fetchone()[0]  # type: ignore[index]

    with pytest.raises(Conflict, match="is new"):
        queue.start_execution(db, instance_id, LEASE, uuid.uuid4())
    with pytest.raises(NotFound):
        queue.start_execution(db, uuid.uuid4(), LEASE, uuid.uuid4())

    token = uuid.uuid4()
    _record(db, token, queue.claim(db, 1, LEASE, token), _fail())
    manual_token = uuid.uuid4()
    claim = queue.start_execution(db, instance_id, LEASE, manual_token)
    with pytest.raises(Conflict, match="is running"):
        queue.start_execution(db, instance_id, LEASE, uuid.uuid4())
    queue.record_executions(
        db, manual_token, [_ok().as_result(str(claim.instance_id), manual=True)]
    )

    assert claim.retry_number == 1
    assert _instance(db) == ("success", 8, 2, False, False)


def test_start_execution_races_claim_once(
    database_url: str, db: psycopg.Connection
) -> None:
    _webhook(db)
    _emit(db)
    token = uuid.uuid4()
    _record(db, token, queue.claim(db, 1, LEASE, token), _fail())
    _make_due(db)
    instance_id = db.execute("SELECT id FROM webhooks.instance").fetchone()[0]  # type: ignore[index]

    with psycopg.connect(database_url) as relay_connection:
        claims = queue.claim(
            relay_connection, 1, LEASE, uuid.uuid4()
        )  # not committed yet
        outcome: list[object] = []

        def execute_now() -> None:
            with psycopg.connect(database_url, autocommit=True) as api_connection:
                try:
                    outcome.append(
                        queue.start_execution(
                            api_connection, instance_id, LEASE, uuid.uuid4()
                        )
                    )
                except Conflict as error:
                    outcome.append(error)

        thread = threading.Thread(target=execute_now)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # waits for the relay's claim to commit
        relay_connection.commit()
        thread.join(10)

    assert len(claims) == 1
    assert isinstance(outcome[0], Conflict)


def test_cancel_instance_rules(db: psycopg.Connection) -> None:
    _webhook(db)
    _emit(db)
    instance_id = db.execute("SELECT id FROM webhooks.instance").fetchone()[0]  # type: ignore[index]

    with pytest.raises(psycopg.Error) as caught:
        db.execute("SELECT webhooks.cancel_instance(%s)", (instance_id,))
    assert caught.value.sqlstate == "WH409"

    token = uuid.uuid4()
    _record(db, token, queue.claim(db, 1, LEASE, token), _fail())
    db.execute("SELECT webhooks.cancel_instance(%s)", (instance_id,))

    assert _instance(db) == ("canceled", 0, 1, False, False)


def test_claim_caps_running_per_webhook(db: psycopg.Connection) -> None:
    busy = _webhook(db, ("order.created",))
    quiet = _webhook(db, ("invoice.created",))
    _emit(db, 20, "order.created")
    _emit(db, 3, "invoice.created")

    first = queue.claim(db, 10, LEASE, uuid.uuid4(), max_per_webhook=4)
    second = queue.claim(db, 10, LEASE, uuid.uuid4(), max_per_webhook=4)

    by_webhook = [str(claim.webhook_id) for claim in first]
    assert by_webhook.count(busy) == 4
    assert by_webhook.count(quiet) == 3
    # The running ones count against the cap, across claims.
    assert second == []


def test_claim_cap_ignores_expired_leases(db: psycopg.Connection) -> None:
    _webhook(db)
    _emit(db, 3)
    queue.claim(db, 2, timedelta(seconds=0), uuid.uuid4(), max_per_webhook=2)

    claims = queue.claim(db, 10, LEASE, uuid.uuid4(), max_per_webhook=2)

    assert len(claims) == 2


def test_expired_claim_of_disabled_webhook_is_held(db: psycopg.Connection) -> None:
    webhook_id = _webhook(db)
    _emit(db)
    # A first try that failed, then an automatic retry whose relay died.
    _record(db, *_claim_with_token(db, LEASE), _fail())
    _make_due(db)
    queue.claim(db, 1, timedelta(seconds=0), uuid.uuid4())
    db.execute("SELECT webhooks.set_webhook_enabled(%s, false)", (webhook_id,))
    assert _instance(db) == ("running", 7, 1, False, True)

    assert queue.reset_expired_claims(db, 10) == 1

    assert _instance(db) == ("failed", 7, 1, True, False)
    db.execute("SELECT webhooks.set_webhook_enabled(%s, true)", (webhook_id,))
    [retaken] = queue.claim(db, 1, LEASE, uuid.uuid4())
    assert retaken.retry_number == 1
    # The expired claim used up the retry; taking it again does not.
    assert _instance(db)[:2] == ("running", 7)


def test_expired_claim_of_enabled_webhook_is_due(db: psycopg.Connection) -> None:
    _webhook(db)
    _emit(db)
    token = uuid.uuid4()
    [claim] = queue.claim(db, 1, timedelta(seconds=0), token)

    assert queue.reset_expired_claims(db, 10) == 1

    assert _instance(db) == ("new", 8, 0, False, True)
    # The dead relay's late result no longer counts.
    assert _record(db, token, [claim], _ok()) == []
    assert len(queue.claim(db, 1, LEASE, uuid.uuid4())) == 1


def test_expired_claim_after_success_stays_success(db: psycopg.Connection) -> None:
    _webhook(db)
    _emit(db)
    _record(db, *_claim_with_token(db, LEASE), _ok())
    [instance_id] = db.execute("SELECT id FROM webhooks.instance").fetchone() or []
    # Execute now whose process died before it recorded the try.
    queue.start_execution(db, instance_id, timedelta(seconds=0), uuid.uuid4())

    assert queue.reset_expired_claims(db, 10) == 1

    assert _instance(db) == ("success", 8, 1, False, False)


def test_expired_claim_reset_leaves_live_leases(db: psycopg.Connection) -> None:
    _webhook(db)
    _emit(db, 2)
    queue.claim(db, 1, LEASE, uuid.uuid4())
    queue.claim(db, 1, timedelta(seconds=0), uuid.uuid4())

    assert queue.reset_expired_claims(db, 10) == 1

    states = db.execute(
        "SELECT state, due_at > now() FROM webhooks.instance ORDER BY state"
    ).fetchall()
    assert states == [("new", False), ("running", True)]


def test_sweep_resets_expired_claims_in_batches(
    database_url: str, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    _webhook(db)
    _emit(db, 5)
    queue.claim(db, 5, timedelta(seconds=0), uuid.uuid4())
    monkeypatch.setattr(leases, "BATCH_SIZE", 2)

    with psycopg.connect(database_url, autocommit=True) as connection:
        assert leases.sweep(connection) == 5

    assert db.execute(
        "SELECT count(*) FROM webhooks.instance WHERE state = 'new'"
    ).fetchone() == (5,)


def _claim_with_token(
    db: psycopg.Connection, lease: timedelta
) -> tuple[uuid.UUID, list[queue.Claim]]:
    token = uuid.uuid4()
    return token, queue.claim(db, 1, lease, token)
