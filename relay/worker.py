"""The claim loop of one relay process.

One main thread claims due instances in batches and records results in
batches, on one database connection. A pool of delivery threads sends the
HTTP requests through one shared Sender. A listener thread holds a second
connection with LISTEN webhooks_wakeup and wakes the main thread when
events arrive; without notifications the main thread still polls every
POLL_INTERVAL seconds, so delivery never depends on NOTIFY.

No database lock is held while a request is in flight: the claim commits
at once and its lease token proves ownership when the result is recorded.
"""

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TypeVar

import psycopg

from relay import metrics
from relay.config import Settings
from relay.database import connect
from relay.delivery import Outcome, Sender, build_request
from relay.errors import DatabaseUnavailable, SecretUnreadable
from relay.secret_storage import SecretCipher
from relay.store import queue as delivery_queue
from relay.store.queue import Claim, Recorded

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_D = TypeVar("_D")

WAKEUP_CHANNEL = "webhooks_wakeup"
# A due instance is picked up within this many seconds without a NOTIFY.
POLL_INTERVAL = 1.0
# Emitting transactions notify at most once per wakeup interval (50 ms by
# default), so after a wake-up the loop looks again a little later for
# events whose transactions skipped the notification.
FOLLOW_UP_DELAY = 0.06
# Results wait at most this long to be written together with others.
RESULT_LINGER = 0.01
MAX_CLAIM_BATCH = 100
_RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)


@dataclass
class _Finished:
    claim: Claim
    token: uuid.UUID
    outcome: Outcome


