"""`relay status`: the queue and the webhooks that need attention."""

import json
from typing import Any

import click

from relay.cli_context import EXIT_CODES_EPILOG, fail, logging_options, settings_of
from relay.database import connect
from relay.errors import DatabaseUnavailable
from relay.store.status import (
    QueueStatus,
    WebhookHealth,
    list_unhealthy_webhooks,
    read_queue_status,
)


@click.command(epilog=EXIT_CODES_EPILOG)
@logging_options
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object instead of text; ages are in seconds.",
)
@click.pass_context
def status(context: click.Context, as_json: bool) -> None:
    """Show the queue depth and the webhooks that need attention.

    Counts the scheduled instances by state (new; running, that is leased;
    failed and waiting for a retry), those due now, those held while their
    webhook is disabled, and the age in seconds of the oldest due instance.
    Lists the disabled webhooks and the enabled ones whose last tries
    failed. Finished instances are not counted, since that would read the
    whole history.
    """
    settings = settings_of(context)
    try:
        with connect(settings.database_url) as connection:
            queue = read_queue_status(connection)
            webhooks = list_unhealthy_webhooks(connection)
    except DatabaseUnavailable as error:
        fail(str(error))

    if as_json:
        click.echo(json.dumps(status_document(queue, webhooks), indent=2))
    else:
        click.echo(format_status(queue, webhooks))


def status_document(
    queue: QueueStatus, webhooks: list[WebhookHealth]
) -> dict[str, Any]:
    """Build the --json output, with the API's camelCase keys."""
    return {
        "instances": {
            "new": queue.new,
            "running": queue.running,
            "failed": queue.failed,
        },
        "due": queue.due,
        "held": queue.held,
        "oldestDueAgeSeconds": queue.oldest_due_age_seconds,
        "webhooks": [
            {
                "id": str(webhook.id),
                "name": webhook.name,
                "enabled": webhook.enabled,
                "successiveFailureCount": webhook.successive_failure_count,
            }
            for webhook in webhooks
        ],
    }


def format_status(queue: QueueStatus, webhooks: list[WebhookHealth]) -> str:
    """Lay the status out as aligned text lines."""
    if queue.oldest_due_age_seconds is None:
        oldest = "none due"
    else:
        oldest = f"{queue.oldest_due_age_seconds:.1f} s"
    lines = [
        "scheduled instances",
        f"  new       {queue.new:>9}",
        f"  running   {queue.running:>9}",
        f"  failed    {queue.failed:>9}  waiting for a retry",
        f"due now     {queue.due:>9}",
        f"held        {queue.held:>9}  webhook disabled",
        f"oldest due  {oldest:>9}",
    ]
    disabled = sum(1 for webhook in webhooks if not webhook.enabled)
    lines.append(f"webhooks: {disabled} disabled, {len(webhooks) - disabled} failing")
    for webhook in webhooks:
        label = "enabled " if webhook.enabled else "disabled"
        lines.append(
            f"  {label}  {webhook.id}  failures {webhook.successive_failure_count:>4}"
            f"  {webhook.name}"
        )
    return "\n".join(lines)
