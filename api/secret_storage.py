"""The SecretCipher of the app, which stores signing secrets encrypted."""

from flask import Flask, current_app

from relay.config import Settings
from relay.secret_storage import SecretCipher

_EXTENSION = "streto-webhooks.secret-cipher"


def init_cipher(app: Flask, settings: Settings) -> None:
    """Attach the cipher of settings to app; raise ConfigError for a bad key."""
    app.extensions[_EXTENSION] = SecretCipher.from_settings(settings)


def current_cipher() -> SecretCipher:
    """Return the SecretCipher of the current app."""
    cipher: SecretCipher = current_app.extensions[_EXTENSION]
    return cipher
