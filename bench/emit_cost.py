"""The cost of emitting inside business transactions, measured with pgbench.

Two business transactions are measured: the smallest possible, one
INSERT, and an order with three order lines. Each variant runs one of
them at 16 concurrent clients. It adds nothing, or webhooks.emit with 0,
1 or 10 subscribed webhooks. Two more variants add a naive pg_notify per
transaction, or the event row alone in a copy of the outbox without its
fan-out trigger.
The variants take turns within each round, so background load on the
machine spreads over all of them, and each round's rates are divided by
that round's rate without emit.
"""

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from bench.database import add_webhooks, fresh_database
from bench.work import EVENT_CODE, PAYLOAD
from relay.migrate import migrate

CLIENTS = 16
BUSINESS_TRANSACTIONS = {
    "one-row insert": "INSERT INTO bench_order (total) VALUES (random() * 100);",
    "order with 3 lines": (
        "WITH new_order AS ("
        " INSERT INTO bench_order (total) VALUES (random() * 100) RETURNING id)"
        " INSERT INTO bench_order_line (order_id, product, quantity)"
        " SELECT new_order.id, 'product-' || n, n FROM new_order,"
        " generate_series(1, 3) AS n;"
    ),
}
_EMIT = f"SELECT webhooks.emit('{EVENT_CODE}', '{json.dumps(PAYLOAD)}'::jsonb);"


class Variant:
    """One kind of business transaction and the webhooks it runs with."""

    def __init__(self, name: str, extra_statement: str, webhooks: int) -> None:
        self.name = name
        self.extra_statement = extra_statement
        self.webhooks = webhooks

    def script(self, business: str) -> str:
        """Return the pgbench script of one transaction."""
        lines = ["BEGIN;", business, self.extra_statement, "COMMIT;"]
        return "\n".join(line for line in lines if line) + "\n"


VARIANTS = (
    Variant("no emit", "", 0),
    Variant("emit, 0 webhooks", _EMIT, 0),
    Variant("emit, 1 webhook", _EMIT, 1),
    Variant("emit, 10 webhooks", _EMIT, 10),
    Variant("naive pg_notify", "SELECT pg_notify('orders', '');", 0),
    # The floor of any outbox: the same event row in a table without the
    # fan-out trigger.
    Variant(
        "outbox row only",
        "INSERT INTO bench_outbox (event_code, payload)"
        f" VALUES ('{EVENT_CODE}', '{json.dumps(PAYLOAD)}'::jsonb);",
        0,
    ),
)


def _prepare(url: str) -> None:
    migrate(url)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE bench_order ("
            " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " total numeric NOT NULL,"
            " created_at timestamptz NOT NULL DEFAULT now())"
        )
        connection.execute(
            "CREATE TABLE bench_outbox (LIKE webhooks.outbox INCLUDING ALL)"
        )
        connection.execute(
            "CREATE TABLE bench_order_line ("
            " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " order_id bigint NOT NULL REFERENCES bench_order (id),"
            " product text NOT NULL,"
            " quantity integer NOT NULL)"
        )


def _reset(url: str, webhooks: int) -> None:
    """Empty the tables and subscribe exactly webhooks webhooks."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "TRUNCATE bench_order, bench_order_line, bench_outbox, webhooks.execution,"
            " webhooks.instance, webhooks.outbox"
        )
        connection.execute("DELETE FROM webhooks.webhook")
        # Nothing delivers during this measurement.
        add_webhooks(connection, webhooks, lambda _: "http://127.0.0.1:9/")
        connection.execute("VACUUM ANALYZE")


def _pgbench(url: str, script: Path, seconds: float) -> float:
    """Run pgbench and return its transactions per second."""
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        raise RuntimeError("pgbench not found; install the PostgreSQL client tools")
    completed = subprocess.run(
        [
            pgbench,
            "--no-vacuum",
            f"--client={CLIENTS}",
            "--jobs=2",
            f"--time={max(1, round(seconds))}",
            f"--file={script}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    match = re.search(r"^tps = ([\d.]+)", completed.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps line:\n{completed.stdout}")
    return float(match.group(1))


def run_emit_cost(*, rounds: int, seconds: float) -> list[dict[str, float]]:
    """Return, per round, each variant's rate and its share of the plain rate.

    Keys are "<business transaction>: <variant> tps" and "... share".
    """
    results = []
    with fresh_database("emit") as url, tempfile.TemporaryDirectory() as folder:
        _prepare(url)
        script = Path(folder, "transaction.sql")
        for _ in range(rounds):
            figures = {}
            for business_name, business in BUSINESS_TRANSACTIONS.items():
                rates = {}
                for variant in VARIANTS:
                    script.write_text(variant.script(business))
                    _reset(url, variant.webhooks)
                    rates[variant.name] = _pgbench(url, script, seconds)
                for name, tps in rates.items():
                    figures[f"{business_name}: {name} tps"] = tps
                    figures[f"{business_name}: {name} share"] = tps / rates["no emit"]
            results.append(figures)
    return results
