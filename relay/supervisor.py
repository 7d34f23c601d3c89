"""Run N relay worker processes and keep them running.

The supervisor starts the workers, restarts one that dies unexpectedly,
and on SIGTERM or Ctrl-C asks every worker to finish what is in flight,
then waits for them. Between checks it prunes old instances and events.
"""

import logging
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.context import SpawnProcess

from relay.config import Settings
from relay.leases import ExpiredClaimSweeper
from relay.logs import configure_logging
from relay.mailer import NotificationMailer
from relay.metrics_exporter import MULTIPROCESS_DIRECTORY_VARIABLE, MetricsExporter
from relay.retention import Pruner
from relay.signals import watch_signals
from relay.worker import Worker

log = logging.getLogger(__name__)

_CHECK_INTERVAL = 1.0
# A worker that keeps crashing is restarted at most this often.
_RESTART_DELAY = 2.0
_SPAWN = multiprocessing.get_context("spawn")


def run_worker_process(
    settings: Settings, concurrency: int, name: str, log_level: str, log_format: str
) -> None:
    """Entry point of one worker process."""
    configure_logging(log_level, log_format)
    worker = Worker(settings, concurrency=concurrency, name=name)
    stop_requests = 0

    def request_stop(signum: signal.Signals) -> None:
        nonlocal stop_requests
        stop_requests += 1
        if stop_requests > 1:
            # A second SIGTERM means now; the leases hand its claims over.
            os._exit(1)
        worker.stop()

    watch_signals([signal.SIGTERM], request_stop)
    # Ctrl-C reaches the whole process group; the supervisor answers it by
    # sending one SIGTERM, so the worker ignores the SIGINT itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker.run()
    # Everything is recorded and closed. Tearing down the interpreter's
    # modules adds nothing but time to a shutdown that has a deadline.
    logging.shutdown()
    os._exit(0)


class Supervisor:
    """Start, watch and stop the worker processes of one relay."""

    def __init__(
        self,
        settings: Settings,
        *,
        workers: int,
        concurrency: int,
        log_level: str,
        log_format: str,
        prune: bool = True,
        metrics: MetricsExporter | None = None,
    ) -> None:
        self._settings = settings
        self._workers = workers
        self._concurrency = concurrency
        self._log_level = log_level
        self._log_format = log_format
        self._processes: dict[str, SpawnProcess] = {}
        self._restart_at: dict[str, float] = {}
        self._stopping = threading.Event()
        self._pruner = Pruner(settings) if prune else None
        self._sweeper = ExpiredClaimSweeper(settings)
        self._metrics = metrics

    def run(self) -> int:
        """Run until SIGTERM or SIGINT; return the exit code."""
        watch_signals([signal.SIGTERM, signal.SIGINT], self._request_stop)
        if self._metrics is not None:
            # Spawned workers inherit the environment; prometheus-client
            # reads this variable when a worker imports it.
            os.environ[MULTIPROCESS_DIRECTORY_VARIABLE] = self._metrics.directory
        for number in range(1, self._workers + 1):
            self._start(f"worker-{number}")
        mail_stop = threading.Event()
        mail_thread = self._start_mailer(mail_stop)
        while not self._stopping.is_set():
            self._restart_dead_workers()
            if self._pruner is not None:
                self._pruner.run_if_due(self._stopping.is_set)
            self._sweeper.run_if_due()
            self._stopping.wait(_CHECK_INTERVAL)
        mail_stop.set()
        exit_code = self._stop_all()
        self._sweeper.close()
        if mail_thread is not None:
            mail_thread.join(15)
        if self._metrics is not None:
            self._metrics.close()
        return exit_code

    def _start_mailer(self, stop: threading.Event) -> threading.Thread | None:
        if not (self._settings.smtp_url and self._settings.notify_emails):
            return None
        mailer = NotificationMailer(self._settings)
        thread = threading.Thread(
            target=mailer.run, args=(stop,), name="mailer", daemon=True
        )
        thread.start()
        log.info(
            "mailing notifications to %d operators",
            len(self._settings.notify_emails),
        )
        return thread

    def _request_stop(self, signum: signal.Signals) -> None:
        # Runs on the signal watcher thread; the main loop wakes from its
        # wait on _stopping at once, or after the current prune batch.
        if self._stopping.is_set():
            return
        log.info("stopping: %s received", signum.name)
        self._stopping.set()

    def _start(self, name: str) -> None:
        process = _SPAWN.Process(
            target=run_worker_process,
            args=(
                self._settings,
                self._concurrency,
                name,
                self._log_level,
                self._log_format,
            ),
            name=name,
        )
        # The child inherits an ignored SIGINT from the moment it starts, so
        # a Ctrl-C that arrives while it is still importing cannot kill it;
        # the supervisor forwards one SIGTERM instead.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        self._processes[name] = process
        log.info("started %s (pid %s)", name, process.pid, extra={"pid": process.pid})

    def _restart_dead_workers(self) -> None:
        now = time.monotonic()
        for name, process in list(self._processes.items()):
            if process.is_alive() or self._stopping.is_set():
                continue
            if name not in self._restart_at:
                log.error(
                    "%s (pid %s) exited with code %s; restarting it",
                    name,
                    process.pid,
                    process.exitcode,
                    extra={"pid": process.pid, "exit_code": process.exitcode},
                )
                self._restart_at[name] = now + _RESTART_DELAY
                if self._metrics is not None and process.pid is not None:
                    self._metrics.forget_worker(process.pid)
            if now >= self._restart_at[name]:
                del self._restart_at[name]
                process.close()
                self._start(name)

    def _stop_all(self) -> int:
        for process in self._processes.values():
            if process.is_alive():
                # One SIGTERM: finish what is in flight, then exit. A second
                # one would make the worker exit without recording it.
                process.terminate()
        # Requests in flight end within the timeout; recording takes little.
        deadline = time.monotonic() + self._settings.timeout + 5
        for process in self._processes.values():
            process.join(max(0.0, deadline - time.monotonic()))
        exit_code = 0
        for name, process in self._processes.items():
            if process.is_alive():
                log.error("%s did not stop in time; killing it", name)
                process.kill()
                process.join(5)
                exit_code = 1
        log.info("relay stopped")
        return exit_code
