"""Schemas of the webhook test endpoint: the request and its result."""

from typing import Any

import marshmallow as ma

from api.arguments import ArgumentsSchema
from api.fields import JsonObject, Text
from api.instance_schemas import ExecutionResultSchema
from api.webhook_schemas import validate_known_event_codes


class WebhookTestSchema(ArgumentsSchema):
    """The event to send in a test request; every field is optional."""

    event_code = Text(
        data_key="eventCode",
        metadata={
            "description": "An event code from GET /webhook-events. Default: the "
            "webhook's first event code, or the catalog's first code when the "
            "webhook has none."
        },
    )
    payload = JsonObject(
        metadata={
            "description": "The event payload, a JSON object. Default: the "
            "event's example payload from GET /webhook-events."
        }
    )

    @ma.validates("event_code")
    def validate_event_code(self, value: str, data_key: str, **kwargs: Any) -> None:
        """Reject an event code that is not in the catalog."""
        validate_known_event_codes([value])


class WebhookTestResultSchema(ExecutionResultSchema):
    """What the receiver answered to a test request.

    It has the fields of an execution except `id`, since nothing is stored.
    `responseStatus`, `responseHeaders` and `responseBody` are absent when no
    HTTP response came: connection refused, DNS failure, timeout or a
    blocked destination.
    """
