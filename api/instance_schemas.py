"""Schemas of the instance endpoints: instances, executions and filters."""

from typing import Any

import marshmallow as ma

from api.arguments import ArgumentsSchema
from api.fields import Text, UtcDateTime
from api.lists import PagingSchema, sort_field
from api.webhook_schemas import validate_known_event_codes
from relay.store.instances import STATES

# The keys of an execution that are left out when no HTTP response came.
RESPONSE_KEYS = ("responseStatus", "responseHeaders", "responseBody")


class ExecutionResultSchema(ma.Schema):
    """What one HTTP try to a receiver brought back.

    `responseStatus`, `responseHeaders` and `responseBody` are absent when no
    HTTP response came: connection refused, DNS failure, timeout or a
    blocked destination.
    """

    created_at = UtcDateTime(
        data_key="createdAt",
        required=True,
        metadata={"description": "When the request was sent."},
    )
    success = ma.fields.Boolean(
        required=True, metadata={"description": "Whether the status was 2xx."}
    )
    message = ma.fields.String(
        required=True,
        metadata={
            "description": "One sentence, such as `HTTP 200 OK`, `Connection "
            "refused` or `Timed out after 10 s`.",
            "example": "HTTP 503 Service Unavailable",
        },
    )
    response_status = ma.fields.Integer(data_key="responseStatus")
    response_headers = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        data_key="responseHeaders",
        metadata={"description": "The response headers, with lowercase names."},
    )
    response_body = ma.fields.Raw(
        data_key="responseBody",
        allow_none=True,
        metadata={
            "description": "The parsed JSON when the content type is JSON and the "
            "body parses, the text otherwise, null for an empty body. Bodies over "
            "64 KiB are cut to 64 KiB of text, and `message` says so."
        },
    )

    @ma.post_dump(pass_original=True)
    def drop_absent_response(
        self, data: dict[str, Any], original: Any, **kwargs: Any
    ) -> dict[str, Any]:
        """Leave out the response keys when no HTTP response came."""
        if not original.has_response:
            for key in RESPONSE_KEYS:
                data.pop(key, None)
        return data


class WebhookExecSchema(ExecutionResultSchema):
    """One HTTP try of an instance.

    `responseStatus`, `responseHeaders` and `responseBody` are absent when no
    HTTP response came: connection refused, DNS failure, timeout or a
    blocked destination.
    """

    id = ma.fields.UUID(required=True)

    class Meta:
        # Puts id first; the inherited fields would otherwise come first.
        fields = (
            "id",
            "created_at",
            "success",
            "message",
            "response_status",
            "response_headers",
            "response_body",
        )


class WebhookInstanceSchema(ma.Schema):
    """One event for one webhook, and where its delivery stands."""

    id = ma.fields.UUID(required=True)
    webhook_id = ma.fields.UUID(data_key="webhookId", required=True)
    created_at = UtcDateTime(data_key="createdAt", required=True)
    updated_at = UtcDateTime(
        data_key="updatedAt",
        required=True,
        allow_none=True,
        metadata={"description": "null until the instance first changes state."},
    )
    state = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(STATES),
        metadata={
            "description": "new: not tried yet; running: a try is under way; "
            "success: delivered; failed: the last try failed, and the next "
            "retry is due later while remainingRetries > 0; canceled: an "
            "operator canceled the retries."
        },
    )
    remaining_retries = ma.fields.Integer(
        data_key="remainingRetries",
        required=True,
        metadata={"description": "Automatic retries left after a failure."},
    )
    event_code = ma.fields.String(data_key="eventCode", required=True)
    payload = ma.fields.Dict(
        required=True, metadata={"description": "The event's payload as emitted."}
    )


class WebhookInstanceDetailSchema(WebhookInstanceSchema):
    """An instance with every execution, oldest first."""

    executions = ma.fields.List(ma.fields.Nested(WebhookExecSchema), required=True)


class InstanceFilterSchema(ArgumentsSchema):
    """The filters of the instance list, count and bulk retry."""

    state = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(STATES)),
        metadata={
            "description": "Only instances in one of these states; repeat the "
            "parameter for several, as in `state=failed&state=canceled`."
        },
    )
    event_code = Text(
        data_key="eventCode",
        metadata={"description": "Only instances of this event code."},
    )
    created_from = UtcDateTime(
        data_key="createdFrom",
        metadata={"description": "Only instances created at or after this time."},
    )
    created_to = UtcDateTime(
        data_key="createdTo",
        metadata={"description": "Only instances created at or before this time."},
    )

    @ma.validates("event_code")
    def validate_event_code(self, value: str, data_key: str, **kwargs: Any) -> None:
        """Reject an event code that is not in the catalog."""
        validate_known_event_codes([value])


class InstanceListArgumentsSchema(InstanceFilterSchema, PagingSchema):
    """The filters, paging and sort of the instance list."""

    sort = sort_field(["createdAt"], default="-createdAt")


class RecoverSchema(ArgumentsSchema):
    """The start of the period whose missed events to recover."""

    since = UtcDateTime(
        required=True,
        metadata={
            "description": "Recover the events emitted at or after this time. "
            "Events are kept for WEBHOOKS_EVENT_RETENTION (7 days by default)."
        },
    )
