"""The test view: send one signed request to a webhook and show the answer."""

import json
import time
import uuid
from typing import Any

import marshmallow as ma
from flask import render_template, request
from flask.typing import ResponseReturnValue

from api.admin.blueprint import blp
from api.admin.catalog import event_choices, event_types
from api.admin.formatting import format_json
from api.admin.forms import WebhookTestForm, flatten_messages
from api.database import connection
from api.secret_storage import current_cipher
from api.sender import current_sender
from api.webhook_test_schemas import WebhookTestSchema
from relay.operator import send_test
from relay.store.webhooks import Webhook, get_webhook


@blp.route("/webhooks/<uuid:webhook_id>/test", methods=["GET", "POST"])
def test_webhook(webhook_id: uuid.UUID) -> ResponseReturnValue:
    """Show the test form, or send the test request it describes."""
    webhook = get_webhook(connection(), webhook_id)
    form = WebhookTestForm()
    form.event_code.choices = event_choices()
    if request.method == "GET":
        form.event_code.data = _default_event_code(webhook)
        form.payload.data = example_payload(form.event_code.data)
        return _page(webhook, form)

    body = _load(form)
    if body is None:
        # 200, not 422: htmx swaps only 2xx responses into the page, and
        # the marked fields are the answer here.
        return _page(webhook, form)

    started = time.monotonic()
    result = send_test(
        connection(),
        current_sender(),
        webhook_id,
        event_code=body["event_code"],
        payload=body["payload"],
        cipher=current_cipher(),
    )
    # Measured around the whole call, so it includes reading the webhook's
    # URL and secrets; that takes a millisecond or two next to the request.
    duration_ms = (time.monotonic() - started) * 1000
    return _page(webhook, form, result=result, duration_ms=duration_ms)


@blp.route("/webhooks/<uuid:webhook_id>/test/payload")
def test_payload(webhook_id: uuid.UUID) -> ResponseReturnValue:
    """Return the payload field filled with an event's example payload."""
    form = WebhookTestForm()
    form.payload.data = example_payload(request.args.get("event_code", ""))
    return render_template("admin/test_payload.html", form=form)


def example_payload(event_code: str | None) -> str:
    """Return the catalog's example payload of an event as indented JSON."""
    for event_type in event_types():
        if event_type.code == event_code:
            return format_json(event_type.example_payload)
    return "{}"


def _default_event_code(webhook: Webhook) -> str | None:
    if webhook.event_codes:
        return webhook.event_codes[0]
    choices = event_choices()
    return choices[0][0] if choices else None


def _load(form: WebhookTestForm) -> dict[str, Any] | None:
    """Parse the payload text and check both fields with the API's schema."""
    try:
        payload = json.loads(form.payload.data or "")
    except json.JSONDecodeError as error:
        form.payload.errors = [f"Not valid JSON: {error.msg} (line {error.lineno})."]
        return None
    try:
        body: dict[str, Any] = WebhookTestSchema().load(
            {"eventCode": form.event_code.data or "", "payload": payload}
        )
    except ma.ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {}
        form.event_code.errors = flatten_messages(messages.get("eventCode", []))
        form.payload.errors = flatten_messages(messages.get("payload", []))
        return None
    return body


def _page(webhook: Webhook, form: WebhookTestForm, **result: Any) -> str:
    return render_template("admin/test.html", webhook=webhook, form=form, **result)
