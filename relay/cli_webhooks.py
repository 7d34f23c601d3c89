"""`relay webhooks list|enable|disable` and `relay recover`.

These call the same store functions as the API, so enabling releases the
webhook's held instances and disabling holds its pending ones, exactly as
a PATCH of `enabled` does.
"""

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import click
import psycopg

from relay.cli_context import (
    EXIT_CODES_EPILOG,
    EXIT_USAGE,
    fail,
    logging_options,
    settings_of,
)
from relay.config import ConfigError, parse_duration
from relay.database import connect
from relay.errors import DatabaseUnavailable, WebhooksError
from relay.store.instances import recover_events
from relay.store.maintenance import database_now
from relay.store.webhooks import (
    Webhook,
    WebhookFilter,
    get_webhook,
    list_webhooks,
    update_webhook,
)

log = logging.getLogger(__name__)

_PAGE_SIZE = 500

_WEBHOOK_HELP = "WEBHOOK is a webhook's id, or its exact name when that is unique."


@click.group(epilog=EXIT_CODES_EPILOG)
def webhooks() -> None:
    """List, enable and disable webhooks."""


@webhooks.command("list", epilog=EXIT_CODES_EPILOG)
@logging_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def list_command(context: click.Context, as_json: bool) -> None:
    """List every webhook, oldest first.

    Shows the id, whether it is enabled, the number of successive failed
    tries, the name and the URL.
    """
    with _database(context) as connection:
        rows = list(_all_webhooks(connection))

    if as_json:
        click.echo(json.dumps([_webhook_document(row) for row in rows], indent=2))
        return
    for row in rows:
        state = "enabled " if row.enabled else "disabled"
        click.echo(
            f"{row.id}  {state}  failures {row.successive_failure_count:>4}"
            f"  {row.name}  {row.url}"
        )


@webhooks.command(epilog=f"{_WEBHOOK_HELP} {EXIT_CODES_EPILOG}")
@logging_options
@click.argument("webhook")
@click.pass_context
def enable(context: click.Context, webhook: str) -> None:
    """Enable WEBHOOK and release its held instances.

    Resets its count of successive failures; the held instances become due
    at once and keep their remaining retries.
    """
    _set_enabled(context, webhook, enabled=True)


@webhooks.command(epilog=f"{_WEBHOOK_HELP} {EXIT_CODES_EPILOG}")
@logging_options
@click.argument("webhook")
@click.pass_context
def disable(context: click.Context, webhook: str) -> None:
    """Disable WEBHOOK and hold its pending instances.

    New events create no instances for it; the held ones wait, without
    using up retries, until it is enabled again.
    """
    _set_enabled(context, webhook, enabled=False)


@click.command(epilog=f"{_WEBHOOK_HELP} {EXIT_CODES_EPILOG}")
@logging_options
@click.argument("webhook")
@click.option(
    "--since",
    required=True,
    help="Start of the time range: an ISO 8601 time such as"
    " 2024-01-15T16:00:00Z (UTC when no offset is given), or a duration"
    " back from now such as 90m, 6h or 2d.",
)
@click.pass_context
def recover(context: click.Context, webhook: str, since: str) -> None:
    """Create instances for the events WEBHOOK missed since a time.

    Every stored event since --since that the webhook listens to and has
    no instance for gets one, such as the events emitted while it was
    disabled. Events are kept for WEBHOOKS_EVENT_RETENTION (7d by
    default). The relay delivers the new instances; on a disabled webhook
    they wait until it is enabled. Runs as one statement, so there is no
    progress to show.
    """
    with _database(context) as connection:
        target = find_webhook(connection, webhook)
        start = parse_since(since, database_now(connection))
        count = recover_events(connection, target.id, start)

    log.info(
        "recovered %d events for webhook %s",
        count,
        target.id,
        extra={"webhook_id": str(target.id), "count": count},
    )
    click.echo(
        f"created {count} instances for webhook {target.id} ({target.name})"
        f" from events since {start.isoformat(timespec='seconds')}"
    )


def find_webhook(connection: psycopg.Connection, reference: str) -> Webhook:
    """Return the webhook with this id, or else the one with this exact name.

    Raises click.UsageError when none or several match.
    """
    try:
        webhook_id = uuid.UUID(reference)
    except ValueError:
        webhook_id = None
    if webhook_id is not None:
        return get_webhook(connection, webhook_id)

    # The name filter matches substrings without regard to case; keep only
    # the exact name.
    matches = [
        row
        for row in _all_webhooks(connection, WebhookFilter(name=reference))
        if row.name == reference
    ]
    if not matches:
        raise click.UsageError(
            f"webhook {reference!r} not found: no webhook has that id or name;"
            " `relay webhooks list` shows them."
        )
    if len(matches) > 1:
        ids = ", ".join(str(row.id) for row in matches)
        raise click.UsageError(
            f"{len(matches)} webhooks are named {reference!r} ({ids}); give an id."
        )
    return matches[0]


def parse_since(text: str, now: datetime) -> datetime:
    """Parse --since: an ISO 8601 time, or a duration before now.

    Raises click.BadParameter for anything else.
    """
    try:
        return now - parse_duration(text, "--since")
    except ConfigError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"invalid time {text!r}; write an ISO 8601 time such as"
            " 2024-01-15T16:00:00Z or a duration such as 6h.",
            param_hint="--since",
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _set_enabled(context: click.Context, reference: str, *, enabled: bool) -> None:
    with _database(context) as connection:
        target = find_webhook(connection, reference)
        updated = update_webhook(connection, target.id, {}, enabled=enabled)

    word = "enabled" if enabled else "disabled"
    log.info(
        "webhook %s %s from the command line",
        updated.id,
        word,
        extra={"webhook_id": str(updated.id)},
    )
    click.echo(f"webhook {updated.id} ({updated.name}) {word}")


@contextmanager
def _database(context: click.Context) -> Iterator[psycopg.Connection]:
    """Open an autocommit connection and turn store errors into exits.

    A missing webhook is a usage error (exit 2); a database that cannot be
    reached is a runtime failure (exit 1).
    """
    settings = settings_of(context)
    try:
        with connect(settings.database_url) as connection:
            yield connection
    except DatabaseUnavailable as error:
        fail(str(error))
    except WebhooksError as error:
        fail(error.message, EXIT_USAGE)


def _all_webhooks(
    connection: psycopg.Connection, filters: WebhookFilter | None = None
) -> Iterator[Webhook]:
    offset = 0
    while True:
        page = list_webhooks(
            connection,
            filters or WebhookFilter(),
            sort_key="created_at",
            descending=False,
            limit=_PAGE_SIZE,
            offset=offset,
        )
        yield from page
        if len(page) < _PAGE_SIZE:
            return
        offset += _PAGE_SIZE


def _webhook_document(webhook: Webhook) -> dict[str, object]:
    return {
        "id": str(webhook.id),
        "name": webhook.name,
        "url": webhook.url,
        "eventCodes": webhook.event_codes,
        "enabled": webhook.enabled,
        "successiveFailureCount": webhook.successive_failure_count,
        "createdAt": webhook.created_at.isoformat(),
    }
