"""The relay's /metrics and `relay status` during a real run."""

import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable

import psycopg
from prometheus_client.parser import text_string_to_metric_families

from tests.end_to_end.conftest import (
    RelayProcess,
    add_webhook,
    relay_environment,
    scalar,
    wait_until,
)
from tests.receiver import Receiver, Response


def _metrics_port(relay: RelayProcess) -> int:
    found: list[int] = []

    def logged() -> bool:
        match = re.search(r"metrics served on http://127\.0\.0\.1:(\d+)/", relay.log())
        if match:
            found.append(int(match.group(1)))
        return bool(found)

    wait_until(logged, timeout=20)
    return found[0]


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Return every sample as {(name, sorted labels): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _status(database_url: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "relay", "status", "--json"],
        env=relay_environment(database_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_metrics_count_every_delivery_across_workers(
    database_url: str,
    db: psycopg.Connection,
    receiver: Receiver,
    start_relay: Callable[..., RelayProcess],
) -> None:
    add_webhook(db, receiver.url(), ["order.created"])
    with db.transaction():
        for number in range(60):
            db.execute(
                "SELECT webhooks.emit('order.created', %s)",
                (json.dumps({"n": number}),),
            )
    relay = start_relay(workers=2, concurrency=4, WEBHOOKS_METRICS_PORT="0")
    port = _metrics_port(relay)

    def all_counted() -> bool:
        samples = _scrape(port)
        return (
            _value(
                samples,
                "webhooks_deliveries_total",
                outcome="success",
                event_code="order.created",
            )
            == 60
        )

    wait_until(all_counted, timeout=60, step=0.5)
    samples = _scrape(port)
    assert _value(samples, "webhooks_claimed_instances_total") == 60
    assert 1 <= _value(samples, "webhooks_claim_batches_total") <= 60
    assert _value(samples, "webhooks_delivery_duration_seconds_count") == 60
    assert _value(samples, "webhooks_deliveries_in_flight") == 0
    assert _value(samples, "webhooks_retries_scheduled_total") == 0
    assert _value(samples, "webhooks_database_up") == 1
    for state in ("new", "running", "failed"):
        assert _value(samples, "webhooks_instances", state=state) == 0
    assert _value(samples, "webhooks_oldest_due_instance_age_seconds") == 0
    # Both workers delivered, so the sum above spans two processes.
    assert len(relay.worker_pids()) == 2

    status = _status(database_url)
    assert status["instances"] == {"new": 0, "running": 0, "failed": 0}
    assert status["due"] == 0
    assert status["oldestDueAgeSeconds"] is None
    assert status["webhooks"] == []
    assert relay.stop() == 0


def test_metrics_and_status_show_failures_and_disable(
    database_url: str,
    db: psycopg.Connection,
    receiver: Receiver,
    start_relay: Callable[..., RelayProcess],
) -> None:
    receiver.script("/down", 500)
    receiver.script("/slow", Response(204, delay=1.5))
    down = add_webhook(db, receiver.url("/down"), ["invoice.created"])
    add_webhook(db, receiver.url("/slow"), ["shipment.created"])
    for _ in range(2):
        db.execute("SELECT webhooks.emit('invoice.created', '{}')")
    relay = start_relay(
        workers=1,
        concurrency=4,
        WEBHOOKS_METRICS_PORT="0",
        WEBHOOKS_DISABLE_AFTER="4",
        WEBHOOKS_TIMEOUT="5",
    )
    port = _metrics_port(relay)

    wait_until(
        lambda: _value(_scrape(port), "webhooks_auto_disables_total") == 1,
        timeout=30,
        step=0.3,
    )
    samples = _scrape(port)
    failures = _value(
        samples,
        "webhooks_deliveries_total",
        outcome="failure",
        event_code="invoice.created",
    )
    assert failures == 4
    # Every failure but the one that disabled the webhook scheduled a retry.
    assert _value(samples, "webhooks_retries_scheduled_total") == 3
    assert _value(samples, "webhooks_disabled_webhooks") == 1
    wait_until(lambda: _value(_scrape(port), "webhooks_instances_held") == 2)

    # A slow receiver keeps a request in flight while the scrape runs.
    db.execute("SELECT webhooks.emit('shipment.created', '{}')")
    receiver.wait_for(1, path="/slow", timeout=15)
    samples = _scrape(port)
    assert _value(samples, "webhooks_deliveries_in_flight") == 1
    assert _value(samples, "webhooks_instances", state="running") == 1

    status = _status(database_url)
    assert status["held"] == 2
    assert status["instances"]["running"] == 1
    assert status["webhooks"] == [
        {
            "id": down,
            "name": "test",
            "enabled": False,
            "successiveFailureCount": 4,
        }
    ]
    assert scalar(db, "SELECT count(*) FROM webhooks.instance WHERE held") == 2
    assert relay.stop() == 0
