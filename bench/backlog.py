"""Claim, list and count times with a large backlog of pending instances.

The backlog is filled with one INSERT ... SELECT generate_series into the
outbox per size, whose events fan out to five webhooks, and grows from one
size to the next. Each claim commits, as the relay's does, and takes the
next 100 instances, so the backlog shrinks by 100 per try (at most 3,000
over the rounds of one size). List and count call the same functions as
the API's ``GET /webhooks/{id}/instances`` and ``.../instances/count``,
without the HTTP layer.
"""

import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import psycopg
from psycopg.types.json import Jsonb

from bench.database import add_webhooks, fresh_database
from bench.work import EVENT_CODE, PAYLOAD
from relay.migrate import migrate
from relay.store.instances import InstanceFilter, count_instances, list_instances
from relay.store.queue import claim

WEBHOOKS = 5
CLAIM_BATCH = 100
_TRIES = 10
# Nothing delivers during these measurements.
_NOWHERE = "http://127.0.0.1:9/"


def _prepare(url: str) -> list[uuid.UUID]:
    migrate(url)
    with psycopg.connect(url, autocommit=True) as connection:
        return add_webhooks(connection, WEBHOOKS, lambda _: _NOWHERE)


def _grow(url: str, size: int) -> None:
    """Emit events until there are size pending instances.

    The events go through the outbox trigger, so each fans out to every
    webhook as in production, and one statement adds them all.
    """
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM webhooks.instance WHERE state = 'new'"
        ).fetchone()
        assert row is not None
        # Events 1 ms apart, as if emitted over time, so that the instances'
        # creation times differ as in production.
        connection.execute(
            "INSERT INTO webhooks.outbox (event_code, payload, created_at)"
            " SELECT %s, %s, now() - n * interval '1 ms'"
            " FROM generate_series(%s, 1, -1) AS n",
            (EVENT_CODE, Jsonb(PAYLOAD), (size - row[0]) // WEBHOOKS),
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
    with psycopg.connect(url, autocommit=True) as connection:

        def claim_batch() -> None:
            claims = claim(connection, CLAIM_BATCH, timedelta(minutes=5), uuid.uuid4())
            if len(claims) != CLAIM_BATCH:
                raise RuntimeError(f"claimed {len(claims)} of {CLAIM_BATCH}")

        figures = {"claim_ms": _median_ms(claim_batch)}
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
    # Every timed claim takes CLAIM_BATCH instances for good.
    smallest = CLAIM_BATCH * _TRIES * rounds
    if min(sizes) < smallest:
        raise ValueError(
            f"backlog size {min(sizes)} is too small for {rounds} rounds;"
            f" use at least {smallest} pending instances"
        )
    results: dict[int, list[dict[str, float]]] = {}
    with fresh_database("backlog") as url:
        webhook_ids = _prepare(url)
        for size in sorted(sizes):
            _grow(url, size)
            results[size] = [_measure(url, webhook_ids[0]) for _ in range(rounds)]
    return results
