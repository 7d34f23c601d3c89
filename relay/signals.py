"""Stop signals handled on a thread of their own, not in a signal handler.

Python runs a signal handler in the main thread between two bytecodes,
possibly while that thread owns a lock, such as the one inside a
threading.Event it is waiting on. A handler that sets that Event then waits
for a lock its own thread owns, and the process hangs. So the handler here
does nothing. signal.set_wakeup_fd writes each signal's number to a socket,
and a watcher thread reads it and calls back from ordinary thread context.
"""

import signal
import socket
import threading
from collections.abc import Callable, Iterable
from types import FrameType

# The wakeup sockets live as long as the process: a collected socket would
# close its descriptor, and signals would be lost.
_wakeup_sockets: list[socket.socket] = []


def _wake_only(signum: int, frame: FrameType | None) -> None:
    """Do nothing; the wakeup socket carries the signal to the watcher."""


def watch_signals(
    signals: Iterable[signal.Signals], on_signal: Callable[[signal.Signals], None]
) -> None:
    """Call on_signal from a daemon thread for each of signals received.

    Must be called from the main thread, once per process, since a process
    has one wakeup file descriptor.
    """
    reader, writer = socket.socketpair()
    _wakeup_sockets.extend((reader, writer))
    writer.setblocking(False)
    # warn_on_full_buffer=False: a burst of signals that fills the socket
    # loses only repeats, which on_signal would ignore anyway.
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    watched = {int(signum) for signum in signals}
    for signum in watched:
        signal.signal(signum, _wake_only)

    def watch() -> None:
        while True:
            data = reader.recv(64)
            if not data:
                return
            for number in data:
                if number in watched:
                    on_signal(signal.Signals(number))

    threading.Thread(target=watch, name="signal-watcher", daemon=True).start()
