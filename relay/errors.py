"""Errors raised by the relay package.

    WebhooksError
    ├── NotFound            an instance or webhook does not exist (SQLSTATE WH404)
    ├── Conflict            the instance's state does not allow it (WH409)
    ├── InvalidInput        rejected input, such as an unknown code (WH422)
    ├── DatabaseUnavailable the database cannot be reached
    └── SecretUnreadable    a stored signing secret cannot be decrypted

psycopg errors are translated once, in relay.database; callers see only
these classes.
"""


class WebhooksError(Exception):
    """Base class of the errors this package raises on purpose."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class NotFound(WebhooksError):
    """The webhook, instance or notification does not exist."""


class Conflict(WebhooksError):
    """The entity's current state does not allow the action."""


class InvalidInput(WebhooksError):
    """The input breaks a rule enforced by the database."""


class DatabaseUnavailable(WebhooksError):
    """The database cannot be reached or the connection was lost."""


class SecretUnreadable(WebhooksError):
    """A stored signing secret cannot be decrypted with the configured keys."""
