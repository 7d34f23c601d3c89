"""The WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``.

Importing this module reads the configuration from the environment but does
not connect to the database.
"""

import logging

from api import create_app

logging.basicConfig(
    level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
)

app = create_app()
