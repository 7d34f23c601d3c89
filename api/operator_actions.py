"""Operator actions on instances: execute now, cancel, bulk retry, recover."""

import logging
import uuid
from typing import Any

from flask import g
from flask.views import MethodView

from api.arguments import Blueprint
from api.audit import record_change
from api.database import connection
from api.errors import error_responses
from api.instance_schemas import (
    InstanceFilterSchema,
    RecoverSchema,
    WebhookInstanceDetailSchema,
)
from api.instances import instance_filter
from api.lists import CountSchema
from api.sender import current_sender, current_settings
from relay.operator import execute_now
from relay.store.instances import (
    Instance,
    cancel_instance,
    get_instance,
    queue_retries,
    recover_events,
)

log = logging.getLogger(__name__)

blp = Blueprint(
    "operator-actions",
    __name__,
    description="Actions that deliver instances again, stop their retries, or "
    "create instances for events a webhook missed.",
)


@blp.route("/webhook-instances/<uuid:instance_id>/execute")
class InstanceExecution(MethodView):
    """Execute now."""

    @blp.response(200, WebhookInstanceDetailSchema)
    @error_responses(blp, 401, 404, 409, 503)
    def post(self, instance_id: uuid.UUID) -> Instance:
        """Deliver an instance once, now.

        Sends one request inside this call and returns the instance after
        it, with the new execution last. Allowed when the instance is
        `failed`, `canceled` or `success` (a redelivery), also while its
        webhook is disabled; 409 when it is `new` or `running`. The try does
        not use up a retry. When it fails and retries are left, the next
        automatic retry is scheduled as after any failure.
        """
        database = connection()
        outcome = execute_now(
            database, current_sender(), current_settings(), instance_id
        )
        instance = get_instance(database, instance_id)
        record_change(
            instance.webhook_id,
            "instance.executed",
            {"instanceId": str(instance_id), "success": outcome.success},
        )
        return instance


@blp.route("/webhook-instances/<uuid:instance_id>/cancel")
class InstanceCancellation(MethodView):
    """Cancel the retries of an instance."""

    @blp.response(200, WebhookInstanceDetailSchema)
    @error_responses(blp, 401, 404, 409, 503)
    def post(self, instance_id: uuid.UUID) -> Instance:
        """Cancel the remaining retries of an instance.

        Sets the state to `canceled` and `remainingRetries` to 0. Allowed
        only when the instance is `failed` with `remainingRetries` above 0;
        409 otherwise. Returns the instance with its executions.
        """
        database = connection()
        with database.transaction():
            cancel_instance(database, instance_id)
            instance = get_instance(database, instance_id)
            record_change(
                instance.webhook_id,
                "instance.canceled",
                {"instanceId": str(instance_id)},
            )
        log.info(
            "instance canceled",
            extra={"instance_id": str(instance_id), "operator": g.operator},
        )
        return instance


@blp.route("/webhooks/<uuid:webhook_id>/instances/execute")
class BulkRetry(MethodView):
    """Retry many instances of a webhook."""

    @blp.arguments(InstanceFilterSchema, location="query")
    @blp.response(202, CountSchema)
    @error_responses(blp, 401, 404, 503)
    def post(self, arguments: dict[str, Any], webhook_id: uuid.UUID) -> dict[str, int]:
        """Queue failed and canceled instances for an immediate retry.

        Takes the filters of the instance list as query parameters and
        queues every `failed` or `canceled` instance of the webhook that
        matches them; instances in other states are left alone. The relay
        delivers the queued instances, and they keep their
        `remainingRetries`. On a disabled webhook they wait until it is
        enabled. Returns how many were queued, as `{"count": n}`.
        """
        database = connection()
        with database.transaction():
            count = queue_retries(database, webhook_id, instance_filter(arguments))
            record_change(webhook_id, "instances.retried", {"count": count})
        log.info(
            "instances queued for retry",
            extra={
                "webhook_id": str(webhook_id),
                "count": count,
                "operator": g.operator,
            },
        )
        return {"count": count}


@blp.route("/webhooks/<uuid:webhook_id>/recover")
class Recovery(MethodView):
    """Deliver the events a webhook missed."""

    @blp.arguments(RecoverSchema)
    @blp.response(202, CountSchema)
    @error_responses(blp, 400, 413, 415, 401, 404, 503)
    def post(self, body: dict[str, Any], webhook_id: uuid.UUID) -> dict[str, int]:
        """Create instances for the stored events a webhook missed.

        Creates one instance for every stored event since `since` that the
        webhook listens to now and has no instance for yet, such as the
        events emitted while it was disabled. Events are kept for
        WEBHOOKS_EVENT_RETENTION (7 days by default). The relay delivers the
        new instances; on a disabled webhook they wait until it is enabled.
        Returns how many were created, as `{"count": n}`.
        """
        database = connection()
        with database.transaction():
            count = recover_events(database, webhook_id, body["since"])
            record_change(
                webhook_id,
                "events.recovered",
                {"since": body["since"].isoformat(), "count": count},
            )
        log.info(
            "events recovered",
            extra={
                "webhook_id": str(webhook_id),
                "count": count,
                "operator": g.operator,
            },
        )
        return {"count": count}
