"""Operator login with an API token, and the checks before every page.

The session keeps the operator name and a SHA-256 digest of the token. Each
request looks the digest up among the tokens configured now, so removing a
token from WEBHOOKS_API_TOKENS also ends the sessions opened with it.
"""

import hashlib
import hmac
import logging
from urllib.parse import urlsplit

from flask import (
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from api.admin.blueprint import blp
from api.admin.forms import ActionForm, LoginForm
from api.auth import find_operator
from api.sender import current_settings
from relay.config import ApiToken

log = logging.getLogger(__name__)

# Endpoints reachable without a session.
_PUBLIC_ENDPOINTS = frozenset(
    {"admin.login", "admin.static", "admin.bootstrap_css", "admin.not_found"}
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@blp.before_request
def require_login() -> ResponseReturnValue | None:
    """Check the CSRF token of every change, then that an operator is logged in."""
    # Imported here because api.admin imports this module first.
    from api.admin import csrf

    if request.method not in _SAFE_METHODS:
        csrf.protect()
    if request.endpoint in _PUBLIC_ENDPOINTS:
        return None

    operator = _session_operator(current_settings().api_tokens)
    if operator is None:
        session.clear()
        login_url = url_for("admin.login", next=request.full_path.rstrip("?"))
        if request.headers.get("HX-Request"):
            # htmx would swap the login page into a fragment; this header
            # makes it load the login page as a whole page instead.
            return Response(status=204, headers={"HX-Redirect": login_url})
        return redirect(login_url)
    g.operator = operator
    return None


@blp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the login form, or log in with the token it sent."""
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("admin/login.html", form=form)

    token = form.token.data or ""
    tokens = current_settings().api_tokens
    operator = find_operator(f"Bearer {token}", tokens)
    if operator is None:
        log.info("admin login rejected", extra={"remote_addr": request.remote_addr})
        form.token.errors = ["Invalid token; use a token from WEBHOOKS_API_TOKENS."]
        return render_template("admin/login.html", form=form), 401

    # A new session on every login, so an id planted before it is useless.
    session.clear()
    session["operator"] = operator
    session["token_digest"] = _digest(token)
    log.info("admin login", extra={"operator": operator})
    flash(f"Logged in as {operator}.", "success")
    return redirect(_safe_next(request.args.get("next")))


@blp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    """End the session."""
    log.info("admin logout", extra={"operator": g.operator})
    session.clear()
    flash("Logged out.", "success")
    return redirect(url_for("admin.login"))


@blp.context_processor
def inject_action_form() -> dict[str, object]:
    """Give every template an empty form for buttons that only need CSRF."""
    return {"action_form": ActionForm()}


def _session_operator(tokens: tuple[ApiToken, ...]) -> str | None:
    digest = session.get("token_digest")
    if not isinstance(digest, str):
        return None
    for api_token in tokens:
        if hmac.compare_digest(digest, _digest(api_token.token)):
            return api_token.operator
    return None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _safe_next(target: str | None) -> str:
    """Return target when it is a path inside the Admin, else the Admin home.

    Anything else, such as //evil.example or https://..., would turn the
    login into an open redirect.
    """
    default = url_for("admin.webhooks")
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin/"):
        return default
    return target
