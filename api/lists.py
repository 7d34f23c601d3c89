"""Paging, sorting and count schemas shared by the list endpoints."""

import marshmallow as ma

from api.arguments import ArgumentsSchema

# PostgreSQL's OFFSET takes a bigint, so a larger number would be a database
# error. The cap makes it a 422 and is far above the length of any real list.
MAX_OFFSET = 2**31 - 1


class PagingSchema(ArgumentsSchema):
    """The limit and offset query parameters of a list."""

    limit = ma.fields.Integer(
        load_default=20,
        validate=ma.validate.Range(min=1, max=100),
        metadata={"description": "How many items to return, from 1 to 100."},
    )
    offset = ma.fields.Integer(
        load_default=0,
        validate=ma.validate.Range(min=0, max=MAX_OFFSET),
        metadata={"description": "How many matching items to skip."},
    )


class CountSchema(ma.Schema):
    """The number of items matching a list's filters."""

    count = ma.fields.Integer(required=True)


def sort_field(fields: list[str], default: str) -> ma.fields.String:
    """Return a ``sort`` field that accepts each of fields, ``-`` for descending."""
    choices = [choice for field in fields for choice in (field, f"-{field}")]
    return ma.fields.String(
        load_default=default,
        validate=ma.validate.OneOf(choices),
        metadata={
            "description": "The field to sort by; a leading - sorts in descending "
            f"order. Default {default}."
        },
    )


def split_sort(sort: str) -> tuple[str, bool]:
    """Split a sort value such as ``-createdAt`` into the field and descending."""
    if sort.startswith("-"):
        return sort[1:], True
    return sort, False
