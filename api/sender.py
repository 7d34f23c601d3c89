"""The Sender that execute now and the webhook test share, one per app.

The Sender keeps keep-alive connections to receivers in a urllib3 pool, so
one per app lets requests to the same receiver reuse them.
"""

from flask import Flask, current_app

from relay.config import Settings
from relay.delivery import Sender

_EXTENSION = "streto-webhooks.sender"


class ApiSender:
    """The app's Sender and the settings it was made with."""

    def __init__(self, settings: Settings, sender: Sender) -> None:
        self.settings = settings
        self.sender = sender


def init_sender(app: Flask, settings: Settings, sender: Sender | None = None) -> None:
    """Attach a Sender to app, made from settings unless one is given."""
    app.extensions[_EXTENSION] = ApiSender(settings, sender or Sender(settings))


def current_sender() -> Sender:
    """Return the Sender of the current app."""
    api_sender: ApiSender = current_app.extensions[_EXTENSION]
    return api_sender.sender


def current_settings() -> Settings:
    """Return the settings the current app was created with."""
    api_sender: ApiSender = current_app.extensions[_EXTENSION]
    return api_sender.settings


def close_sender(app: Flask) -> None:
    """Close the pooled receiver connections of app's Sender."""
    api_sender: ApiSender = app.extensions[_EXTENSION]
    api_sender.sender.close()
