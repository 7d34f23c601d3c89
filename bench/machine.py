"""Describe the machine and the PostgreSQL settings a benchmark ran with."""

import os
import platform
from pathlib import Path
from typing import Any

import psycopg

from bench.database import server_url

# The settings that change commit cost, memory and background write load.
SETTINGS = (
    "synchronous_commit",
    "fsync",
    "wal_level",
    "shared_buffers",
    "max_wal_size",
    "checkpoint_timeout",
    "max_connections",
    "autovacuum",
)


def describe_machine() -> dict[str, Any]:
    """Return CPU count, memory, Python and PostgreSQL versions and settings."""
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    with psycopg.connect(server_url(), autocommit=True) as connection:
        row = connection.execute("SHOW server_version").fetchone()
        assert row is not None
        settings = {}
        for name in SETTINGS:
            value = connection.execute(f"SHOW {name}").fetchone()
            assert value is not None
            settings[name] = value[0]
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgresql": row[0],
        "postgresql_settings": settings,
    }
