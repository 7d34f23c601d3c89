"""Sign delivery requests as the Standard Webhooks specification describes.

A signature is ``v1,`` followed by the base64 HMAC-SHA256 of
``{webhook-id}.{webhook-timestamp}.{body}``, keyed by the secret's decoded
bytes. While a rotated-out secret is still valid the header carries one
signature per secret, separated by spaces, so receivers that still hold the
old secret keep verifying.
"""

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def generate_secret() -> str:
    """Return a new signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``v1,<base64>`` signature of one request with one secret."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed_content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed_content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(
    signing_secrets: list[str], message_id: str, timestamp: int, body: bytes
) -> str:
    """Return the ``webhook-signature`` value: one signature per secret."""
    return " ".join(
        sign(secret, message_id, timestamp, body) for secret in signing_secrets
    )
