"""A sample receiver for the demo, on 127.0.0.1, with three behaviours.

- ``/erp`` accepts every delivery.
- ``/warehouse`` answers 503 to the first try of each delivery and accepts
  the retry, so the demo shows a delivery that succeeds on a retry.
- ``/legacy`` always answers 500, so the demo shows auto-disable.

Every request is verified with the signing secret given for its path and
printed as one line.
"""

import argparse
import base64
import hashlib
import hmac
import http.server
import json
import sys
import threading
from typing import Any

_seen_lock = threading.Lock()
_seen_warehouse: set[str] = set()
_secrets: dict[str, str] = {}


def signature_valid(secret: str, headers: Any, body: bytes) -> bool:
    """Check a Standard Webhooks signature the way an integrator would."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [part.split(",", 1)[1] for part in headers["webhook-signature"].split()]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


class Handler(http.server.BaseHTTPRequestHandler):
    """Answer deliveries according to the path."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        delivery = json.loads(body)
        secret = _secrets.get(self.path)
        verified = (
            "signature ok"
            if secret and signature_valid(secret, self.headers, body)
            else "signature NOT verified"
        )
        status = self._status_for(delivery)
        print(
            f"receiver {self.path:<10} {delivery['eventCode']:<17}"
            f" try {delivery['retryNumber']}"
            f" -> {status} ({verified})",
            flush=True,
        )
        self.send_response(status)
        self.send_header("content-type", "application/json")
        reply = json.dumps({"received": delivery["id"]}).encode()
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def _status_for(self, delivery: dict[str, Any]) -> int:
        if self.path == "/legacy":
            return 500
        if self.path == "/warehouse":
            with _seen_lock:
                first_try = delivery["id"] not in _seen_warehouse
                _seen_warehouse.add(delivery["id"])
            return 503 if first_try else 200
        return 200

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    """Serve until interrupted; print the port on the first line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    # The demo sends "path secret" lines on standard input as it creates
    # webhooks, so the receiver can verify signatures.
    threading.Thread(target=_read_secrets, daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _read_secrets() -> None:
    for line in sys.stdin:
        path, _, secret = line.strip().partition(" ")
        if path and secret:
            _secrets[path] = secret


if __name__ == "__main__":
    main()
