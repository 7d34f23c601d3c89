"""The /notifications endpoints: what operators were told about webhooks."""

import logging
import uuid
from typing import Any

from flask import g
from flask.views import MethodView

from api.arguments import Blueprint
from api.database import connection
from api.errors import error_responses
from api.notification_schemas import NotificationListArgumentsSchema, NotificationSchema
from relay.store.notifications import (
    Notification,
    list_notifications,
    mark_notification_read,
)

log = logging.getLogger(__name__)

blp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/notifications",
    description="Notifications: webhooks that are failing, were disabled, or "
    "recovered.",
)


@blp.route("")
class NotificationCollection(MethodView):
    """The operator notifications."""

    @blp.arguments(NotificationListArgumentsSchema, location="query")
    @blp.response(200, NotificationSchema(many=True))
    @error_responses(blp, 401, 503)
    def get(self, arguments: dict[str, Any]) -> list[Notification]:
        """List notifications.

        Returns a page of notifications, newest first. `unread=true` keeps
        only those not marked read yet.
        """
        return list_notifications(
            connection(),
            unread=arguments.get("unread"),
            limit=arguments["limit"],
            offset=arguments["offset"],
        )


@blp.route("/<uuid:notification_id>/read")
class NotificationReading(MethodView):
    """Marking a notification read."""

    @blp.response(200, NotificationSchema)
    @error_responses(blp, 401, 404, 503)
    def post(self, notification_id: uuid.UUID) -> Notification:
        """Mark a notification read.

        Sets `readAt` and returns the notification. Marking it again keeps
        the first `readAt`.
        """
        notification = mark_notification_read(connection(), notification_id)
        log.info(
            "notification read",
            extra={"notification_id": str(notification_id), "operator": g.operator},
        )
        return notification
