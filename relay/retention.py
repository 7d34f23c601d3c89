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

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._next_run = time.monotonic() + 30.0

    def run_if_due(self) -> None:
        """Prune when the interval has passed; log and go on if that fails."""
        if time.monotonic() < self._next_run:
            return
        self._next_run = time.monotonic() + PRUNE_INTERVAL
        try:
            instances, events = prune(self._settings, budget_seconds=RUN_BUDGET)
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
        )
        events = _prune_batches(
            lambda: maintenance.prune_events(
                connection, now - settings.event_retention, BATCH_SIZE
            ),
            deadline,
            progress,
        )
    return instances, events


def _prune_batches(
    delete_batch: Callable[[], int],
    deadline: float | None,
    progress: Callable[[int], None] | None,
) -> int:
    total = 0
    while deadline is None or time.monotonic() < deadline:
        deleted = delete_batch()
        total += deleted
        if progress is not None and deleted:
            progress(deleted)
        if deleted < BATCH_SIZE:
            break
    return total
