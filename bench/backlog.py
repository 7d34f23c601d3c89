"""Claim, list and count times with a large backlog of pending instances.

The backlog is filled with one INSERT ... SELECT generate_series per size,
spread over five webhooks, and grows from one size to the next. The claim
runs in a transaction that is rolled back, so the backlog stays the same
for every try. List and count call the same functions as the API's
``GET /webhooks/{id}/instances`` and ``.../instances/count``, without the
HTTP layer.
"""

import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import psycopg

from bench.database import add_webhooks, fresh_database
from bench.work import EVENT_CODE, PAYLOAD
from relay.migrate import migrate
from relay.store.events import emit
from relay.store.instances import InstanceFilter, count_instances, list_instances
from relay.store.queue import claim

WEBHOOKS = 5
CLAIM_BATCH = 100
_TRIES = 10
# Nothing delivers during these measurements.
_NOWHERE = "http://127.0.0.1:9/"


def _prepare(url: str) -> tuple[list[uuid.UUID], int]:
    migrate(url)
    with psycopg.connect(url, autocommit=True) as connection:
        # The event comes first, so that its fan-out finds no webhook.
        event_id = emit(connection, EVENT_CODE, PAYLOAD)
        webhook_ids = add_webhooks(connection, WEBHOOKS, lambda _: _NOWHERE)
    return webhook_ids, event_id


def _grow(url: str, webhook_ids: list[uuid.UUID], event_id: int, size: int) -> None:
    """Add pending instances until there are size of them."""
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute("SELECT count(*) FROM webhooks.instance").fetchone()
        assert row is not None
        connection.execute(
            "INSERT INTO webhooks.instance"
            " (webhook_id, event_id, event_code, remaining_retries, due_at)"
            " SELECT (%s::uuid[])[1 + n %% %s], %s, %s, 8,"
            "        now() - n * interval '1 ms'"
            " FROM generate_series(1, %s) AS n",
            (webhook_ids, len(webhook_ids), event_id, EVENT_CODE, size - row[0]),
        )
        connection.execute("VACUUM ANALYZE webhooks.instance")


def _median_ms(action: Callable[[], object]) -> float:
    timings = []
    for _ in range(_TRIES):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)[len(timings) // 2]


def _measure(url: str, webhook_id: uuid.UUID) -> dict[str, float]:
    pending = InstanceFilter(states=("new",))
    with psycopg.connect(url) as connection:

        def claim_and_roll_back() -> None:
            claims = claim(connection, CLAIM_BATCH, timedelta(seconds=15), uuid.uuid4())
            connection.rollback()
            if len(claims) != CLAIM_BATCH:
                raise RuntimeError(f"claimed {len(claims)} of {CLAIM_BATCH}")

        figures = {"claim_ms": _median_ms(claim_and_roll_back)}
        connection.autocommit = True
        figures["list_ms"] = _median_ms(
            lambda: list_instances(connection, webhook_id, InstanceFilter())
        )
        figures["list_pending_ms"] = _median_ms(
            lambda: list_instances(connection, webhook_id, pending)
        )
        figures["count_ms"] = _median_ms(
            lambda: count_instances(connection, webhook_id, InstanceFilter())
        )
        figures["count_pending_ms"] = _median_ms(
            lambda: count_instances(connection, webhook_id, pending)
        )
    return figures


def run_backlog(sizes: list[int], *, rounds: int) -> dict[int, list[dict[str, float]]]:
    """Return, for each backlog size, the timings of each round."""
    results: dict[int, list[dict[str, float]]] = {}
    with fresh_database("backlog") as url:
        webhook_ids, event_id = _prepare(url)
        for size in sorted(sizes):
            _grow(url, webhook_ids, event_id, size)
            results[size] = [_measure(url, webhook_ids[0]) for _ in range(rounds)]
    return results
