"""Put back the claims that a dead relay left on disabled webhooks."""

import logging
import time

from relay.config import Settings
from relay.database import connect
from relay.errors import DatabaseUnavailable
from relay.store import queue

log = logging.getLogger(__name__)

# The supervisor looks this often; a claim expires after the lease anyway,
# so a shorter interval would only add queries.
SWEEP_INTERVAL = 30.0
BATCH_SIZE = 500


class AbandonedClaimSweeper:
    """Hold expired claims of disabled webhooks, from the supervisor process.

    The claim path takes back expired claims of enabled webhooks by itself;
    this covers the disabled ones, which it never looks at.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._next_run = time.monotonic() + SWEEP_INTERVAL

    def run_if_due(self) -> None:
        """Sweep when the interval has passed; log and go on if that fails."""
        if time.monotonic() < self._next_run:
            return
        self._next_run = time.monotonic() + SWEEP_INTERVAL
        try:
            count = sweep(self._settings)
        except DatabaseUnavailable as error:
            log.warning("sweep of abandoned claims skipped: %s", error)
            return
        if count:
            log.warning(
                "put back %d instances whose relay stopped while their webhook"
                " was disabled",
                count,
                extra={"instances": count},
            )


def sweep(settings: Settings) -> int:
    """Hold every expired claim of a disabled webhook; return the count."""
    total = 0
    with connect(settings.database_url) as connection:
        while True:
            count = queue.hold_abandoned_claims(connection, BATCH_SIZE)
            total += count
            if count < BATCH_SIZE:
                return total
