"""Enforce a whole-request deadline on sockets that urllib3 reads.

urllib3's read timeout applies to each socket read, so a receiver that
sends one byte a second, in its headers or its body, could hold a delivery
thread forever. The watchdog thread here shuts down the socket of any
request that passes its deadline; the blocked read then fails at once and
the sender reports a timeout.
"""

import socket
import threading
import time

import urllib3.connection
import urllib3.connectionpool


class DeadlineWatchdog:
    """Shut down the sockets of requests that outlive their deadline.

    A request calls start() with its deadline before sending, the
    connection attaches its socket when it starts reading the response,
    and finish() ends the watch. One thread checks every CHECK_INTERVAL.
    """

    CHECK_INTERVAL = 0.05

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[int, float] = {}
        self._sockets: dict[int, socket.socket] = {}
        self._expired: set[int] = set()
        self._thread: threading.Thread | None = None

    def start(self, deadline: float) -> None:
        """Watch the calling thread's request until finish()."""
        key = threading.get_ident()
        with self._lock:
            self._deadlines[key] = deadline
            self._expired.discard(key)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="deadline-watchdog", daemon=True
                )
                self._thread.start()

    def attach(self, sock: socket.socket | None) -> None:
        """Register the socket of the calling thread's request."""
        if sock is None:
            return
        with self._lock:
            key = threading.get_ident()
            if key in self._deadlines:
                self._sockets[key] = sock

    def finish(self) -> bool:
        """Stop watching; return True when the deadline cut the request."""
        key = threading.get_ident()
        with self._lock:
            self._deadlines.pop(key, None)
            self._sockets.pop(key, None)
            expired = key in self._expired
            self._expired.discard(key)
        return expired

    def _run(self) -> None:
        while True:
            time.sleep(self.CHECK_INTERVAL)
            now = time.monotonic()
            with self._lock:
                late = [
                    key for key, deadline in self._deadlines.items() if deadline <= now
                ]
                for key in late:
                    sock = self._sockets.pop(key, None)
                    del self._deadlines[key]
                    self._expired.add(key)
                    if sock is not None:
                        _shut_down(sock)


def _shut_down(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the peer or by urllib3


WATCHDOG = DeadlineWatchdog()


class WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    """An HTTP connection whose response reading the watchdog can cut."""

    def getresponse(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        WATCHDOG.attach(self.sock)
        return super().getresponse(*args, **kwargs)


class WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    """An HTTPS connection whose response reading the watchdog can cut."""

    def getresponse(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        WATCHDOG.attach(self.sock)
        return super().getresponse(*args, **kwargs)


class WatchedHTTPConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
    """A pool of WatchedHTTPConnection."""

    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSConnectionPool(urllib3.connectionpool.HTTPSConnectionPool):
    """A pool of WatchedHTTPSConnection."""

    ConnectionCls = WatchedHTTPSConnection


POOL_CLASSES = {"http": WatchedHTTPConnectionPool, "https": WatchedHTTPSConnectionPool}
