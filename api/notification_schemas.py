"""Schemas of the notification endpoints."""

import marshmallow as ma

from api.fields import UtcDateTime
from api.lists import PagingSchema

NOTIFICATION_KINDS = ("webhook.failing", "webhook.disabled", "webhook.recovered")


class NotificationSchema(ma.Schema):
    """A message to the operators about a webhook."""

    id = ma.fields.UUID(required=True)
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(NOTIFICATION_KINDS),
        metadata={
            "description": "webhook.failing: failures reached half the disable "
            "threshold; webhook.disabled: the webhook was disabled after "
            "failures or a 410 Gone; webhook.recovered: the first success "
            "after either of those."
        },
    )
    webhook_id = ma.fields.UUID(
        data_key="webhookId",
        required=True,
        allow_none=True,
        metadata={"description": "null once the webhook has been deleted."},
    )
    message = ma.fields.String(
        required=True,
        metadata={"description": "The message of the execution that caused it."},
    )
    created_at = UtcDateTime(data_key="createdAt", required=True)
    read_at = UtcDateTime(
        data_key="readAt",
        required=True,
        allow_none=True,
        metadata={
            "description": "When an operator first marked it read; null until then."
        },
    )


class NotificationListArgumentsSchema(PagingSchema):
    """The filter and paging of the notification list."""

    unread = ma.fields.Boolean(
        metadata={
            "description": "true: only unread notifications; false: only read "
            "ones. All when left out."
        }
    )
