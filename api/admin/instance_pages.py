"""The instance pages: a webhook's instances, one instance, and the actions.

Execute now and cancel answer htmx with the instance's detail section,
so the result shows at once without a page load.
"""

import logging
import uuid
from datetime import timedelta
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from api.admin.blueprint import blp
from api.admin.catalog import event_choices, event_titles
from api.admin.listing import Page, load_arguments, page_number
from api.audit import record_change
from api.database import connection
from api.instance_schemas import InstanceFilterSchema
from api.instances import instance_filter
from api.sender import current_sender, current_settings
from relay.errors import Conflict
from relay.operator import execute_now
from relay.store.instances import (
    STATES,
    InstanceFilter,
    cancel_instance,
    count_instances,
    get_instance,
    list_instances,
    list_next_retry_times,
    queue_retries,
)
from relay.store.webhooks import get_webhook

log = logging.getLogger(__name__)

# States bulk retry acts on; it leaves the others alone.
RETRYABLE_STATES = ("failed", "canceled")
# States the list refreshes itself for, since they change without an operator.
ACTIVE_STATES = frozenset({"new", "running"})


@blp.route("/webhooks/<uuid:webhook_id>/instances")
def instances(webhook_id: uuid.UUID) -> ResponseReturnValue:
    """Show a webhook's instances with filters kept in the URL."""
    database = connection()
    webhook = get_webhook(database, webhook_id)
    arguments, problems = _filter_arguments()
    filters = instance_filter(arguments)

    page = Page(page_number(), count_instances(database, webhook_id, filters))
    rows = list_instances(
        database, webhook_id, filters, limit=page.size, offset=page.offset
    )
    next_retries = list_next_retry_times(database, [row.id for row in rows])
    return render_template(
        "admin/instances.html",
        webhook=webhook,
        instances=rows,
        next_retries=next_retries,
        page=page,
        problems=problems,
        states=STATES,
        selected_states=set(arguments.get("state", [])),
        retry_count=count_instances(database, webhook_id, _retryable(filters)),
        polling=any(row.state in ACTIVE_STATES for row in rows),
        event_titles=event_titles(),
        event_choices=event_choices(),
    )


@blp.route("/webhooks/<uuid:webhook_id>/instances/retry", methods=["POST"])
def retry_instances(webhook_id: uuid.UUID) -> ResponseReturnValue:
    """Queue the failed and canceled instances that match the list's filters."""
    arguments, _ = _filter_arguments(request.form)
    database = connection()
    with database.transaction():
        count = queue_retries(database, webhook_id, instance_filter(arguments))
        record_change(webhook_id, "instances.retried", {"count": count})
    log.info(
        "instances queued for retry",
        extra={"webhook_id": str(webhook_id), "count": count, "operator": g.operator},
    )
    flash(f"Queued {count} instance{'' if count == 1 else 's'} for retry.", "success")
    query: dict[str, Any] = {
        key: request.form.getlist(key)
        for key in ("state", "eventCode", "createdFrom", "createdTo")
    }
    return redirect(url_for("admin.instances", webhook_id=webhook_id, **query))


@blp.route("/instances/<uuid:instance_id>")
def instance(instance_id: uuid.UUID) -> ResponseReturnValue:
    """Show one instance with its payload and executions."""
    return _detail(instance_id)


@blp.route("/instances/<uuid:instance_id>/execute", methods=["POST"])
def execute_instance(instance_id: uuid.UUID) -> ResponseReturnValue:
    """Deliver an instance once, now, and show the result."""
    try:
        outcome = execute_now(
            connection(), current_sender(), current_settings(), instance_id
        )
    except Conflict as error:
        return _action_result(instance_id, error.message, success=False)
    record_change(
        get_instance(connection(), instance_id).webhook_id,
        "instance.executed",
        {"instanceId": str(instance_id), "success": outcome.success},
    )
    log.info(
        "instance executed now by an operator",
        extra={"instance_id": str(instance_id), "operator": g.operator},
    )
    return _action_result(
        instance_id, f"Executed now: {outcome.message}.", success=outcome.success
    )


@blp.route("/instances/<uuid:instance_id>/cancel", methods=["POST"])
def cancel(instance_id: uuid.UUID) -> ResponseReturnValue:
    """Cancel the remaining retries of a failed instance."""
    database = connection()
    try:
        with database.transaction():
            cancel_instance(database, instance_id)
            record_change(
                get_instance(database, instance_id).webhook_id,
                "instance.canceled",
                {"instanceId": str(instance_id)},
            )
    except Conflict as error:
        return _action_result(instance_id, error.message, success=False)
    log.info(
        "instance canceled",
        extra={"instance_id": str(instance_id), "operator": g.operator},
    )
    return _action_result(instance_id, "Retries canceled.", success=True)


def _detail(instance_id: uuid.UUID, **result: Any) -> str:
    database = connection()
    shown = get_instance(database, instance_id)
    webhook = get_webhook(database, shown.webhook_id)
    return render_template(
        "admin/instance.html",
        instance=shown,
        webhook=webhook,
        next_retry=list_next_retry_times(database, [instance_id]).get(instance_id),
        event_titles=event_titles(),
        **result,
    )


def _action_result(
    instance_id: uuid.UUID, message: str, *, success: bool
) -> ResponseReturnValue:
    if request.headers.get("HX-Request"):
        return _detail(instance_id, result_message=message, result_success=success)
    flash(message, "success" if success else "danger")
    return redirect(url_for("admin.instance", instance_id=instance_id))


def _filter_arguments(source: Any = None) -> tuple[dict[str, Any], list[str]]:
    """Load the instance filters from the query string or a form."""
    source = source if source is not None else request.args
    arguments, problems = load_arguments(
        InstanceFilterSchema(),
        {
            "state": source.getlist("state"),
            "eventCode": source.get("eventCode", ""),
            "createdFrom": source.get("createdFrom", ""),
            "createdTo": source.get("createdTo", ""),
        },
    )
    created_to = arguments.get("created_to")
    if created_to is not None and len(source.get("createdTo", "")) == 10:
        # A date alone means the whole day, up to its last millisecond.
        arguments["created_to"] = created_to + timedelta(days=1, milliseconds=-1)
    return arguments, problems


def _retryable(filters: InstanceFilter) -> InstanceFilter:
    """Return filters narrowed to the states bulk retry acts on."""
    states = filters.states or RETRYABLE_STATES
    return InstanceFilter(
        states=tuple(state for state in states if state in RETRYABLE_STATES),
        event_code=filters.event_code,
        created_from=filters.created_from,
        created_to=filters.created_to,
    )
