"""The event catalog as the pages show it: titles by event code."""

from flask import g

from api.database import connection
from relay.store.events import EventType, list_event_types

# Far above the catalog's size; the catalog is a fixed list of Streto's
# events that migrations maintain.
_CATALOG_LIMIT = 1000


def event_types() -> list[EventType]:
    """Return the whole catalog sorted by code, read once per request."""
    if "event_types" not in g:
        g.event_types = list_event_types(connection(), limit=_CATALOG_LIMIT)
    types: list[EventType] = g.event_types
    return types


def event_titles() -> dict[str, str]:
    """Return each event code's title."""
    return {event_type.code: event_type.title for event_type in event_types()}


def event_choices() -> list[tuple[str, str]]:
    """Return (code, title) pairs for select and checkbox fields."""
    return [(event_type.code, event_type.title) for event_type in event_types()]
