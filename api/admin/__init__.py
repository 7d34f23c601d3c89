"""The Admin pages under /admin/: server-rendered pages for operators.

They call the same relay.store and relay.operator functions as the API
and validate input with the API's marshmallow schemas, so a rule holds in
both places. Operators log in with an API token; the session cookie keeps
the operator name and a digest of the token, never the token itself.
"""

import logging
import os
import secrets

from flask import Flask
from flask_wtf.csrf import CSRFProtect

# The page modules add their views to blp when imported.
from api.admin import (  # noqa: F401 (imported for their routes)
    error_pages,
    instance_pages,
    login,
    notification_pages,
    static_files,
    test_page,
    webhook_pages,
)
from api.admin.blueprint import blp
from api.admin.formatting import register_filters

log = logging.getLogger(__name__)

SECRET_KEY_VARIABLE = "WEBHOOKS_SECRET_KEY"

csrf = CSRFProtect()


def init_admin(app: Flask, *, poll_seconds: float = 3.0) -> None:
    """Register the Admin pages, their session settings and CSRF checks.

    poll_seconds is how often the instance list refreshes itself while an
    instance shown is new or running.
    """
    app.config.update(
        SECRET_KEY=_secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # The API authenticates with bearer tokens, not cookies, so only
        # the Admin blueprint checks CSRF tokens (see login.require_login).
        WTF_CSRF_CHECK_DEFAULT=False,
        # A token lives as long as the session, so a form left open over
        # lunch still submits.
        WTF_CSRF_TIME_LIMIT=None,
        ADMIN_POLL_SECONDS=poll_seconds,
    )
    csrf.init_app(app)
    register_filters(app)
    app.register_blueprint(blp)


def _secret_key() -> str:
    key = os.environ.get(SECRET_KEY_VARIABLE, "").strip()
    if key:
        return key
    log.warning(
        "%s is not set, so Admin sessions are signed with a random key and "
        "end when this process restarts; set it to the same value on every "
        "API process",
        SECRET_KEY_VARIABLE,
    )
    return secrets.token_hex(32)
