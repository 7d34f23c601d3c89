"""The Prometheus metrics that relay worker processes record.

Workers are separate processes, so prometheus-client's multiprocess mode
sums their values. `relay run` with a metrics port sets
PROMETHEUS_MULTIPROC_DIR to a fresh directory before it spawns the
workers. Each worker writes its values to files there, and the
supervisor reads them all when Prometheus scrapes it (see
relay.metrics_exporter). Without a metrics port the values stay in each
worker's memory and nobody reads them.

The queue figures (instances by state, the oldest due instance) come
from SQL at scrape time instead, since every relay sees the same queue.
"""

from prometheus_client import Counter, Gauge, Histogram

from relay.delivery import Outcome
from relay.store.queue import Recorded

# From a fast local receiver to the longest timeout WEBHOOKS_TIMEOUT allows
# (300 s); the default timeout of 10 s has buckets on both sides.
_DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

DELIVERIES = Counter(
    "webhooks_deliveries",
    "HTTP tries whose result was recorded, by outcome (success, failure,"
    " or dropped when the claim was lost) and event code.",
    ["outcome", "event_code"],
)
DELIVERY_DURATION = Histogram(
    "webhooks_delivery_duration_seconds",
    "Duration of one HTTP try, from connecting to the end of the response.",
    buckets=_DURATION_BUCKETS,
)
DELIVERIES_IN_FLIGHT = Gauge(
    "webhooks_deliveries_in_flight",
    "HTTP requests being sent now, across the relay's worker processes.",
    multiprocess_mode="livesum",
)
CLAIM_BATCHES = Counter(
    "webhooks_claim_batches",
    "Claims that took at least one instance.",
)
CLAIMED_INSTANCES = Counter(
    "webhooks_claimed_instances",
    "Instances taken by claims.",
)
RETRIES_SCHEDULED = Counter(
    "webhooks_retries_scheduled",
    "Failed tries after which a retry was scheduled.",
)
AUTO_DISABLES = Counter(
    "webhooks_auto_disables",
    "Webhooks disabled by the relay after successive failures or a 410.",
)


def count_claim(claimed: int) -> None:
    """Count one claim statement that took claimed instances."""
    if claimed:
        CLAIM_BATCHES.inc()
        CLAIMED_INSTANCES.inc(claimed)


def count_delivery(
    event_code: str, outcome: Outcome, decision: Recorded | None
) -> None:
    """Count one recorded try and what the database decided after it."""
    if decision is None:
        result = "dropped"
    else:
        result = "success" if decision.state == "success" else "failure"
    DELIVERIES.labels(outcome=result, event_code=event_code).inc()
    DELIVERY_DURATION.observe(outcome.duration_ms / 1000)
    if decision is None:
        return
    if decision.state != "success" and decision.due_at is not None:
        RETRIES_SCHEDULED.inc()
    if decision.notification == "webhook.disabled":
        AUTO_DISABLES.inc()
