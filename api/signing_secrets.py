"""The signing secret of a webhook: show it and rotate it."""

import logging
import uuid
from datetime import timedelta

from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields

from api.arguments import Blueprint
from api.audit import record_change
from api.database import connection
from api.errors import error_responses
from api.secret_storage import current_cipher
from relay.signing import generate_secret
from relay.store.webhooks import get_signing_secret, rotate_signing_secret

log = logging.getLogger(__name__)

# How long the replaced secret keeps signing after a rotation, so receivers
# can deploy the new secret without rejecting deliveries meanwhile.
ROTATION_GRACE = timedelta(hours=24)

blp = Blueprint(
    "signing-secrets",
    __name__,
    url_prefix="/webhooks",
    description="Signing secrets: the key that signs each delivery request.",
)


class SigningSecretSchema(Schema):
    """A webhook's signing secret."""

    secret = fields.String(
        required=True,
        metadata={"description": "`whsec_` and 32 random bytes in base64."},
    )


@blp.route("/<uuid:webhook_id>/secret")
class SigningSecret(MethodView):
    """The current signing secret of a webhook."""

    @blp.response(200, SigningSecretSchema)
    @error_responses(blp, 401, 404, 500, 503)
    def get(self, webhook_id: uuid.UUID) -> dict[str, str]:
        """Get the signing secret.

        Receivers verify the `webhook-signature` header of each request with
        it, as the Standard Webhooks specification describes.
        """
        stored = get_signing_secret(connection(), webhook_id)
        return {"secret": current_cipher().decrypt(stored)}


@blp.route("/<uuid:webhook_id>/secret/rotate")
class SigningSecretRotation(MethodView):
    """Replacing the signing secret."""

    @blp.response(200, SigningSecretSchema)
    @error_responses(blp, 401, 404, 503)
    def post(self, webhook_id: uuid.UUID) -> dict[str, str]:
        """Rotate the signing secret.

        Returns the new secret. For the next 24 hours every request carries
        two signatures, one with the new secret and one with the old, so a
        receiver can switch to the new secret without rejecting deliveries.
        """
        return {"secret": rotate_audited_secret(webhook_id)}


def rotate_audited_secret(webhook_id: uuid.UUID) -> str:
    """Replace a webhook's signing secret as the request's operator.

    Returns the new secret in plain text. The API and the Admin pages both
    rotate through this, so the audit entry and the encryption at rest are
    the same either way.
    """
    database = connection()
    with database.transaction():
        secret = generate_secret()
        stored = current_cipher().encrypt(secret)
        rotate_signing_secret(database, webhook_id, ROTATION_GRACE, stored)
        record_change(webhook_id, "secret.rotated")
    log.info(
        "signing secret rotated",
        extra={"webhook_id": str(webhook_id), "operator": g.operator},
    )
    return secret
