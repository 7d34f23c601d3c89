"""gunicorn settings for the API: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Binds 127.0.0.1:8000 unless --bind or GUNICORN_CMD_ARGS says otherwise;
the container passes --bind 0.0.0.0:8000. WEB_CONCURRENCY sets the number
of worker processes (2 by default).

The API's /metrics sums the values of every worker through
prometheus-client's multiprocess mode, which needs PROMETHEUS_MULTIPROC_DIR
set before any worker imports prometheus_client. This file runs in the
gunicorn master before it forks the workers, so it sets the variable here:
to the operator's directory when one is given (its old files are removed at
start, since they belong to an earlier run), else to a fresh temporary
directory that is removed when gunicorn exits.
"""

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

# Set only in the gunicorn process that created the directory, so that a
# configuration reload (SIGHUP) keeps the directory and its counters.
_OWNED_VARIABLE = "WEBHOOKS_OWNS_PROMETHEUS_MULTIPROC_DIR"

bind = "127.0.0.1:8000"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))

if not os.environ.get(_VARIABLE):
    os.environ[_VARIABLE] = tempfile.mkdtemp(prefix="webhooks-api-metrics-")
    os.environ[_OWNED_VARIABLE] = "1"


def on_starting(server: Any) -> None:
    """Remove metric files left by an earlier run in the operator's directory."""
    directory = Path(os.environ[_VARIABLE])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    server.log.info("summing the workers' metrics in %s", directory)


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges; its counters keep counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    """Remove the temporary metrics directory if this file created it."""
    if os.environ.get(_OWNED_VARIABLE):
        shutil.rmtree(os.environ[_VARIABLE], ignore_errors=True)
