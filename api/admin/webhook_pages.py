"""The webhook pages: the grid, the create and edit form, delete and secret."""

import logging
import uuid
from typing import Any

import marshmallow as ma
from flask import flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from api.admin.blueprint import blp
from api.admin.catalog import event_choices, event_titles
from api.admin.forms import WebhookForm
from api.admin.listing import Page, load_arguments, page_number
from api.audit import record_change
from api.database import connection
from api.lists import split_sort
from api.secret_storage import current_cipher
from api.signing_secrets import rotate_audited_secret
from api.webhook_schemas import (
    SORT_KEYS,
    WebhookFilterSchema,
    WebhookPatchSchema,
    WebhookSchema,
)
from api.webhooks import _webhook_filter, audit_update, create_audited_webhook
from relay.store.webhooks import (
    Webhook,
    count_webhooks,
    delete_webhook,
    get_signing_secret,
    get_webhook,
    list_auto_disabled_webhook_ids,
    list_webhooks,
    update_webhook,
)

log = logging.getLogger(__name__)

# The grid's sortable columns: the API's sort fields and their headings.
SORT_COLUMNS = {
    "name": "Name",
    "createdAt": "Created",
    "successiveFailureCount": "Successive failures",
}
DEFAULT_SORT = "-createdAt"


@blp.route("/")
def home() -> ResponseReturnValue:
    """Send the Admin's root to the webhook grid."""
    return redirect(url_for("admin.webhooks"))


@blp.route("/webhooks")
def webhooks() -> ResponseReturnValue:
    """Show the webhook grid with its filters, sort and paging."""
    filters, problems = load_arguments(
        WebhookFilterSchema(),
        {
            "name": request.args.get("name", ""),
            "enabled": request.args.get("enabled", ""),
            "eventCode": request.args.get("eventCode", ""),
        },
    )
    sort = request.args.get("sort", DEFAULT_SORT)
    field, descending = split_sort(sort)
    if field not in SORT_COLUMNS:
        sort, (field, descending) = DEFAULT_SORT, split_sort(DEFAULT_SORT)

    database = connection()
    webhook_filter = _webhook_filter(filters)
    page = Page(page_number(), count_webhooks(database, webhook_filter))
    rows = list_webhooks(
        database,
        webhook_filter,
        sort_key=SORT_KEYS[field],
        descending=descending,
        limit=page.size,
        offset=page.offset,
    )
    auto_disabled = list_auto_disabled_webhook_ids(database, [row.id for row in rows])
    return render_template(
        "admin/webhooks.html",
        webhooks=rows,
        health={row.id: webhook_health(row, auto_disabled) for row in rows},
        page=page,
        problems=problems,
        filtered=bool(filters),
        sort=sort,
        sort_columns=SORT_COLUMNS,
        event_titles=event_titles(),
        event_choices=event_choices(),
    )


@blp.route("/webhooks/new", methods=["GET", "POST"])
def new_webhook() -> ResponseReturnValue:
    """Show the empty webhook form, or create the webhook it sent."""
    form = WebhookForm()
    form.event_codes.choices = event_choices()
    if request.method == "POST":
        body = _load(WebhookSchema(), form)
        if body is not None:
            webhook = create_audited_webhook(body)
            flash(f"Webhook “{webhook.name}” created.", "success")
            return redirect(url_for("admin.edit_webhook", webhook_id=webhook.id))
    return render_template("admin/webhook_form.html", form=form, webhook=None)


@blp.route("/webhooks/<uuid:webhook_id>", methods=["GET", "POST"])
def edit_webhook(webhook_id: uuid.UUID) -> ResponseReturnValue:
    """Show a webhook's form, or save the changes it sent."""
    database = connection()
    webhook = get_webhook(database, webhook_id)
    form = WebhookForm(obj=webhook) if request.method == "GET" else WebhookForm()
    form.event_codes.choices = event_choices()
    if request.method == "POST":
        body = _load(WebhookPatchSchema(), form)
        if body is not None:
            enabled = body.pop("enabled", None)
            with database.transaction():
                before = webhook
                webhook = update_webhook(database, webhook_id, body, enabled=enabled)
                audit_update(before, webhook)
            log.info(
                "webhook changed",
                extra={
                    "webhook_id": str(webhook_id),
                    "fields": sorted(body),
                    "operator": g.operator,
                },
            )
            flash(f"Webhook “{webhook.name}” saved.", "success")
            return redirect(url_for("admin.edit_webhook", webhook_id=webhook_id))
    return render_template(
        "admin/webhook_form.html",
        form=form,
        webhook=webhook,
        health=webhook_health(webhook),
    )


