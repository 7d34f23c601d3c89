"""Bearer token authentication of API requests.

Every path needs ``Authorization: Bearer <token>`` with one of the tokens
from WEBHOOKS_API_TOKENS, except /health, which load balancers call without
credentials, /metrics, which Prometheus scrapes (api.metrics says why it
is public), and /admin/, whose pages have their own login. The operator
name of the matched token is kept in flask.g.operator.
"""

import hmac
from typing import NoReturn

from flask import Flask, g, request

from api.errors import abort
from relay.config import ApiToken

PUBLIC_PATHS = frozenset({"/health", "/metrics"})
PUBLIC_PREFIX = "/admin"


def register_bearer_auth(app: Flask, tokens: tuple[ApiToken, ...]) -> None:
    """Reject requests without a valid bearer token before any view runs."""

    def require_bearer_token() -> None:
        if is_public_path(request.path):
            return
        authorization = request.headers.get("Authorization", "")
        if not authorization:
            _reject(
                "Missing bearer token; send the header Authorization: Bearer <token>."
            )
        operator = find_operator(authorization, tokens)
        if operator is None:
            _reject("Invalid bearer token; use a token from WEBHOOKS_API_TOKENS.")
        g.operator = operator

    app.before_request(require_bearer_token)


def is_public_path(path: str) -> bool:
    """Return whether path is served without a bearer token."""
    return (
        path in PUBLIC_PATHS
        or path == PUBLIC_PREFIX
        or path.startswith(f"{PUBLIC_PREFIX}/")
    )


def find_operator(authorization: str, tokens: tuple[ApiToken, ...]) -> str | None:
    """Return the operator whose token an Authorization header carries, or None.

    Every configured token is compared, each in constant time, so the time
    taken does not reveal how much of a token matched or which one did.
    """
    scheme, _, credentials = authorization.partition(" ")
    presented = credentials.strip()
    if scheme.lower() != "bearer" or not presented:
        return None

    presented_bytes = presented.encode("utf-8", "surrogateescape")
    operator = None
    for api_token in tokens:
        expected = api_token.token.encode("utf-8", "surrogateescape")
        if hmac.compare_digest(presented_bytes, expected) and operator is None:
            operator = api_token.operator
    return operator


def _reject(message: str) -> NoReturn:
    abort(401, message=message, headers={"WWW-Authenticate": "Bearer"})
