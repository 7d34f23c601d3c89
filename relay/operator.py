"""Requests an operator sends at once: execute now and the webhook test.

Both run inside an API request and build, sign and send the request exactly
as the relay's workers do (relay.delivery), so a receiver cannot tell them
apart from automatic deliveries.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from relay.config import Settings
from relay.delivery import Outcome, Sender, build_request
from relay.errors import InvalidInput
from relay.secret_storage import SecretCipher
from relay.store.events import get_event_type, list_event_types
from relay.store.queue import record_executions, start_execution
from relay.store.webhooks import get_delivery_target

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookTestResult:
    """The result of a webhook test, in the shape of an execution without id."""

    created_at: datetime
    success: bool
    message: str
    has_response: bool
    response_status: int | None
    response_headers: dict[str, str] | None
    response_body: Any

    @classmethod
    def from_outcome(cls, sent_at: datetime, outcome: Outcome) -> "WebhookTestResult":
        """Describe the outcome of a test request sent at sent_at."""
        return cls(
            created_at=sent_at,
            success=outcome.success,
            message=outcome.message,
            has_response=outcome.has_response,
            response_status=outcome.response_status,
            response_headers=outcome.response_headers,
            response_body=outcome.response_body,
        )


def execute_now(
    connection: psycopg.Connection,
    sender: Sender,
    settings: Settings,
    instance_id: uuid.UUID,
) -> Outcome:
    """Try one instance now, outside the retry schedule, and record the try.

    connection must be in autocommit mode: the claim has to commit before
    the request goes out, so that no relay claims the instance meanwhile.
    The try leaves remaining_retries as they are. Raises NotFound when the
    instance does not exist, Conflict when it is new or running,
    SecretUnreadable when its signing secrets cannot be decrypted.
    """
    token = uuid.uuid4()
    claim = start_execution(connection, instance_id, settings.lease, token)
    # NOTE: when the secrets cannot be decrypted, SecretUnreadable leaves the
    # instance running until its lease ends; a relay then takes it again.
    secrets = SecretCipher.from_settings(settings).decrypt_all(claim.secrets)
    request = build_request(
        message_id=str(claim.instance_id),
        webhook_id=str(claim.webhook_id),
        event_code=claim.event_code,
        retry_number=claim.retry_number,
        payload=claim.payload,
        signing_secrets=secrets,
    )

    # NOTE: if recording fails (the database connection is lost during the
    # request), the instance stays running until its lease ends and a relay
    # then tries it again, so the receiver may get this request twice.
    outcome = sender.post(claim.url, request)
    record_executions(
        connection, token, [outcome.as_result(str(instance_id), manual=True)]
    )

    log.info(
        "instance executed now: %s",
        outcome.message,
        extra={
            "instance_id": str(instance_id),
            "webhook_id": str(claim.webhook_id),
            "retry_number": claim.retry_number,
            "status": outcome.response_status,
            "duration_ms": outcome.duration_ms,
        },
    )
    return outcome


def send_test(
    connection: psycopg.Connection,
    sender: Sender,
    webhook_id: uuid.UUID,
    *,
    cipher: SecretCipher,
    event_code: str | None = None,
    payload: dict[str, Any] | None = None,
) -> WebhookTestResult:
    """Send one signed test request to a webhook and return what came back.

    Nothing is written to the database: no instance, no execution and no
    change to the webhook, which may be disabled. event_code defaults to the
    webhook's first event code, or the catalog's first code when it has
    none; payload defaults to the event's example payload. The body's id is
    a new random UUID and retryNumber is 0. Raises NotFound when the webhook
    does not exist, InvalidInput for an event code not in the catalog,
    SecretUnreadable when cipher cannot decrypt the signing secrets.
    """
    target = get_delivery_target(connection, webhook_id)
    event_code = event_code or _default_event_code(connection, target.event_codes)
    event_type = get_event_type(connection, event_code)
    if event_type is None:
        raise InvalidInput(
            f"Unknown event code {event_code!r}.",
            "GET /webhook-events lists the codes.",
        )
    if payload is None:
        payload = event_type.example_payload

    request = build_request(
        message_id=str(uuid.uuid4()),
        webhook_id=str(webhook_id),
        event_code=event_code,
        retry_number=0,
        payload=payload,
        signing_secrets=cipher.decrypt_all(target.secrets),
    )
    sent_at = datetime.now(UTC)
    outcome = sender.post(target.url, request)

    log.info(
        "webhook test sent: %s",
        outcome.message,
        extra={
            "webhook_id": str(webhook_id),
            "status": outcome.response_status,
            "duration_ms": outcome.duration_ms,
        },
    )
    return WebhookTestResult.from_outcome(sent_at, outcome)


def _default_event_code(connection: psycopg.Connection, codes: list[str]) -> str:
    if codes:
        return codes[0]
    first = list_event_types(connection, limit=1)
    if not first:
        raise InvalidInput(
            "The event catalog is empty, so there is no event to test with.",
            "Run relay migrate to install the catalog.",
        )
    return first[0].code
