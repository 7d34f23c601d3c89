"""Schemas of the event catalog endpoints."""

import marshmallow as ma

from api.arguments import ArgumentsSchema
from api.fields import Text
from api.lists import PagingSchema, sort_field


class EventTypeSchema(ma.Schema):
    """An event that webhooks can listen to."""

    code = ma.fields.String(
        required=True,
        metadata={"description": "The event code, such as order.created."},
    )
    title = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    example_payload = ma.fields.Dict(
        data_key="examplePayload",
        required=True,
        metadata={"description": "A payload of this event, for testing receivers."},
    )


class EventTypeFilterSchema(ArgumentsSchema):
    """The filter of the event catalog list and count."""

    code = Text(
        metadata={"description": "The start of the code, such as `order.`."},
    )


class EventTypeListArgumentsSchema(EventTypeFilterSchema, PagingSchema):
    """The filter, paging and sort of the event catalog list."""

    sort = sort_field(["code"], default="code")
