"""Request counts and durations of the API, served at /metrics.

Under gunicorn every worker is a process of its own, so gunicorn.conf.py
sets PROMETHEUS_MULTIPROC_DIR before the workers import this module: each
worker writes its values to files there, and /metrics sums the files of
all workers, whichever worker answers the scrape. Without the variable
(the Flask development server, the tests) the values live in memory.

/metrics needs no bearer token, like /health: it shows counts by route
template and status, never ids, payloads or secrets, and a scraper
holding an operator token could also change every webhook. Keep the path
off the public internet at the proxy when the counts should stay private.
"""

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

METRICS_PATH = "/metrics"

# Route templates such as /webhooks/<uuid:webhook_id> keep the label values
# few; paths that match no route share this one.
_UNMATCHED_ROUTE = "unmatched"

REQUESTS = Counter(
    "webhooks_api_requests",
    "API requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
REQUEST_DURATION = Histogram(
    "webhooks_api_request_duration_seconds",
    "Time from the start of a request to its response, by method and route template.",
    ["method", "route"],
)


def init_metrics(app: Flask) -> None:
    """Time and count every request of app, and serve /metrics.

    Call before the bearer authentication is registered, so that the timer
    also starts for the requests it rejects.
    """
    app.before_request(_start_timer)
    app.after_request(_count_request)
    app.add_url_rule(METRICS_PATH, "metrics", _serve_metrics, methods=["GET"])


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    route = request.url_rule.rule if request.url_rule else _UNMATCHED_ROUTE
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    started = g.get("request_started")
    if started is not None:
        REQUEST_DURATION.labels(request.method, route).observe(
            time.perf_counter() - started
        )
    return response


def _serve_metrics() -> Response:
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return REGISTRY
    # A fresh registry per scrape, as prometheus-client's multiprocess mode
    # requires: the collector reads the current files of every worker.
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry
