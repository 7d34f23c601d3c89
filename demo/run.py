"""Run Streto Webhooks end to end on this machine and show what happened.

Starts the API (gunicorn), the relay and the sample receiver on 127.0.0.1
against a fresh database named streto_webhooks_demo, creates three
webhooks through the API, emits the feature description's sample events
with `relay emit`, and prints a table once every delivery has settled:
one webhook gets everything on the first try, one after a retry, and one
is disabled after successive failures. Then it keeps everything running
for you to explore until Ctrl-C.
"""

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import psycopg.sql
import urllib3

ROOT = Path(__file__).resolve().parent.parent
DEMO_DATABASE = "streto_webhooks_demo"
SETTLE_TIMEOUT = 90.0

WEBHOOKS = [
    {
        "name": "ERP orders",
        "description": "Orders and invoices for the ERP; accepts every delivery.",
        "path": "/erp",
        "eventCodes": ["order.created", "order.updated", "invoice.created"],
    },
    {
        "name": "Warehouse shipments",
        "description": "Shipments for the warehouse; busy on the first try.",
        "path": "/warehouse",
        "eventCodes": ["shipment.created", "shipment.updated"],
    },
    {
        "name": "Legacy catalog sync",
        "description": "An old catalog service that always answers 500.",
        "path": "/legacy",
        "eventCodes": [
            "product.created",
            "product.updated",
            "import.started",
            "import.finished",
        ],
    },
]
# The two shipment events go out back to back: both first tries must fail
# before the first retry succeeds, so that the warehouse webhook reaches
# two successive failures (a warning) and then recovers.
EVENT_ORDER = [
    "import.started",
    "product.created",
    "order.created",
    "invoice.created",
    "order.updated",
    "shipment.created",
    "shipment.updated",
    "product.updated",
    "import.finished",
]


class Demo:
    """The processes of one demo run and how to stop them."""

    def __init__(self, server_url: str, database: str = DEMO_DATABASE) -> None:
        self.server_url = server_url
        self.database = database
        self.database_url = _with_database(server_url, database)
        self.token = secrets.token_urlsafe(18)
        self.processes: list[subprocess.Popen[Any]] = []
        self.http = urllib3.PoolManager(retries=False, timeout=15)
        self.api_port = _free_port()
        self.log_dir = Path(tempfile.mkdtemp(prefix="streto-webhooks-demo-"))
        self.env = dict(os.environ)
        self.env.update(
            {
                "DATABASE_URL": self.database_url,
                "WEBHOOKS_API_TOKENS": f"demo:{self.token}",
                # Everything runs on 127.0.0.1, which the guard blocks by default.
                "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
                # Short delays and threshold so the flows finish in seconds.
                "WEBHOOKS_RETRY_DELAYS": "3s,4s,8s,16s",
                "WEBHOOKS_DISABLE_AFTER": "3",
                "PYTHONUNBUFFERED": "1",
            }
        )

    def start(self) -> None:
        """Create the database and start the receiver, the API and the relay."""
        _step(f"creating database {self.database}")
        name = psycopg.sql.Identifier(self.database)
        with psycopg.connect(self.server_url, autocommit=True) as connection:
            connection.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name)
            )
            connection.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(name))
        _step("relay migrate")
        subprocess.run([*_relay(), "migrate"], env=self.env, check=True)

        _step("starting the sample receiver")
        self.receiver = self._spawn(
            [sys.executable, str(ROOT / "demo" / "receiver.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.receiver.stdout is not None
        first_line = self.receiver.stdout.readline().split()
        self.receiver_port = int(first_line[1])
        self._echo_receiver()

        _step(f"starting the API on 127.0.0.1:{self.api_port}")
        self._spawn(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--bind",
                f"127.0.0.1:{self.api_port}",
                "--workers",
                "2",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            cwd=ROOT,
            stderr=self._log_file("api.log"),
        )
        self._wait_for_api()

        _step("starting the relay: relay run --workers 2")
        self._spawn(
            [*_relay(), "run", "--workers", "2", "--concurrency", "10"],
            stderr=self._log_file("relay.log"),
        )
        _step(f"API and relay logs go to {self.log_dir}")

    def create_webhooks(self) -> dict[str, str]:
        """Create the three webhooks through the API; return name to id."""
        ids = {}
        for webhook in WEBHOOKS:
            body = {
                "name": webhook["name"],
                "description": webhook["description"],
                "url": f"http://127.0.0.1:{self.receiver_port}{webhook['path']}",
                "eventCodes": webhook["eventCodes"],
                "enabled": True,
            }
            created = self.api("POST", "/webhooks", body)
            ids[webhook["name"]] = created["id"]
            secret = self.api("GET", f"/webhooks/{created['id']}/secret")["secret"]
            assert self.receiver.stdin is not None
            self.receiver.stdin.write(f"{webhook['path']} {secret}\n")
            self.receiver.stdin.flush()
            _step(f"created webhook {webhook['name']!r} ({created['id']})")
        return ids

    def emit_sample_events(self) -> None:
        """Emit every catalog event with its example payload via `relay emit`."""
        catalog = {
            event["code"]: event
            for event in self.api("GET", "/webhook-events?limit=100")
        }
        for code in EVENT_ORDER:
            payload = json.dumps(catalog[code]["examplePayload"])
            result = subprocess.run(
                [*_relay(), "emit", code, "--payload", "-"],
                input=payload,
                env=self.env,
                capture_output=True,
                text=True,
                check=True,
            )
            _step(result.stdout.strip())

    def wait_until_settled(self) -> None:
        """Wait until no instance is new, running or waiting for a retry."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            while time.monotonic() < deadline:
                row = connection.execute(
                    "SELECT count(*) FROM webhooks.instance WHERE due_at IS NOT NULL"
                ).fetchone()
                if row and row[0] == 0:
                    return
                time.sleep(0.5)
        raise SystemExit(f"demo: deliveries did not settle within {SETTLE_TIMEOUT:g} s")

    def print_report(self) -> None:
        """Print the instances table, the webhooks and the notifications."""
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            instances = connection.execute(
                """
                SELECT w.name, i.event_code, i.state, i.execution_count,
                       i.remaining_retries, i.held,
                       (SELECT e.message FROM webhooks.execution AS e
                        WHERE e.instance_id = i.id
                        ORDER BY e.created_at DESC LIMIT 1)
                FROM webhooks.instance AS i
                JOIN webhooks.webhook AS w ON w.id = i.webhook_id
                ORDER BY w.name, i.created_at
                """
            ).fetchall()
            webhooks = connection.execute(
                "SELECT name, enabled, successive_failure_count FROM webhooks.webhook"
                " ORDER BY name"
            ).fetchall()
            notifications = connection.execute(
                "SELECT kind, webhook_name, message FROM webhooks.notification"
                " ORDER BY created_at"
            ).fetchall()

        print()
        _table(
            ["webhook", "event", "state", "tries", "retries left", "last execution"],
            [
                [
                    name,
                    code,
                    state + (" (held)" if held else ""),
                    str(tries),
                    str(remaining),
                    message or "",
                ]
                for name, code, state, tries, remaining, held, message in instances
            ],
        )
        print()
        _table(
            ["webhook", "enabled", "successive failures"],
            [
                [name, "yes" if enabled else "no", str(count)]
                for name, enabled, count in webhooks
            ],
        )
        print()
        _table(
            ["notification", "webhook", "last error"],
            [list(row) for row in notifications],
        )
        print()

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the management API and return the parsed JSON answer."""
        response = self.http.request(
            method,
            f"http://127.0.0.1:{self.api_port}{path}",
            body=None if body is None else json.dumps(body).encode(),
            headers={
                "authorization": f"Bearer {self.token}",
                "content-type": "application/json",
            },
        )
        if response.status >= 400:
            raise SystemExit(
                f"demo: {method} {path} returned {response.status}:"
                f" {response.data[:500]!r}"
            )
        return response.json() if response.data else None

    def stop(self) -> None:
        """Stop every process with SIGTERM, then SIGKILL what is left."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def _spawn(self, command: list[str], **options: Any) -> subprocess.Popen[Any]:
        # A new session keeps Ctrl-C from reaching the children directly, so
        # they stop in order, once, through stop().
        process = subprocess.Popen(
            command, env=self.env, start_new_session=True, **options
        )
        self.processes.append(process)
        return process

    def _log_file(self, name: str) -> Any:
        return (self.log_dir / name).open("ab")

    def _echo_receiver(self) -> None:
        def echo() -> None:
            assert self.receiver.stdout is not None
            for line in self.receiver.stdout:
                print(f"  {line.rstrip()}", flush=True)

        threading.Thread(target=echo, daemon=True).start()

    def _wait_for_api(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                response = self.http.request(
                    "GET", f"http://127.0.0.1:{self.api_port}/health", timeout=2
                )
                if response.status == 200:
                    return
            except urllib3.exceptions.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit("demo: the API did not answer /health within 30 s")


def _relay() -> list[str]:
    return [sys.executable, "-m", "relay"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _with_database(server_url: str, database: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    info["dbname"] = database
    return psycopg.conninfo.make_conninfo(**info)


def _step(text: str) -> None:
    try:
        print(f"demo: {text}", flush=True)
    except BrokenPipeError:
        # The reader went away, as with `scripts/demo | head`; the demo
        # must still reach demo.stop().
        pass


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [
        max(len(str(cell)) for cell in column)
        for column in zip(headers, *rows, strict=False)
    ]
    line = "  ".join(
        header.ljust(width) for header, width in zip(headers, widths, strict=True)
    )
    print(line)
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            )
        )


def main() -> None:
    """Run the demo; with --no-wait, stop after printing the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-wait", action="store_true", help="stop everything after the report"
    )
    parser.add_argument(
        "--database",
        default=DEMO_DATABASE,
        help="name of the database to create, replacing any of that name",
    )
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        raise SystemExit("demo: DATABASE_URL is not set; run scripts/demo instead.")

    demo = Demo(server_url, args.database)
    stopping = {"requested": False}

    def request_stop(signum: int, frame: object) -> None:
        stopping["requested"] = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, request_stop)
    # Closing the terminal sends SIGHUP; the children run in their own
    # sessions and would not see it, so stop them the same way.
    signal.signal(signal.SIGHUP, request_stop)
    try:
        demo.start()
        demo.create_webhooks()
        demo.emit_sample_events()
        _step("waiting for deliveries and retries to settle (a few seconds)")
        demo.wait_until_settled()
        demo.print_report()
        if not args.no_wait:
            print(
                f"API:      http://127.0.0.1:{demo.api_port}"
                "  (OpenAPI at /openapi.json)"
            )
            print(f"Token:    {demo.token}")
            print(
                f"Try:      curl -H 'Authorization: Bearer {demo.token}'"
                f" http://127.0.0.1:{demo.api_port}/webhooks"
            )
            print("Press Ctrl-C to stop everything.")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print()
    except subprocess.CalledProcessError as error:
        _step(f"{' '.join(error.cmd[1:])} failed with exit code {error.returncode}")
        raise SystemExit(1) from None
    finally:
        # Stop first: printing can fail when the output pipe is gone.
        demo.stop()
        _step("stopped the relay, the API and the receiver")


if __name__ == "__main__":
    main()
