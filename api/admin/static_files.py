"""Bootstrap's stylesheet, served from the bootstrap-flask package.

The file ships inside the package, so no page loads it from a CDN. It is
served under /admin/ because every other path needs a bearer token.
"""

from importlib import resources

from flask import Response, send_from_directory

from api.admin.blueprint import blp

_BOOTSTRAP_CSS = resources.files("flask_bootstrap") / "static" / "bootstrap5" / "css"


@blp.route("/vendor/bootstrap.min.css")
def bootstrap_css() -> Response:
    """Serve Bootstrap 5's minified CSS."""
    return send_from_directory(str(_BOOTSTRAP_CSS), "bootstrap.min.css", max_age=86400)
