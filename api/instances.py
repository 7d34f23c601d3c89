"""The instance endpoints: list and count a webhook's instances, get one."""

import uuid
from typing import Any

from flask.views import MethodView

from api.arguments import Blueprint
from api.database import connection
from api.errors import error_responses
from api.instance_schemas import (
    InstanceFilterSchema,
    InstanceListArgumentsSchema,
    WebhookInstanceDetailSchema,
    WebhookInstanceSchema,
)
from api.lists import CountSchema, split_sort
from relay.store.instances import (
    Instance,
    InstanceFilter,
    count_instances,
    get_instance,
    list_instances,
)

blp = Blueprint(
    "webhook-instances",
    __name__,
    description="Instances: one event for one webhook, with every HTTP try "
    "(execution) made to deliver it.",
)


@blp.route("/webhooks/<uuid:webhook_id>/instances")
class InstanceCollection(MethodView):
    """The instances of a webhook."""

    @blp.arguments(InstanceListArgumentsSchema, location="query")
    @blp.response(200, WebhookInstanceSchema(many=True))
    @error_responses(blp, 401, 404, 503)
    def get(self, arguments: dict[str, Any], webhook_id: uuid.UUID) -> list[Instance]:
        """List the instances of a webhook.

        Returns a page of the instances that match every filter given, newest
        first unless `sort` is `createdAt`, without their executions. Returns
        404 when the webhook does not exist.
        """
        _, descending = split_sort(arguments["sort"])
        return list_instances(
            connection(),
            webhook_id,
            instance_filter(arguments),
            descending=descending,
            limit=arguments["limit"],
            offset=arguments["offset"],
        )


@blp.route("/webhooks/<uuid:webhook_id>/instances/count")
class InstanceCount(MethodView):
    """The number of instances of a webhook."""

    @blp.arguments(InstanceFilterSchema, location="query")
    @blp.response(200, CountSchema)
    @error_responses(blp, 401, 404, 503)
    def get(self, arguments: dict[str, Any], webhook_id: uuid.UUID) -> dict[str, int]:
        """Count the instances of a webhook.

        Takes the same filters as the list and returns `{"count": n}`.
        """
        count = count_instances(connection(), webhook_id, instance_filter(arguments))
        return {"count": count}


@blp.route("/webhook-instances/<uuid:instance_id>")
class InstanceItem(MethodView):
    """One instance."""

    @blp.response(200, WebhookInstanceDetailSchema)
    @error_responses(blp, 401, 404, 503)
    def get(self, instance_id: uuid.UUID) -> Instance:
        """Get an instance with its executions.

        The executions are sorted oldest first.
        """
        return get_instance(connection(), instance_id)


def instance_filter(arguments: dict[str, Any]) -> InstanceFilter:
    """Return the InstanceFilter for the parsed filter arguments."""
    states = arguments.get("state")
    return InstanceFilter(
        states=None if states is None else tuple(states),
        event_code=arguments.get("event_code"),
        created_from=arguments.get("created_from"),
        created_to=arguments.get("created_to"),
    )
