"""A Flask test client of the API on a test's own database."""

import contextlib
from collections.abc import Iterator

from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from api.database import get_database
from relay.config import ApiToken, Settings

TOKEN = "secret-token"
OPERATOR = "alice"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@contextlib.contextmanager
def api_app(database_url: str) -> Iterator[Flask]:
    """Yield the API app on database_url and close its pool afterwards."""
    settings = Settings(
        database_url=database_url, api_tokens=(ApiToken(TOKEN, OPERATOR),)
    )
    app = create_app(settings)
    try:
        yield app
    finally:
        get_database(app).close()


@contextlib.contextmanager
def api_client(database_url: str) -> Iterator[FlaskClient]:
    """Yield a test client whose requests carry the bearer token."""
    with api_app(database_url) as app:
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = AUTH["Authorization"]
        yield client
