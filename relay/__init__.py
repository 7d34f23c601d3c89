"""Streto Webhooks relay: configuration, database access, delivery and CLI."""

from relay.store.events import emit

__all__ = ["emit"]
