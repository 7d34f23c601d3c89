"""Standard Webhooks signatures, checked with the reference library."""

import base64

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from relay.delivery import build_request
from relay.signing import generate_secret, sign


def test_generate_secret_format() -> None:
    secret = generate_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert generate_secret() != secret


def test_build_request_verifies_with_reference_library() -> None:
    secret = generate_secret()

    request = build_request(
        message_id="9a91b41b-d52c-4c3b-844f-c6d8af3046a1",
        webhook_id="141b8bb3-2b86-4278-80c6-c8d4c21ce371",
        event_code="order.created",
        retry_number=2,
        payload={"street": "Fake St. 1234\n", "name": "Año"},
        signing_secrets=[secret],
    )

    verified = Webhook(secret).verify(request.body, request.headers)
    assert verified["retryNumber"] == 2
    assert verified["payload"]["name"] == "Año"


def test_build_request_rotation_signs_with_both_secrets() -> None:
    new, old = generate_secret(), generate_secret()

    request = build_request(
        message_id="id-1",
        webhook_id="w",
        event_code="order.created",
        retry_number=0,
        payload={},
        signing_secrets=[new, old],
    )

    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(request.body, request.headers)
    Webhook(old).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(request.body, request.headers)


def test_sign_covers_timestamp() -> None:
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()

    signature = sign(secret, "msg_1", 1700000000, b"{}")

    assert signature.startswith("v1,")
    assert signature == sign(secret, "msg_1", 1700000000, b"{}")
    assert signature != sign(secret, "msg_1", 1700000001, b"{}")
