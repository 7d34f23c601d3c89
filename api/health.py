"""The /health endpoint, which load balancers call without a token."""

import marshmallow as ma
from flask.views import MethodView

from api.arguments import Blueprint
from api.database import connection
from api.errors import error_responses
from relay.store.webhooks import check_database

# Load balancers give up on a health check after a few seconds, so the check
# returns 503 sooner than a normal request would.
HEALTH_TIMEOUT = 2.0

blp = Blueprint("health", __name__, description="Whether the API can serve requests.")


class HealthSchema(ma.Schema):
    """The health of the API."""

    status = ma.fields.String(required=True, metadata={"example": "ok"})


@blp.route("/health")
class Health(MethodView):
    """The health check."""

    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    @error_responses(blp, 503)
    def get(self) -> dict[str, str]:
        """Check that the API is up and reaches its database.

        Needs no token. Returns 200 with `{"status": "ok"}`, or 503 when the
        database does not respond.
        """
        check_database(connection(timeout=HEALTH_TIMEOUT))
        return {"status": "ok"}
