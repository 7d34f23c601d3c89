"""Marshmallow fields for the API's text and date rules."""

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from marshmallow.types import ErrorMessages


class Text(ma.fields.String):
    """A string that PostgreSQL can store, optionally trimmed.

    PostgreSQL text cannot hold NUL characters, and a lone surrogate cannot be
    encoded as UTF-8, so both are rejected here instead of failing in the
    database. With strip=True, surrounding whitespace is removed before the
    validators run, so a length rule counts the trimmed value.
    """

    default_error_messages: ErrorMessages = {  # noqa: RUF012 (marshmallow merges it)
        "nul": "Must not contain NUL (\\u0000) characters.",
        "surrogate": "Must not contain unpaired surrogate characters.",
    }

    def __init__(self, *, strip: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.strip = strip

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise self.make_error("nul")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise self.make_error("surrogate") from error
        return text.strip() if self.strip else text


class UtcDateTime(ma.fields.DateTime):
    """An ISO 8601 date-time, written in UTC with milliseconds and ``Z``.

    On input it accepts any ISO 8601 date or date-time that Python's
    datetime.fromisoformat reads. A value without an offset is taken as UTC,
    and a date alone means midnight UTC.
    """

    default_error_messages: ErrorMessages = {  # noqa: RUF012 (marshmallow merges it)
        "invalid": "Not a valid ISO 8601 date-time, such as 2024-01-15T16:40:36.829Z.",
    }

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        utc = value.astimezone(UTC)
        return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> Any:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            # Converting a date-time near year 1 or 9999 can leave the range.
            return parsed.astimezone(UTC)
        except (ValueError, OverflowError) as error:
            raise self.make_error("invalid") from error


class JsonBoolean(ma.fields.Boolean):
    """A boolean that accepts only JSON true and false, not 1 or "yes"."""

    default_error_messages: ErrorMessages = {  # noqa: RUF012 (marshmallow merges it)
        "invalid": "Not a boolean; send true or false.",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> Any:
        if isinstance(value, bool):
            return value
        raise self.make_error("invalid")


class JsonObject(ma.fields.Dict):
    """A JSON object that can be stored as jsonb and sent in a request.

    PostgreSQL's jsonb cannot hold NUL characters, and a lone surrogate
    cannot be encoded as UTF-8, so both are rejected in every key and
    string. Nesting deeper than MAX_JSON_DEPTH is rejected as well, since
    encoding a request body recurses once per level.
    """

    MAX_JSON_DEPTH = 64

    default_error_messages: ErrorMessages = {  # noqa: RUF012 (marshmallow merges it)
        "invalid": "Not a JSON object; send an object of names and values.",
        "nul": "Must not contain NUL (\\u0000) characters.",
        "surrogate": "Must not contain unpaired surrogate characters.",
        "depth": f"Must not be nested more than {MAX_JSON_DEPTH} levels deep.",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> Any:
        if not isinstance(value, dict):
            raise self.make_error("invalid")
        self._check_contents(value)
        return value

    def _check_contents(self, value: dict[str, Any]) -> None:
        # An explicit stack instead of recursion, so that depth is checked
        # before it could exhaust Python's stack.
        stack: list[tuple[Any, int]] = [(value, 1)]
        while stack:
            item, depth = stack.pop()
            if isinstance(item, str):
                self._check_text(item)
                continue
            if not isinstance(item, dict | list):
                continue
            if depth > self.MAX_JSON_DEPTH:
                raise self.make_error("depth")
            if isinstance(item, dict):
                for key in item:
                    self._check_text(key)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)

    def _check_text(self, text: str) -> None:
        if "\x00" in text:
            raise self.make_error("nul")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise self.make_error("surrogate") from error
