"""The webhook test endpoint: send one signed request now and show the answer."""

import uuid
from typing import Any

from flask.views import MethodView

from api.arguments import Blueprint
from api.database import connection
from api.errors import error_responses
from api.secret_storage import current_cipher
from api.sender import current_sender
from api.webhook_test_schemas import WebhookTestResultSchema, WebhookTestSchema
from relay.operator import WebhookTestResult, send_test

blp = Blueprint(
    "webhook-tests",
    __name__,
    url_prefix="/webhooks",
    description="Test requests: check a receiver with one signed request, "
    "without storing anything.",
)


@blp.route("/<uuid:webhook_id>/test")
class WebhookTest(MethodView):
    """A test request to a webhook's URL."""

    @blp.arguments(WebhookTestSchema, required=False)
    @blp.response(200, WebhookTestResultSchema)
    @error_responses(blp, 400, 413, 415, 401, 404, 503)
    def post(self, body: dict[str, Any], webhook_id: uuid.UUID) -> WebhookTestResult:
        """Send a test request to the webhook's URL.

        Sends one request now, signed with the webhook's signing secrets like
        every delivery, and returns what the receiver answered. The body's
        `id` is a new random UUID and `retryNumber` is 0. Works on disabled
        webhooks. Nothing is stored: no instance, no execution, and no
        change to the webhook's `successiveFailureCount` or `updatedAt`.
        """
        return send_test(
            connection(),
            current_sender(),
            webhook_id,
            cipher=current_cipher(),
            event_code=body.get("event_code"),
            payload=body.get("payload"),
        )
