"""The WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``.

Importing this module reads the configuration from the environment but does
not connect to the database. Log lines use the relay's format, plain text
or JSON as WEBHOOKS_LOG_FORMAT says.
"""

import os

from api import create_app
from relay.logs import configure_logging

configure_logging(
    os.environ.get("WEBHOOKS_LOG_LEVEL", "INFO"),
    os.environ.get("WEBHOOKS_LOG_FORMAT", "text"),
)

app = create_app()
