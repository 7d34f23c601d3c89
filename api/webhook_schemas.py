"""Schemas of the webhook endpoints: the entity, its changes and list filters."""

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

import marshmallow as ma

from api import database
from api.arguments import ArgumentsSchema
from api.fields import JsonBoolean, Text, UtcDateTime
from api.lists import PagingSchema, sort_field
from relay.store.events import list_event_codes

MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
MAX_URL_LENGTH = 2048
# Each code must be in the event catalog, which has far fewer; the cap keeps
# a request from making the API check thousands of entries.
MAX_EVENT_CODES = 100

# The sort fields of the webhook list and the store's sort keys behind them.
SORT_KEYS = {
    "createdAt": "created_at",
    "name": "name",
    "successiveFailureCount": "successive_failure_count",
}

# One DNS label: letters, digits, hyphens and underscores, which some
# internal names use, with no hyphen at either end.
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)", re.ASCII)

_URL_EXAMPLE = "such as https://example.com/webhooks"


def validate_webhook_url(url: str) -> None:
    """Raise ValidationError unless url is an absolute http or https URL.

    Any host form is accepted: a name with or without dots, an IPv4 address or
    a bracketed IPv6 address. Whether the host may be reached is decided at
    delivery time. User names and passwords in the URL are rejected.
    """
    if any(character.isspace() or not character.isprintable() for character in url):
        raise ma.ValidationError("Must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ma.ValidationError(
            f"Not a valid URL ({error}); send one {_URL_EXAMPLE}."
        ) from error

    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ma.ValidationError(
            f"Must be an absolute http or https URL, {_URL_EXAMPLE}."
        )
    if "@" in parts.netloc:
        raise ma.ValidationError(
            "Must not contain a user name or password; receivers check the "
            "webhook-signature header instead."
        )
    if port == 0:
        raise ma.ValidationError("Port 0 cannot receive requests; use 1 to 65535.")
    if not _is_valid_host(parts.hostname or "", bracketed=parts.netloc.startswith("[")):
        raise ma.ValidationError(
            f"Not a valid host name or IP address, {_URL_EXAMPLE}."
        )


def _is_valid_host(host: str, *, bracketed: bool) -> bool:
    if bracketed:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True

    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.removesuffix(".").split(".")
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return False
    # A name whose last label is a number is read as an IPv4 address, so it
    # has to be a valid one (this rejects 1.2.3.4.5 and 300.1.1.1).
    if labels[-1].isdigit():
        try:
            ipaddress.IPv4Address(ascii_host)
        except ValueError:
            return False
    return True


def validate_event_code_list(codes: list[str]) -> None:
    """Raise ValidationError for too many codes or a code listed twice."""
    if len(codes) > MAX_EVENT_CODES:
        raise ma.ValidationError(
            f"Must list at most {MAX_EVENT_CODES} event codes, not {len(codes)}."
        )
    validate_distinct(codes)


def validate_distinct(codes: list[str]) -> None:
    """Raise ValidationError naming every event code listed more than once."""
    seen: set[str] = set()
    repeated = []
    for code in codes:
        if code in seen and code not in repeated:
            repeated.append(code)
        seen.add(code)
    if repeated:
        raise ma.ValidationError(
            [f"Event code {code!r} is listed more than once." for code in repeated]
        )


def validate_known_event_codes(codes: list[str]) -> None:
    """Raise ValidationError naming every code missing from the event catalog."""
    if not codes:
        return
    known = list_event_codes(database.connection())
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ma.ValidationError(
            [
                f"Unknown event code {code!r}; GET /webhook-events lists the codes."
                for code in unknown
            ]
        )


