"""Request argument parsing shared by every blueprint.

webargs' Flask parser with stricter rules. An unknown field is rejected in
every location, including the query string. A body must be sent as JSON
(415 otherwise). JSON that Python's parser cannot turn into storable values
(nesting deep enough for a RecursionError, NaN, Infinity, numbers that
overflow) is a 400 like any other invalid JSON, never a 500.
"""

import json
import math
from typing import Any, NoReturn

import flask
import flask_smorest
import marshmallow as ma
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from api.errors import abort

# Every location name webargs parses, each set to reject unknown fields.
_LOCATIONS = (
    "json",
    "query",
    "querystring",
    "form",
    "headers",
    "cookies",
    "files",
    "json_or_form",
    "view_args",
    "path",
)


class ArgumentsSchema(ma.Schema):
    """A schema for request arguments with messages that name the fix.

    A dump-only field, such as a read-only ``id``, is unknown to loading, so
    its message is rewritten to say that the field is read-only.
    """

    error_messages: dict[str, str] = {  # noqa: RUF012 (marshmallow merges it)
        "unknown": "Unknown field; remove it from the request.",
    }

    def handle_error(
        self, error: ma.ValidationError, data: Any, *, many: bool, **kwargs: Any
    ) -> None:
        """Name read-only fields as such in the messages of error."""
        if not isinstance(error.messages, dict):
            return
        read_only = {
            field.data_key or name
            for name, field in self.fields.items()
            if field.dump_only
        }
        for key in read_only & error.messages.keys():
            error.messages[key] = ["Read-only field; remove it from the request body."]


class WebhooksParser(FlaskParser):
    """A FlaskParser that rejects unknown fields and non-JSON bodies."""

    DEFAULT_UNKNOWN_BY_LOCATION: dict[str, str | None] = dict.fromkeys(
        _LOCATIONS, ma.RAISE
    )

    def _raw_load_json(self, req: flask.Request) -> Any:
        body = req.get_data(cache=True)
        if not is_json_request(req):
            if body:
                abort(
                    415,
                    message="Send the request body as JSON with the header "
                    "Content-Type: application/json.",
                )
            return core.missing

        # A UnicodeDecodeError or JSONDecodeError goes on to webargs'
        # load_json, which reads an empty body as no body and anything else
        # as invalid JSON.
        text = body.decode("utf-8")
        try:
            return json.loads(
                text, parse_constant=_reject_constant, parse_float=_parse_finite
            )
        except json.JSONDecodeError:
            raise
        except RecursionError:
            abort(
                400,
                message="The request body is not valid JSON: it is nested too deeply.",
                errors={"json": ["Nested too deeply."]},
            )
        except ValueError:
            # Python limits integers to 4300 digits by default, and the hooks
            # reject NaN, Infinity and numbers such as 1e999 that overflow,
            # which PostgreSQL's jsonb could not store.
            abort(
                400,
                message="The request body is not valid JSON: it contains a number "
                "that is not finite or has too many digits.",
                errors={"json": ["Number out of range."]},
            )

    def _handle_invalid_json_error(
        self,
        error: json.JSONDecodeError | UnicodeDecodeError,
        req: flask.Request,
        *args: Any,
        **kwargs: Any,
    ) -> NoReturn:
        abort(
            400,
            exc=error,
            message=f"The request body is not valid JSON: {error}.",
            errors={"json": ["Invalid JSON body."]},
        )

    def handle_error(
        self,
        error: ma.ValidationError,
        req: flask.Request,
        schema: ma.Schema,
        *,
        error_status_code: int | None,
        error_headers: Any,
    ) -> NoReturn:
        """Abort with 422 and the messages of each rejected field."""
        abort(
            error_status_code or self.DEFAULT_VALIDATION_STATUS,
            exc=error,
            message="The request is invalid; errors lists the rejected fields.",
            errors=error.messages,
            headers=error_headers,
        )


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _parse_finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is out of range")
    return number


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest Blueprint that parses arguments with WebhooksParser."""

    ARGUMENTS_PARSER = WebhooksParser()
