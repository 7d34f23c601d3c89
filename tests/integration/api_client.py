"""A Flask test client of the API on a test's own database."""

import contextlib
from collections.abc import Iterator
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from api.database import get_database
from api.sender import close_sender
from relay.config import ApiToken, Settings

TOKEN = "secret-token"
OPERATOR = "alice"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@contextlib.contextmanager
def api_app(database_url: str, **settings: Any) -> Iterator[Flask]:
    """Yield the API app on database_url and close its pool afterwards.

    settings overrides fields of Settings, such as allow_private_targets.
    """
    app = create_app(
        Settings(
            database_url=database_url,
            api_tokens=(ApiToken(TOKEN, OPERATOR),),
            **settings,
        )
    )
    try:
        yield app
    finally:
        close_sender(app)
        get_database(app).close()


@contextlib.contextmanager
def api_client(database_url: str, **settings: Any) -> Iterator[FlaskClient]:
    """Yield a test client whose requests carry the bearer token."""
    with api_app(database_url, **settings) as app:
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = AUTH["Authorization"]
        yield client
