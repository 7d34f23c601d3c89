"""The verification code in docs/receiving.md works on real requests."""

import re
import time
from pathlib import Path
from typing import Any

from relay.delivery import build_request
from relay.signing import generate_secret

DOC = Path(__file__).resolve().parents[2] / "docs" / "receiving.md"


def _doc_verify() -> Any:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    [source] = [block for block in blocks if "def verify(" in block]
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    return namespace["verify"]


def test_receiving_doc_verify_accepts_signed_request() -> None:
    verify = _doc_verify()
    secret = generate_secret()
    request = build_request(
        message_id="id-1",
        webhook_id="w",
        event_code="order.created",
        retry_number=0,
        payload={"a": 1},
        signing_secrets=[generate_secret(), secret],
    )

    assert verify(secret, request.body, request.headers)


def test_receiving_doc_verify_rejects_tampering() -> None:
    verify = _doc_verify()
    secret = generate_secret()
    request = build_request(
        message_id="id-1",
        webhook_id="w",
        event_code="order.created",
        retry_number=0,
        payload={"a": 1},
        signing_secrets=[secret],
    )
    old = build_request(
        message_id="id-1",
        webhook_id="w",
        event_code="order.created",
        retry_number=0,
        payload={"a": 1},
        signing_secrets=[secret],
        timestamp=int(time.time()) - 600,
    )

    assert not verify(secret, request.body + b" ", request.headers)
    assert not verify(generate_secret(), request.body, request.headers)
    assert not verify(secret, old.body, old.headers)
