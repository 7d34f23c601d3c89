"""Error pages of the Admin: a short message and a way back, no traceback."""

import logging

from flask import render_template
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from api.admin.blueprint import blp
from relay.errors import DatabaseUnavailable, InvalidInput, NotFound, WebhooksError

log = logging.getLogger(__name__)


@blp.route("/<path:unknown>")
def not_found(unknown: str) -> ResponseReturnValue:
    """Answer Admin paths that match no page with the HTML not-found page."""
    return _error_page(404, "Page not found", "No Admin page has this address.")


@blp.errorhandler(WebhooksError)
def handle_webhooks_error(error: WebhooksError) -> ResponseReturnValue:
    """Show the relay's errors, such as an unknown webhook id, as a page."""
    if isinstance(error, DatabaseUnavailable):
        log.warning("database unavailable: %s", error.message)
        return _error_page(503, "Database unavailable", error.message)
    message = f"{error.message} {error.hint}" if error.hint else error.message
    if isinstance(error, NotFound):
        return _error_page(404, "Not found", message)
    status = 422 if isinstance(error, InvalidInput) else 409
    return _error_page(status, "Not possible", message)


@blp.errorhandler(HTTPException)
def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    """Show werkzeug's errors, including a missing CSRF token, as a page."""
    status = error.code or 500
    return _error_page(status, error.name, error.description or "")


@blp.errorhandler(Exception)
def handle_unexpected_error(error: Exception) -> ResponseReturnValue:
    """Log an unexpected error with its traceback and show a plain page."""
    log.exception("admin page failed")
    return _error_page(
        500,
        "Something went wrong",
        "The error was logged. Try again, and tell the team that runs Streto "
        "Webhooks if it keeps happening.",
    )


def _error_page(status: int, title: str, message: str) -> ResponseReturnValue:
    page = render_template(
        "admin/error.html", status=status, title=title, message=message
    )
    return page, status
