"""Turn errors into flask-smorest's JSON error body.

Every error response has the same body: ``code`` (the HTTP status),
``status`` (its name), ``message`` and, for 422, ``errors`` with the messages
per field. The relay's own errors map to statuses as follows:

    NotFound             404
    Conflict             409
    InvalidInput         422
    DatabaseUnavailable  503

Any other exception becomes a 500 with the same body and no traceback.
"""

import http
import logging
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import flask_smorest
from flask import Flask
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from relay.errors import (
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    NotFound,
    WebhooksError,
)

log = logging.getLogger(__name__)

_STATUS_BY_ERROR: dict[type[WebhooksError], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    DatabaseUnavailable: 503,
}

ViewFunction = TypeVar("ViewFunction", bound=Callable[..., Any])

# flask_smorest.abort is webargs' abort, re-exported without type hints, so
# the annotation restores its NoReturn for the type checker. It raises the
# HTTPException that WebhooksApi.handle_http_exception turns into JSON.
abort: Callable[..., NoReturn] = flask_smorest.abort


class WebhooksApi(flask_smorest.Api):
    """The flask-smorest Api with a message on every error response.

    Werkzeug's description of the status fills in the message when none was
    given, and a 405 keeps its Allow header.
    """

    def handle_http_exception(self, error: HTTPException) -> Any:
        """Return the JSON error body, status and headers for error."""
        payload, status, headers = super().handle_http_exception(error)
        if "message" not in payload and error.description:
            payload["message"] = error.description
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers = {**headers, "Allow": ", ".join(sorted(error.valid_methods))}
        return payload, status, headers


def register_error_handlers(app: Flask, api: WebhooksApi) -> None:
    """Send the relay's errors through abort and the Api's error handler."""

    def handle_webhooks_error(error: WebhooksError) -> Any:
        status = _status_for(error)
        if status == 503:
            log.warning("database unavailable: %s", error.message)
        message = f"{error.message} {error.hint}" if error.hint else error.message
        try:
            abort(status, message=message)
        except HTTPException as http_error:
            return api.handle_http_exception(http_error)

    app.register_error_handler(WebhooksError, handle_webhooks_error)


def error_responses(
    blueprint: flask_smorest.Blueprint, *status_codes: int
) -> Callable[[ViewFunction], ViewFunction]:
    """Document error statuses of a view with the shared error response."""

    def decorate(view: ViewFunction) -> ViewFunction:
        for status_code in status_codes:
            name = http.HTTPStatus(status_code).name
            view = blueprint.alt_response(status_code, response=name)(view)
        return view

    return decorate


def _status_for(error: WebhooksError) -> int:
    for error_class in type(error).__mro__:
        if error_class in _STATUS_BY_ERROR:
            return _STATUS_BY_ERROR[error_class]
    return 500