class Worker:
    """Claim, deliver and record until stop() is called.

    concurrency is the number of requests in flight at once in this
    process. A slot is free when its request ends, before its result is
    recorded. stop() makes run() stop claiming, wait for the requests in
    flight, record their results and return.
    """

    def __init__(
        self, settings: Settings, *, concurrency: int, name: str = "worker"
    ) -> None:
        self._settings = settings
        self._concurrency = concurrency
        self._name = name
        self._min_claim = max(1, concurrency // 4)
        self._sender = Sender(settings, max_connections_per_host=concurrency)
        self._cipher = SecretCipher.from_settings(settings)
        self._results: queue.SimpleQueue[_Finished] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._notified = threading.Event()
        self._stopping = threading.Event()
        self._connection: psycopg.Connection | None = None
        self._in_flight = 0
        self._pending: list[_Finished] = []
        self._first_pending_at = 0.0
        self._lost_since: float | None = None
        self._failures = 0

    def stop(self) -> None:
        """Stop claiming and let run() finish what is in flight."""
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        """Run the claim loop until stop() and everything in flight is recorded."""
        listener = threading.Thread(
            target=self._listen, name=f"{self._name}-listener", daemon=True
        )
        listener.start()
        executor = ThreadPoolExecutor(
            max_workers=self._concurrency, thread_name_prefix=f"{self._name}-delivery"
        )
        try:
            self._loop(executor)
        finally:
            executor.shutdown(wait=True)
            self._sender.close()
            if self._connection is not None:
                self._connection.close()

    def _loop(self, executor: ThreadPoolExecutor) -> None:
        # more_due: there may be due work now, so claim as soon as slots are
        # free. It is set by a notification, by a claim that found work, and
        # by recorded results, which free per-webhook capacity.
        more_due = True
        next_poll = 0.0
        last_activity = float("-inf")
        while not (
            self._stopping.is_set() and self._in_flight == 0 and not self._pending
        ):
            self._collect_results()

            # A slot is free as soon as its request has ended, so claiming
            # comes first. The next requests are then on their way while the
            # results of the last ones are written.
            free = self._concurrency - self._in_flight
            now = time.monotonic()
            if self._notified.is_set():
                self._notified.clear()
                more_due = True
                last_activity = now
            wants_claim = more_due or now >= next_poll
            if not self._stopping.is_set() and wants_claim and free >= self._min_claim:
                claims, token = self._claim(min(free, MAX_CLAIM_BATCH))
                for claim in self._decrypted(claims):
                    self._in_flight += 1
                    executor.submit(self._deliver, claim, token)
                more_due = bool(claims)
                if claims:
                    last_activity = now
                # Soon after activity, look again shortly for events whose
                # transactions skipped the debounced notification.
                recent = now - last_activity < 2 * FOLLOW_UP_DELAY
                next_poll = now + (FOLLOW_UP_DELAY if recent else POLL_INTERVAL)

            if self._pending and self._should_record():
                if self._record_pending():
                    more_due = True

            self._wait(more_due, next_poll)

    def _should_record(self) -> bool:
        return (
            self._stopping.is_set()
            or len(self._pending) >= self._min_claim
            or self._in_flight == 0
            or time.monotonic() - self._first_pending_at >= RESULT_LINGER
        )

    def _wait(self, more_due: bool, next_poll: float) -> None:
        free = self._concurrency - self._in_flight
        now = time.monotonic()
        if self._stopping.is_set():
            timeout = RESULT_LINGER
        elif more_due and free >= self._min_claim:
            timeout = 0.0
        else:
            timeout = max(0.0, next_poll - now)
        if self._pending:
            timeout = min(
                timeout, max(0.0, self._first_pending_at + RESULT_LINGER - now)
            )
        if timeout > 0:
            self._wake.wait(timeout)
        self._wake.clear()

    def _collect_results(self) -> None:
        while True:
            try:
                finished = self._results.get_nowait()
            except queue.Empty:
                return
            if not self._pending:
                self._first_pending_at = time.monotonic()
            self._pending.append(finished)
            self._in_flight -= 1

    def _decrypted(self, claims: list[Claim]) -> Iterator[Claim]:
        """Yield the claims with their signing secrets decrypted.

        A claim whose secrets cannot be decrypted is left running without a
        result: its lease runs out and a relay takes it again, so a wrong
        key delays deliveries, loudly, but loses none and uses no retry.
        """
        for claim in claims:
            try:
                secrets = self._cipher.decrypt_all(claim.secrets)
            except SecretUnreadable as error:
                log.error(
                    "instance %s not delivered, taken again after its lease: %s %s",
                    claim.instance_id,
                    error.message,
                    error.hint,
                    extra={
                        "instance_id": str(claim.instance_id),
                        "webhook_id": str(claim.webhook_id),
                    },
                )
                continue
            yield replace(claim, secrets=secrets)

    def _deliver(self, claim: Claim, token: uuid.UUID) -> None:
        request = build_request(
            message_id=str(claim.instance_id),
            webhook_id=str(claim.webhook_id),
            event_code=claim.event_code,
            retry_number=claim.retry_number,
            payload=claim.payload,
            signing_secrets=claim.secrets,
        )
        try:
            with metrics.DELIVERIES_IN_FLIGHT.track_inprogress():
                outcome = self._sender.post(claim.url, request)
        except Exception as error:  # a bug must not lose the claim's result
            log.exception(
                "delivery crashed", extra={"instance_id": str(claim.instance_id)}
            )
            outcome = Outcome(
                success=False,
                message=f"Relay error: {type(error).__name__}",
                duration_ms=0,
            )
        self._results.put(_Finished(claim=claim, token=token, outcome=outcome))
        self._wake.set()

    def _claim(self, limit: int) -> tuple[list[Claim], uuid.UUID]:
        token = uuid.uuid4()
        claims = self._with_connection(
            lambda connection: delivery_queue.claim(
                connection,
                limit,
                self._settings.lease,
                token,
                self._settings.max_in_flight_per_webhook,
            ),
            default=[],
        )
        metrics.count_claim(len(claims))
        if claims:
            log.debug(
                "claimed %d instances", len(claims), extra={"claimed": len(claims)}
            )
        return claims, token

    # TODO: record on a second connection in its own thread, so that claims
    # and recordings overlap. Under load the main thread spends most of its
    # time waiting on these round trips while the delivery threads idle
    # (docs/benchmarks.md).
    def _record_pending(self) -> bool:
        """Record the finished results; return False when that had to wait."""
        by_token: dict[uuid.UUID, list[_Finished]] = {}
        for finished in self._pending:
            by_token.setdefault(finished.token, []).append(finished)

        webhook_ids = sorted({item.claim.webhook_id for item in self._pending})

        def record(connection: psycopg.Connection) -> list[Recorded]:
            decisions: list[Recorded] = []
            try:
                with connection.transaction():
                    if len(by_token) > 1:
                        delivery_queue.lock_webhooks(connection, webhook_ids)
                    for token, batch in by_token.items():
                        results = [
                            item.outcome.as_result(str(item.claim.instance_id))
                            for item in batch
                        ]
                        decisions.extend(
                            delivery_queue.record_executions(connection, token, results)
                        )
            except psycopg.OperationalError:
                raise
            except psycopg.Error as error:
                # One result the database rejects must not take the batch,
                # and the worker, down with it.
                log.error(
                    "recording %d results failed, recording one at a time: %s",
                    len(self._pending),
                    _first_line(error),
                )
                return [
                    decision
                    for item in self._pending
                    for decision in _record_alone(connection, item)
                ]
            return decisions

        decisions = self._with_connection(record, default=None)
        if decisions is None:
            return False  # kept in self._pending and written after reconnecting
        recorded = {decision.instance_id: decision for decision in decisions}
        for finished in self._pending:
            decision = recorded.get(finished.claim.instance_id)
            _log_outcome(finished, decision)
            metrics.count_delivery(
                finished.claim.event_code, finished.outcome, decision
            )
        self._pending = []
        return True

    def _with_connection(
        self, action: Callable[[psycopg.Connection], _T], *, default: _D
    ) -> _T | _D:
        """Run action on the main connection, reconnecting once if it was lost.

        Returns default when the database stays unreachable; the caller
        tries again on its next turn, so the loop never spins.
        """
        for attempt in range(2):
            try:
                connection = self._ensure_connection()
                return action(connection)
            except (DatabaseUnavailable, psycopg.OperationalError) as error:
                self._drop_connection(error)
                if attempt == 0:
                    continue
        self._pause_after_failure()
        return default

    def _ensure_connection(self) -> psycopg.Connection:
        if self._connection is None or self._connection.closed:
            self._connection = connect(self._settings.database_url)
            if self._lost_since is not None:
                log.info(
                    "database connection restored after %.1f s",
                    time.monotonic() - self._lost_since,
                )
                self._lost_since = None
            self._failures = 0
        return self._connection

    def _drop_connection(self, error: Exception) -> None:
        if self._lost_since is None:
            self._lost_since = time.monotonic()
            log.error("database connection lost, reconnecting: %s", _first_line(error))
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None
        self._failures += 1

    def _pause_after_failure(self) -> None:
        step = min(max(self._failures, 1), len(_RECONNECT_DELAYS)) - 1
        delay = _RECONNECT_DELAYS[step]
        self._wake.wait(delay)
        self._wake.clear()

    def _listen(self) -> None:
        """Wake the main loop on every NOTIFY; reconnect when the link drops."""
        failures = 0
        while not self._stopping.is_set():
            try:
                with connect(self._settings.database_url) as connection:
                    connection.execute(f"LISTEN {WAKEUP_CHANNEL}")
                    failures = 0
                    # A wake-up right after (re)connecting covers events
                    # committed while nobody was listening.
                    self._notify()
                    while not self._stopping.is_set():
                        for _notification in connection.notifies(
                            timeout=1.0, stop_after=1
                        ):
                            self._notify()
            except (DatabaseUnavailable, psycopg.OperationalError) as error:
                failures += 1
                log.debug("listener connection failed: %s", _first_line(error))
                delay = _RECONNECT_DELAYS[min(failures, len(_RECONNECT_DELAYS)) - 1]
                self._stopping.wait(delay)

    def _notify(self) -> None:
        self._notified.set()
        self._wake.set()


def _record_alone(connection: psycopg.Connection, item: _Finished) -> list[Recorded]:
    """Record one result; if the database rejects it, record it without body.

    Raises only OperationalError, which the caller treats as a lost
    connection.
    """
    instance_id = str(item.claim.instance_id)
    try:
        return delivery_queue.record_executions(
            connection, item.token, [item.outcome.as_result(instance_id)]
        )
    except psycopg.OperationalError:
        raise
    except psycopg.Error as error:
        log.error(
            "result of instance %s rejected by the database, stored without"
            " the response body: %s",
            instance_id,
            _first_line(error),
            extra={"instance_id": instance_id},
        )
    outcome = item.outcome
    stripped = Outcome(
        success=outcome.success,
        message=f"{outcome.message}; response not stored: the database rejected it",
        duration_ms=outcome.duration_ms,
        has_response=outcome.has_response,
        response_status=outcome.response_status,
        response_headers={} if outcome.has_response else None,
        response_body=None,
    )
    try:
        return delivery_queue.record_executions(
            connection, item.token, [stripped.as_result(instance_id)]
        )
    except psycopg.OperationalError:
        raise
    except psycopg.Error as error:
        # TODO: such an instance is tried again after its lease; count these
        # tries and fail the instance for good after a few.
        log.error(
            "result of instance %s could not be recorded: %s",
            instance_id,
            _first_line(error),
            extra={"instance_id": instance_id},
        )
        return []


def _log_outcome(finished: _Finished, decision: Recorded | None) -> None:
    claim = finished.claim
    outcome = finished.outcome
    extra = {
        "instance_id": str(claim.instance_id),
        "webhook_id": str(claim.webhook_id),
        "event_code": claim.event_code,
        "retry_number": claim.retry_number,
        "status": outcome.response_status,
        "duration_ms": outcome.duration_ms,
    }
    if decision is None:
        log.info(
            "result of instance %s dropped: its claim was lost or the webhook deleted",
            claim.instance_id,
            extra=extra,
        )
        return
    if decision.state == "success":
        log.info(
            "delivered instance %s to webhook %s: %s",
            claim.instance_id,
            claim.webhook_id,
            outcome.message,
            extra=extra,
        )
    elif decision.due_at is not None:
        log.warning(
            "try of instance %s failed (%s), retry at %s, %d retries left",
            claim.instance_id,
            outcome.message,
            decision.due_at.isoformat(timespec="seconds"),
            decision.remaining_retries,
            extra=extra,
        )
    elif decision.remaining_retries > 0:
        log.warning(
            "try of instance %s failed (%s), retries held while webhook %s is disabled",
            claim.instance_id,
            outcome.message,
            claim.webhook_id,
            extra=extra,
        )
    else:
        log.warning(
            "instance %s failed with no retries left: %s",
            claim.instance_id,
            outcome.message,
            extra=extra,
        )
    if decision.notification == "webhook.disabled":
        log.warning(
            "webhook %s disabled after %d successive failures, last: %s",
            claim.webhook_id,
            decision.failure_count,
            outcome.message,
            extra=extra,
        )
    elif decision.notification == "webhook.failing":
        log.warning(
            "webhook %s is failing: %d successive failures",
            claim.webhook_id,
            decision.failure_count,
            extra=extra,
        )
    elif decision.notification == "webhook.recovered":
        log.info("webhook %s recovered", claim.webhook_id, extra=extra)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
