"""CPU time of the processes taking part in a run, read from /proc.

Per delivery, the CPU time of the relay or client processes, of the
database's server backends and of the receiver shows where a machine's
cores go, which the delivery rate alone does not.
"""

import os
from pathlib import Path

import psycopg

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU seconds that process pid has used."""
    # The command name in field 2 may contain spaces, so split after it.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def total_cpu_seconds(pids: list[int]) -> float:
    """Return the CPU seconds of pids together, skipping ones that exited."""
    total = 0.0
    for pid in pids:
        try:
            total += process_cpu_seconds(pid)
        except FileNotFoundError:
            continue
    return total


def backend_pids(url: str) -> list[int]:
    """Return the server processes of the other sessions on url's database.

    The server must run on this machine for their CPU time to be readable.
    """
    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(row[0]) for row in rows]
