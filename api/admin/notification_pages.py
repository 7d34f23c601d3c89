"""The notification list, marking read, and the banner on every page."""

import logging
import uuid
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from api.admin.blueprint import blp
from api.admin.listing import Page, page_number
from api.database import connection
from relay.errors import NotFound, WebhooksError
from relay.store.notifications import (
    count_notifications,
    list_notifications,
    mark_notification_read,
)
from relay.store.webhooks import Webhook, get_webhook

log = logging.getLogger(__name__)

# What each notification kind is called on the pages.
KIND_LABELS = {
    "webhook.failing": "Failing",
    "webhook.disabled": "Disabled",
    "webhook.recovered": "Recovered",
}


@blp.route("/notifications")
def notifications() -> ResponseReturnValue:
    """List the notifications, newest first, unread ones marked."""
    database = connection()
    unread_only = request.args.get("unread") == "1"
    unread = True if unread_only else None
    page = Page(page_number(), count_notifications(database, unread=unread))
    rows = list_notifications(
        database, unread=unread, limit=page.size, offset=page.offset
    )
    webhooks = _webhooks_by_id({row.webhook_id for row in rows if row.webhook_id})
    return render_template(
        "admin/notifications.html",
        notifications=rows,
        webhooks=webhooks,
        kind_labels=KIND_LABELS,
        unread_only=unread_only,
        page=page,
    )


@blp.route("/notifications/<uuid:notification_id>/read", methods=["POST"])
def read_notification(notification_id: uuid.UUID) -> ResponseReturnValue:
    """Mark a notification read."""
    mark_notification_read(connection(), notification_id)
    log.info(
        "notification read",
        extra={"notification_id": str(notification_id), "operator": g.operator},
    )
    flash("Notification marked read.", "success")
    query: dict[str, Any] = request.args.to_dict()
    return redirect(url_for("admin.notifications", **query))


@blp.context_processor
def unread_notifications() -> dict[str, int | None]:
    """Give every Admin template the number of unread notifications."""
    if "operator" not in g:
        return {"unread_notifications": None}
    try:
        count = count_notifications(connection(), unread=True)
    except WebhooksError:
        # An error page about a database outage must still render.
        return {"unread_notifications": None}
    return {"unread_notifications": count}


def _webhooks_by_id(webhook_ids: set[uuid.UUID]) -> dict[uuid.UUID, Webhook]:
    webhooks = {}
    for webhook_id in webhook_ids:
        try:
            webhooks[webhook_id] = get_webhook(connection(), webhook_id)
        except NotFound:
            continue
    return webhooks
