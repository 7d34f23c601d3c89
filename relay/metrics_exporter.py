"""Serve the relay's metrics over HTTP from the supervisor process.

The exporter owns a fresh directory for prometheus-client's
multiprocess mode, one per `relay run`, so no file of an earlier run is
summed in. The supervisor hands it to the workers through
PROMETHEUS_MULTIPROC_DIR before spawning them. A scrape sums the
workers' files and adds the queue figures read from SQL at that moment.
"""

import logging
import shutil
import tempfile
from collections.abc import Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from relay.database import connect
from relay.errors import DatabaseUnavailable
from relay.store.status import list_unhealthy_webhooks, read_queue_status

log = logging.getLogger(__name__)

MULTIPROCESS_DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


class QueueCollector(Collector):
    """Read the queue and webhook figures from PostgreSQL on each scrape.

    Every relay on the same database reports the same figures, because they
    describe the shared queue, not one relay.
    """

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._database_was_up = True

    def collect(self) -> Iterator[Metric]:
        """Yield the queue gauges, or only webhooks_database_up 0 on failure."""
        up = GaugeMetricFamily(
            "webhooks_database_up",
            "1 when the last scrape could read the queue from PostgreSQL.",
        )
        try:
            with connect(self._database_url) as connection:
                status = read_queue_status(connection)
                webhooks = list_unhealthy_webhooks(connection)
        except DatabaseUnavailable as error:
            # Scrapes come every few seconds; the first failure is enough.
            if self._database_was_up:
                log.warning("metrics cannot read the queue: %s", error)
            self._database_was_up = False
            up.add_metric([], 0)
            yield up
            return
        self._database_was_up = True
        up.add_metric([], 1)
        yield up

        instances = GaugeMetricFamily(
            "webhooks_instances",
            "Scheduled instances by state: new, running (leased) and failed"
            " (waiting for a retry). Finished instances are not counted.",
            labels=["state"],
        )
        for state in ("new", "running", "failed"):
            instances.add_metric([state], getattr(status, state))
        yield instances
        yield GaugeMetricFamily(
            "webhooks_instances_due",
            "Instances whose due time has passed, waiting for a claim.",
            value=status.due,
        )
        yield GaugeMetricFamily(
            "webhooks_instances_held",
            "Instances parked while their webhook is disabled.",
            value=status.held,
        )
        yield GaugeMetricFamily(
            "webhooks_oldest_due_instance_age_seconds",
            "Seconds since the oldest due instance became due; 0 when none is.",
            value=status.oldest_due_age_seconds or 0.0,
        )
        yield GaugeMetricFamily(
            "webhooks_disabled_webhooks",
            "Webhooks that are disabled, by an operator or after failures.",
            value=sum(1 for webhook in webhooks if not webhook.enabled),
        )
        yield GaugeMetricFamily(
            "webhooks_failing_webhooks",
            "Enabled webhooks whose last try failed.",
            value=sum(1 for webhook in webhooks if webhook.enabled),
        )


class MetricsExporter:
    """The /metrics endpoint of one relay, and its multiprocess directory."""

    def __init__(self, database_url: str, address: str, port: int) -> None:
        self._database_url = database_url
        self._address = address
        self._port = port
        self._server: WSGIServer | None = None
        self.directory = tempfile.mkdtemp(prefix="relay-metrics-")

    def start(self) -> int:
        """Start serving in a daemon thread; return the port it listens on.

        Raises OSError when the address cannot be bound, such as a port in
        use; the directory is removed then.
        """
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.directory)
        registry.register(QueueCollector(self._database_url))
        try:
            self._server, _thread = start_http_server(
                self._port, self._address, registry=registry
            )
        except OSError:
            self.close()
            raise
        port = int(self._server.server_address[1])
        log.info(
            "metrics served on http://%s:%d/metrics",
            self._address,
            port,
            extra={"metrics_port": port},
        )
        return port

    def forget_worker(self, pid: int) -> None:
        """Drop a dead worker's in-flight gauge; its counters still count."""
        mark_process_dead(pid, path=self.directory)

    def close(self) -> None:
        """Stop serving and remove the multiprocess directory."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        shutil.rmtree(self.directory, ignore_errors=True)
