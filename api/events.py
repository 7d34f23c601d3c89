"""The /webhook-events endpoints: the catalog of events webhooks listen to."""

from typing import Any

from flask.views import MethodView

from api.arguments import Blueprint
from api.database import connection
from api.errors import error_responses
from api.event_schemas import (
    EventTypeFilterSchema,
    EventTypeListArgumentsSchema,
    EventTypeSchema,
)
from api.lists import CountSchema, split_sort
from relay.store.events import EventType, count_event_types, list_event_types

blp = Blueprint(
    "webhook-events",
    __name__,
    url_prefix="/webhook-events",
    description="The events Streto emits and webhooks can listen to.",
)


@blp.route("")
class EventTypeCollection(MethodView):
    """The event catalog."""

    @blp.arguments(EventTypeListArgumentsSchema, location="query")
    @blp.response(200, EventTypeSchema(many=True))
    @error_responses(blp, 401, 503)
    def get(self, arguments: dict[str, Any]) -> list[EventType]:
        """List the events webhooks can listen to.

        Returns a page of the catalog sorted by code. `code` keeps only the
        events whose code starts with it, such as `order.`.
        """
        _, descending = split_sort(arguments["sort"])
        return list_event_types(
            connection(),
            code_prefix=arguments.get("code"),
            descending=descending,
            limit=arguments["limit"],
            offset=arguments["offset"],
        )


@blp.route("/count")
class EventTypeCount(MethodView):
    """The number of events in the catalog."""

    @blp.arguments(EventTypeFilterSchema, location="query")
    @blp.response(200, CountSchema)
    @error_responses(blp, 401, 503)
    def get(self, arguments: dict[str, Any]) -> dict[str, int]:
        """Count the events webhooks can listen to.

        Takes the same filter as the list and returns `{"count": n}`.
        """
        count = count_event_types(connection(), code_prefix=arguments.get("code"))
        return {"count": count}
