"""The management API: a Flask app with an OpenAPI document at /openapi.json."""

import logging
from importlib import metadata

from flask import Flask

from api import (
    audit,
    events,
    health,
    instances,
    notifications,
    operator_actions,
    signing_secrets,
    webhook_tests,
    webhooks,
)
from api.admin import init_admin
from api.auth import register_bearer_auth
from api.database import init_database
from api.errors import WebhooksApi, register_error_handlers
from api.metrics import init_metrics
from api.secret_storage import init_cipher
from api.sender import init_sender
from relay.config import Settings, load_settings
from relay.delivery import Sender

log = logging.getLogger(__name__)

# Bigger request bodies get a 413. The largest valid webhook is a few KiB.
MAX_CONTENT_LENGTH = 1024 * 1024

_DESCRIPTION = """\
Manage the webhooks through which Streto delivers events to other systems.

Every endpoint except /health needs the header `Authorization: Bearer
<token>` with a token from WEBHOOKS_API_TOKENS. Dates are ISO 8601 in UTC
with milliseconds, such as `2024-01-15T16:40:36.829Z`. Errors share one body:
`code`, `status`, `message` and, for 422, `errors` with the messages of each
rejected field.
"""


def create_app(
    settings: Settings | None = None,
    *,
    sender: Sender | None = None,
    admin_poll_seconds: float = 3.0,
) -> Flask:
    """Build the API app, with settings from the environment unless given.

    sender sends the requests of execute now and the webhook test; one is
    made from settings unless given. admin_poll_seconds is how often the
    Admin's instance list refreshes while instances are new or running. The
    database is not contacted here: the connection pool opens on the first
    request that needs it.
    """
    if settings is None:
        settings = load_settings()
    if not settings.api_tokens:
        log.warning(
            "no API tokens configured, so every request except /health gets a "
            "401; set WEBHOOKS_API_TOKENS"
        )

    app = Flask(__name__)
    app.config.update(
        API_TITLE="Streto Webhooks",
        API_VERSION=_package_version(),
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": _DESCRIPTION},
            "security": [{"bearerAuth": []}],
        },
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
    )
    # Keep the field order of the schemas in responses.
    app.json.sort_keys = False  # type: ignore[attr-defined]

    api = WebhooksApi(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer"}
    )
    init_database(app, settings.database_url)
    init_sender(app, settings, sender)
    init_metrics(app)
    init_cipher(app, settings)
    register_bearer_auth(app, settings.api_tokens)
    register_error_handlers(app, api)
    for blueprint in (
        webhooks.blp,
        signing_secrets.blp,
        webhook_tests.blp,
        instances.blp,
        operator_actions.blp,
        events.blp,
        notifications.blp,
        audit.blp,
        health.blp,
    ):
        api.register_blueprint(blueprint)
    init_admin(app, poll_seconds=admin_poll_seconds)
    return app


def _package_version() -> str:
    try:
        return metadata.version("streto-webhooks")
    except metadata.PackageNotFoundError:
        return "0.0.0"
