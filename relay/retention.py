"""Delete finished instances and old events in small batches."""

import logging
import time
from collections.abc import Callable

from relay.config import Settings
from relay.database import connect
from relay.errors import DatabaseUnavailable
from relay.store import maintenance

log = logging.getLogger(__name__)

BATCH_SIZE = 500
# The daemon prunes this often; each run stops after RUN_BUDGET seconds.
PRUNE_INTERVAL = 600.0
RUN_BUDGET = 10.0


class Pruner:
    """Prune on a schedule, from the relay's supervisor process."""

    def __init__(self, settings: Settings, *, first_run_in: float = 30.0) -> None:
        self._settings = settings
        self._next_run = time.monotonic() + first_run_in

    def run_if_due(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Prune when the interval has passed; log and go on if that fails.

        should_stop is checked between batches, so a stopping relay does
        not wait for the whole run.
        """
        if time.monotonic() < self._next_run:
            return
        self._next_run = time.monotonic() + PRUNE_INTERVAL
        try:
            instances, events = prune(
                self._settings, budget_seconds=RUN_BUDGET, should_stop=should_stop
            )
        except DatabaseUnavailable as error:
            log.warning("prune skipped: %s", error)
            return
        if instances or events:
            log.info(
                "pruned %d instances and %d events",
                instances,
                events,
                extra={"instances": instances, "events": events},
            )


def prune(
    settings: Settings,
    *,
    budget_seconds: float | None = None,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> tuple[int, int]:
    """Delete what retention allows, batch by batch; return the two counts.

    Each batch commits on its own so no long transaction holds back vacuum
    or locks rows that the relay wants.
    """
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    with connect(settings.database_url) as connection:
        now = maintenance.database_now(connection)
        instances = _prune_batches(
            lambda: maintenance.prune_instances(
                connection, now - settings.instance_retention, BATCH_SIZE
            ),
            deadline,
            progress,
            should_stop,
        )
        events = _prune_batches(
            lambda: maintenance.prune_events(
                connection, now - settings.event_retention, BATCH_SIZE
            ),
            deadline,
            progress,
            should_stop,
        )
    return instances, events


def _prune_batches(
    delete_batch: Callable[[], int],
    deadline: float | None,
    progress: Callable[[int], None] | None,
    should_stop: Callable[[], bool],
) -> int:
    total = 0
    while deadline is None or time.monotonic() < deadline:
        if should_stop():
            break
        deleted = delete_batch()
        total += deleted
        if progress is not None and deleted:
            progress(deleted)
        if deleted < BATCH_SIZE:
            break
    return total
