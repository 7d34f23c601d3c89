"""Filters, sorting and paging of the Admin lists, read from the query string.

The values go through the API's own argument schemas, so a filter the API
rejects is rejected here too. The page then shows the message and the list
without that filter instead of failing.
"""

import math
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from flask import request

from api.admin.forms import flatten_messages

PAGE_SIZE = 20


@dataclass(frozen=True)
class Page:
    """The position of one page in a list of total items."""

    number: int
    total: int
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        """How many items come before this page."""
        return (self.number - 1) * self.size

    @property
    def count(self) -> int:
        """How many pages the list has; an empty list still has one."""
        return max(1, math.ceil(self.total / self.size))

    @property
    def first_item(self) -> int:
        """The 1-based position of the page's first item, 0 when empty."""
        return 0 if self.total == 0 else self.offset + 1

    @property
    def last_item(self) -> int:
        """The 1-based position of the page's last item."""
        return min(self.total, self.offset + self.size)


def page_number() -> int:
    """Return the page number from ``?page=``, 1 when missing or invalid."""
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        return 1
    return max(1, min(number, 10**6))


def load_arguments(
    schema: ma.Schema, values: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Load query values with an API schema, dropping the rejected ones.

    Empty values mean "no filter". Returns the loaded arguments and the
    messages about the values that were dropped.
    """
    given = {key: value for key, value in values.items() if value not in ("", [])}
    try:
        return schema.load(given), []
    except ma.ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {}
        kept = {key: value for key, value in given.items() if key not in messages}
        problems = [
            f"{key}: {text}"
            for key, value in messages.items()
            for text in flatten_messages(value)
        ]
        return schema.load(kept), problems
