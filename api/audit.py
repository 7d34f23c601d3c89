"""The /audit endpoints: who changed which webhook, and the helper views use.

Every view that changes a webhook, its signing secret or its instances
calls record_change in the transaction of the change, with the operator
name of the request's token as the author.
"""

import uuid
from typing import Any

import marshmallow as ma
from flask import g
from flask.views import MethodView

from api.arguments import ArgumentsSchema, Blueprint
from api.database import connection
from api.errors import error_responses
from api.fields import UtcDateTime
from api.lists import CountSchema, PagingSchema
from relay.store.audit import (
    ACTIONS,
    AuditEntry,
    count_audit_entries,
    list_audit_entries,
    record_audit,
)

blp = Blueprint(
    "audit",
    __name__,
    url_prefix="/audit",
    description="The audit trail: every change to a webhook, with its author "
    "and time. Entries stay after the webhook is deleted.",
)


def record_change(
    webhook_id: uuid.UUID, action: str, details: dict[str, Any] | None = None
) -> None:
    """Store an audit entry for the current request's operator."""
    record_audit(connection(), webhook_id, action, g.operator, details)


class AuditEntrySchema(ma.Schema):
    """One change to a webhook."""

    id = ma.fields.UUID(required=True)
    created_at = UtcDateTime(data_key="createdAt", required=True)
    webhook_id = ma.fields.UUID(
        data_key="webhookId",
        required=True,
        metadata={"description": "The webhook changed; it may be deleted since."},
    )
    action = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(ACTIONS),
        metadata={"description": "What happened; docs/security.md lists each."},
    )
    author = ma.fields.String(
        required=True,
        metadata={
            "description": "The operator name of the API token, or `relay` for "
            "a webhook the relay disabled after failures."
        },
    )
    details = ma.fields.Dict(
        required=True,
        metadata={
            "description": "Facts of the action, such as `fields` (the changed "
            "fields of webhook.updated) or `count`. Never a secret."
        },
    )


class AuditFilterSchema(ArgumentsSchema):
    """The filter of the audit list and count."""

    webhook_id = ma.fields.UUID(
        data_key="webhookId",
        metadata={"description": "Only the entries of this webhook."},
    )


class AuditListArgumentsSchema(AuditFilterSchema, PagingSchema):
    """The filter and paging of the audit list."""


@blp.route("")
class AuditCollection(MethodView):
    """The audit trail."""

    @blp.arguments(AuditListArgumentsSchema, location="query")
    @blp.response(200, AuditEntrySchema(many=True))
    @error_responses(blp, 401, 503)
    def get(self, arguments: dict[str, Any]) -> list[AuditEntry]:
        """List audit entries.

        Returns a page of entries, newest first, of every webhook or of the
        one `webhookId` names, deleted or not.
        """
        return list_audit_entries(
            connection(),
            webhook_id=arguments.get("webhook_id"),
            limit=arguments["limit"],
            offset=arguments["offset"],
        )


@blp.route("/count")
class AuditCount(MethodView):
    """The number of audit entries."""

    @blp.arguments(AuditFilterSchema, location="query")
    @blp.response(200, CountSchema)
    @error_responses(blp, 401, 503)
    def get(self, arguments: dict[str, Any]) -> dict[str, int]:
        """Count audit entries.

        Takes the filter of the list and returns `{"count": n}`.
        """
        count = count_audit_entries(
            connection(), webhook_id=arguments.get("webhook_id")
        )
        return {"count": count}