@blp.route("/webhooks/<uuid:webhook_id>/delete", methods=["POST"])
def remove_webhook(webhook_id: uuid.UUID) -> ResponseReturnValue:
    """Delete a webhook with its instances and executions."""
    database = connection()
    with database.transaction():
        webhook = get_webhook(database, webhook_id)
        delete_webhook(database, webhook_id)
        record_change(webhook_id, "webhook.deleted", {"name": webhook.name})
    log.info(
        "webhook deleted",
        extra={"webhook_id": str(webhook_id), "operator": g.operator},
    )
    flash(f"Webhook “{webhook.name}” deleted with its instances.", "success")
    return redirect(url_for("admin.webhooks"))


@blp.route("/webhooks/<uuid:webhook_id>/enable", methods=["POST"])
def enable_webhook(webhook_id: uuid.UUID) -> ResponseReturnValue:
    """Enable a webhook, which resets its failures and releases held retries."""
    database = connection()
    with database.transaction():
        before = get_webhook(database, webhook_id)
        webhook = update_webhook(database, webhook_id, {}, enabled=True)
        audit_update(before, webhook)
    log.info(
        "webhook changed",
        extra={
            "webhook_id": str(webhook_id),
            "fields": ["enabled"],
            "operator": g.operator,
        },
    )
    flash(f"Webhook “{webhook.name}” enabled again.", "success")
    return redirect(_back_to(url_for("admin.edit_webhook", webhook_id=webhook_id)))


@blp.route("/webhooks/<uuid:webhook_id>/secret")
def signing_secret(webhook_id: uuid.UUID) -> ResponseReturnValue:
    """Return the signing secret panel, revealed when ``?reveal=1``."""
    reveal = request.args.get("reveal") == "1"
    secret = None
    if reveal:
        secret = current_cipher().decrypt(get_signing_secret(connection(), webhook_id))
    return _secret_panel(webhook_id, secret)


@blp.route("/webhooks/<uuid:webhook_id>/secret/rotate", methods=["POST"])
def rotate_secret(webhook_id: uuid.UUID) -> ResponseReturnValue:
    """Replace the signing secret and show the new one."""
    secret = rotate_audited_secret(webhook_id)
    return _secret_panel(
        webhook_id,
        secret,
        notice="New secret made. The old one also signs requests for 24 hours, "
        "so update the receiver before then.",
    )


def webhook_health(
    webhook: Webhook, auto_disabled: set[uuid.UUID] | None = None
) -> str:
    """Return ``enabled``, ``disabled`` or ``auto-disabled`` for a webhook."""
    if webhook.enabled:
        return "enabled"
    if auto_disabled is None:
        auto_disabled = list_auto_disabled_webhook_ids(connection(), [webhook.id])
    return "auto-disabled" if webhook.id in auto_disabled else "disabled"


def _load(schema: ma.Schema, form: WebhookForm) -> dict[str, Any] | None:
    try:
        body: dict[str, Any] = schema.load(form.schema_input())
    except ma.ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {}
        form.add_schema_errors(messages)
        flash("The webhook was not saved; correct the fields marked below.", "danger")
        return None
    return body


def _secret_panel(
    webhook_id: uuid.UUID, secret: str | None, notice: str | None = None
) -> ResponseReturnValue:
    page = render_template(
        "admin/secret_panel.html", webhook_id=webhook_id, secret=secret, notice=notice
    )
    # The secret must not stay in a browser or proxy cache.
    return page, 200, {"Cache-Control": "no-store"}


def _back_to(default: str) -> str:
    """Return the Admin page named by the form's ``back`` field, else default."""
    back = request.form.get("back", "")
    if back.startswith("/admin/") and not back.startswith("//"):
        return back
    return default
