"""The /webhooks endpoints: create, read, list, count, change and delete."""

import logging
import uuid
from typing import Any

from flask import g
from flask.views import MethodView

from api.arguments import Blueprint
from api.audit import record_change
from api.database import connection
from api.errors import error_responses
from api.lists import CountSchema, split_sort
from api.secret_storage import current_cipher
from api.webhook_schemas import (
    SORT_KEYS,
    WebhookFilterSchema,
    WebhookListArgumentsSchema,
    WebhookPatchSchema,
    WebhookSchema,
)
from relay.signing import generate_secret
from relay.store.webhooks import (
    Webhook,
    WebhookFilter,
    count_webhooks,
    create_webhook,
    delete_webhook,
    get_webhook,
    list_webhooks,
    update_webhook,
)

log = logging.getLogger(__name__)

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/webhooks",
    description="Webhooks: the URLs that receive Streto's events, and which "
    "events each one listens to.",
)

# Statuses every body-taking endpoint can return before validation: invalid
# JSON, a body over 1 MiB, a body that is not JSON.
_BODY_ERRORS = (400, 413, 415)


@blp.route("")
class WebhookCollection(MethodView):
    """The list of webhooks."""

    @blp.arguments(WebhookListArgumentsSchema, location="query")
    @blp.response(200, WebhookSchema(many=True))
    @error_responses(blp, 401, 503)
    def get(self, arguments: dict[str, Any]) -> list[Webhook]:
        """List webhooks.

        Returns a page of the webhooks that match every filter given, newest
        first unless `sort` selects another order. Rows with equal sort values are
        ordered by id, so pages neither repeat nor skip a webhook.
        """
        field, descending = split_sort(arguments["sort"])
        return list_webhooks(
            connection(),
            _webhook_filter(arguments),
            sort_key=SORT_KEYS[field],
            descending=descending,
            limit=arguments["limit"],
            offset=arguments["offset"],
        )

    @blp.arguments(WebhookSchema)
    @blp.response(201, WebhookSchema)
    @error_responses(blp, *_BODY_ERRORS, 401, 503)
    def post(self, body: dict[str, Any]) -> Webhook:
        """Create a webhook.

        A signing secret is made for the webhook; GET /webhooks/{id}/secret
        shows it. A new webhook is disabled unless `enabled` is true.
        """
        return create_audited_webhook(body)


@blp.route("/count")
class WebhookCount(MethodView):
    """The number of webhooks."""

    @blp.arguments(WebhookFilterSchema, location="query")
    @blp.response(200, CountSchema)
    @error_responses(blp, 401, 503)
    def get(self, arguments: dict[str, Any]) -> dict[str, int]:
        """Count webhooks.

        Takes the same filters as the list and returns `{"count": n}`.
        """
        return {"count": count_webhooks(connection(), _webhook_filter(arguments))}


@blp.route("/<uuid:webhook_id>")
class WebhookItem(MethodView):
    """One webhook."""

    @blp.response(200, WebhookSchema)
    @error_responses(blp, 401, 404, 503)
    def get(self, webhook_id: uuid.UUID) -> Webhook:
        """Get a webhook.

        Returns 404 when no webhook has this id or the id is not a UUID.
        """
        return get_webhook(connection(), webhook_id)

    @blp.arguments(WebhookPatchSchema)
    @blp.response(200, WebhookSchema)
    @error_responses(blp, *_BODY_ERRORS, 401, 404, 503)
    def patch(self, body: dict[str, Any], webhook_id: uuid.UUID) -> Webhook:
        """Change a webhook.

        Only the fields sent change; `updatedAt` is set on every call.
        Enabling a webhook resets `successiveFailureCount` to 0 and makes its
        held retries due again; disabling it holds its pending retries.
        """
        changes = dict(body)
        enabled = changes.pop("enabled", None)
        database = connection()
        with database.transaction():
            before = get_webhook(database, webhook_id)
            webhook = update_webhook(database, webhook_id, changes, enabled=enabled)
            audit_update(before, webhook)
        log.info(
            "webhook changed",
            extra={
                "webhook_id": str(webhook_id),
                "fields": sorted(body),
                "operator": g.operator,
            },
        )
        return webhook

    @blp.response(204)
    @error_responses(blp, 401, 404, 503)
    def delete(self, webhook_id: uuid.UUID) -> None:
        """Delete a webhook.

        Its instances and their executions are deleted with it, and none of
        them is delivered afterwards.
        """
        database = connection()
        with database.transaction():
            webhook = get_webhook(database, webhook_id)
            delete_webhook(database, webhook_id)
            record_change(webhook_id, "webhook.deleted", {"name": webhook.name})
        log.info(
            "webhook deleted",
            extra={"webhook_id": str(webhook_id), "operator": g.operator},
        )


# The webhook fields an update may change, by their names in the API.
_AUDITED_FIELDS = {
    "name": "name",
    "description": "description",
    "url": "url",
    "event_codes": "eventCodes",
}


def create_audited_webhook(body: dict[str, Any]) -> Webhook:
    """Create a webhook with a new signing secret, as the request's operator.

    The API and the Admin pages both create webhooks through this, so the
    secret is encrypted at rest and the audit entry is written in the same
    transaction either way.
    """
    database = connection()
    with database.transaction():
        secret = current_cipher().encrypt(generate_secret())
        webhook = create_webhook(database, **body, secret=secret)
        record_change(
            webhook.id,
            "webhook.created",
            {"name": webhook.name, "enabled": webhook.enabled},
        )
    log.info(
        "webhook created",
        extra={"webhook_id": str(webhook.id), "operator": g.operator},
    )
    return webhook


def audit_update(before: Webhook, after: Webhook) -> None:
    """Record which fields an update changed, and any enabling or disabling."""
    changed = [
        api_name
        for attribute, api_name in _AUDITED_FIELDS.items()
        if getattr(before, attribute) != getattr(after, attribute)
    ]
    # Only the names: a URL or description may carry credentials.
    if changed:
        record_change(after.id, "webhook.updated", {"fields": changed})
    if before.enabled != after.enabled:
        action = "webhook.enabled" if after.enabled else "webhook.disabled"
        record_change(after.id, action)


def _webhook_filter(arguments: dict[str, Any]) -> WebhookFilter:
    return WebhookFilter(
        name=arguments.get("name"),
        enabled=arguments.get("enabled"),
        event_code=arguments.get("event_code"),
        created_from=arguments.get("created_from"),
        created_to=arguments.get("created_to"),
    )
