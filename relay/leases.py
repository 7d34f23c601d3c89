"""Reset the claims that a dead relay process left behind."""

import logging
import time

import psycopg

from relay.config import Settings
from relay.database import connect
from relay.errors import DatabaseUnavailable
from relay.store import queue

log = logging.getLogger(__name__)

# An expired claim shows 'running' for at most about this long. The query
# reads only the running instances through a partial index, so it is cheap.
SWEEP_INTERVAL = 2.0
BATCH_SIZE = 500


class ExpiredClaimSweeper:
    """Reset expired claims on a schedule, from the supervisor process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._next_run = time.monotonic() + SWEEP_INTERVAL
        self._connection: psycopg.Connection | None = None

    def run_if_due(self) -> None:
        """Sweep when the interval has passed; log and go on if that fails."""
        if time.monotonic() < self._next_run:
            return
        self._next_run = time.monotonic() + SWEEP_INTERVAL
        try:
            if self._connection is None or self._connection.closed:
                self._connection = connect(self._settings.database_url)
            count = sweep(self._connection)
        except DatabaseUnavailable as error:
            # The workers log the lost database; one line each is enough.
            log.debug("sweep of expired claims skipped: %s", error)
            self.close()
            return
        if count:
            log.warning(
                "reset %d instances whose claim expired; a relay process"
                " stopped while delivering them",
                count,
                extra={"instances": count},
            )

    def close(self) -> None:
        """Close the sweeper's connection, if it has one."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def sweep(connection: psycopg.Connection) -> int:
    """Reset every expired claim, batch by batch; return the count.

    The connection must be in autocommit mode, so each batch commits alone.
    """
    total = 0
    while True:
        count = queue.reset_expired_claims(connection, BATCH_SIZE)
        total += count
        if count < BATCH_SIZE:
            return total