class WebhookSchema(ArgumentsSchema):
    """A webhook: where and when events are delivered.

    The signing secret is not part of it.
    """

    id = ma.fields.UUID(dump_only=True)
    created_at = UtcDateTime(data_key="createdAt", dump_only=True)
    updated_at = UtcDateTime(
        data_key="updatedAt",
        dump_only=True,
        allow_none=True,
        metadata={"description": "null until the webhook is first modified."},
    )
    name = Text(
        required=True,
        strip=True,
        validate=ma.validate.Length(min=1, max=MAX_NAME_LENGTH),
        metadata={
            "description": "Name shown to operators; surrounding whitespace is "
            "removed before the length is checked."
        },
    )
    description = Text(
        allow_none=True,
        load_default=None,
        validate=ma.validate.Length(max=MAX_DESCRIPTION_LENGTH),
    )
    url = Text(
        required=True,
        validate=[ma.validate.Length(max=MAX_URL_LENGTH), validate_webhook_url],
        metadata={
            "description": "Absolute http or https URL that receives the events. "
            "It must not contain a user name or password."
        },
    )
    event_codes = ma.fields.List(
        Text(),
        data_key="eventCodes",
        load_default=list,
        validate=validate_event_code_list,
        metadata={
            "description": "Distinct event codes from GET /webhook-events, at "
            f"most {MAX_EVENT_CODES}.",
            "maxItems": MAX_EVENT_CODES,
            "uniqueItems": True,
        },
    )
    enabled = JsonBoolean(load_default=False)
    successive_failure_count = ma.fields.Integer(
        data_key="successiveFailureCount",
        dump_only=True,
        metadata={
            "description": "Failed executions since the last success; reset to 0 "
            "when the webhook is enabled."
        },
    )

    @ma.validates("event_codes")
    def validate_event_codes(
        self, value: list[str], data_key: str, **kwargs: Any
    ) -> None:
        """Reject event codes that are not in the catalog."""
        validate_known_event_codes(value)


class WebhookPatchSchema(WebhookSchema):
    """The webhook fields to change. A field left out keeps its value."""

    name = Text(
        strip=True,
        validate=ma.validate.Length(min=1, max=MAX_NAME_LENGTH),
        metadata={
            "description": "Name shown to operators; surrounding whitespace is "
            "removed before the length is checked."
        },
    )
    description = Text(
        allow_none=True, validate=ma.validate.Length(max=MAX_DESCRIPTION_LENGTH)
    )
    url = Text(
        validate=[ma.validate.Length(max=MAX_URL_LENGTH), validate_webhook_url],
        metadata={
            "description": "Absolute http or https URL that receives the events. "
            "It must not contain a user name or password."
        },
    )
    event_codes = ma.fields.List(
        Text(),
        data_key="eventCodes",
        validate=validate_event_code_list,
        metadata={
            "description": "Distinct event codes from GET /webhook-events, at "
            f"most {MAX_EVENT_CODES}; replaces the whole list.",
            "maxItems": MAX_EVENT_CODES,
            "uniqueItems": True,
        },
    )
    enabled = JsonBoolean(
        metadata={
            "description": "Enabling resets successiveFailureCount to 0 and makes "
            "held retries due; disabling holds pending retries."
        }
    )


class WebhookFilterSchema(ArgumentsSchema):
    """The filters of the webhook list and count."""

    name = Text(
        metadata={"description": "Part of the name, matched without regard to case."}
    )
    enabled = ma.fields.Boolean()
    event_code = Text(
        data_key="eventCode",
        metadata={"description": "Only webhooks listening to this event code."},
    )
    created_from = UtcDateTime(
        data_key="createdFrom",
        metadata={"description": "Only webhooks created at or after this time."},
    )
    created_to = UtcDateTime(
        data_key="createdTo",
        metadata={"description": "Only webhooks created at or before this time."},
    )

    @ma.validates("event_code")
    def validate_event_code(self, value: str, data_key: str, **kwargs: Any) -> None:
        """Reject an event code that is not in the catalog."""
        validate_known_event_codes([value])


class WebhookListArgumentsSchema(WebhookFilterSchema, PagingSchema):
    """The filters, paging and sort of the webhook list."""

    sort = sort_field(list(SORT_KEYS), default="-createdAt")
