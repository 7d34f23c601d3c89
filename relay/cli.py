"""The ``relay`` command: migrate, run the daemon, emit events, prune.

Status, webhooks and recover live in their own modules and are added to
the group at the end of this one. The exit codes are described in
relay.cli_context.
"""

import json
import logging
import sys
from typing import Any

import click
import psycopg

from relay.cli_context import (
    EXIT_CODES_EPILOG,
    EXIT_USAGE,
    LOG_FORMATS,
    LOG_LEVELS,
    logging_options,
    progress,
)
from relay.cli_context import fail as _fail
from relay.cli_context import settings_of as _settings
from relay.cli_keys import rotate_encryption_key
from relay.cli_status import status
from relay.cli_webhooks import recover, webhooks
from relay.config import ConfigError, load_settings
from relay.database import connect
from relay.errors import DatabaseUnavailable, WebhooksError
from relay.logs import configure_logging

log = logging.getLogger(__name__)


@click.group(epilog=EXIT_CODES_EPILOG)
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    help="Lowest level of log line to print.",
)
@click.option(
    "--log-format",
    default="text",
    show_default=True,
    envvar="WEBHOOKS_LOG_FORMAT",
    type=click.Choice(LOG_FORMATS),
    help="Plain text lines, or one JSON object per line [env WEBHOOKS_LOG_FORMAT].",
)
@click.pass_context
def main(context: click.Context, log_level: str, log_format: str) -> None:
    """Streto Webhooks relay: deliver the webhooks stored in PostgreSQL.

    The database comes from DATABASE_URL; the other settings from the
    WEBHOOKS_* variables described in the README. --log-level and
    --log-format may also follow the command's name.
    """
    configure_logging(log_level, log_format)
    try:
        settings = load_settings()
    except ConfigError as error:
        _fail(str(error), EXIT_USAGE)
    context.obj = {
        "settings": settings,
        "log_level": log_level,
        "log_format": log_format,
    }


@main.command(epilog=EXIT_CODES_EPILOG)
@logging_options
@click.pass_context
def migrate(context: click.Context) -> None:
    """Create or upgrade the webhooks schema; safe while relays run."""
    from relay.migrate import migrate as apply_migrations

    settings = _settings(context)
    try:
        applied = apply_migrations(settings.database_url)
    except (WebhooksError, ValueError) as error:
        _fail(str(error))
    click.echo(
        f"applied {len(applied)} migrations; SQL functions re-applied"
        if applied
        else "schema up to date; SQL functions re-applied"
    )


@main.command(epilog=EXIT_CODES_EPILOG)
@logging_options
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Number of worker processes.",
)
@click.option(
    "--concurrency",
    default=20,
    show_default=True,
    type=click.IntRange(1, 500),
    help="Requests in flight at once in each worker process.",
)
@click.option(
    "--metrics-port",
    envvar="WEBHOOKS_METRICS_PORT",
    type=click.IntRange(0, 65535),
    help="TCP port of the Prometheus /metrics endpoint; off when not set,"
    " 0 picks a free port [env WEBHOOKS_METRICS_PORT].",
)
@click.option(
    "--metrics-address",
    envvar="WEBHOOKS_METRICS_ADDRESS",
    default="127.0.0.1",
    show_default=True,
    help="IP address the /metrics endpoint listens on [env WEBHOOKS_METRICS_ADDRESS].",
)
@click.pass_context
def run(
    context: click.Context,
    workers: int,
    concurrency: int,
    metrics_port: int | None,
    metrics_address: str,
) -> None:
    """Deliver webhooks until SIGTERM or Ctrl-C.

    On SIGTERM or Ctrl-C the relay stops claiming, finishes the requests in
    flight (at most WEBHOOKS_TIMEOUT seconds), records them and exits 0.
    With --metrics-port, the supervisor serves Prometheus metrics summed
    over all worker processes, plus queue figures read from PostgreSQL on
    each scrape.
    """
    from relay.cli_keys import check_signing_secrets
    from relay.metrics_exporter import MetricsExporter
    from relay.store.maintenance import configure, schema_version
    from relay.supervisor import Supervisor

    settings = _settings(context)
    try:
        with connect(settings.database_url) as connection:
            if schema_version(connection) is None:
                _fail("the webhooks schema is missing; run `relay migrate` first.")
            configure(connection, settings.retry_delays, settings.disable_after)
            database = _describe_database(connection)
            unreadable = check_signing_secrets(connection, settings)
    except DatabaseUnavailable as error:
        _fail(str(error))
    except ConfigError as error:
        _fail(str(error), EXIT_USAGE)
    if unreadable:
        # Starting would leave every delivery of these webhooks undelivered.
        _fail(
            f"{unreadable} webhooks have a signing secret that "
            "WEBHOOKS_ENCRYPTION_KEY cannot decrypt; set the key they were "
            "encrypted with.",
            EXIT_USAGE,
        )
    if settings.allow_private_targets:
        log.warning(
            "destination guard is off (WEBHOOKS_ALLOW_PRIVATE_TARGETS=true): "
            "webhooks may call loopback and private addresses"
        )
    log.info(
        "relay starting: %d workers, concurrency %d, database %s, timeout %g s",
        workers,
        concurrency,
        database,
        settings.timeout,
        extra={"workers": workers, "concurrency": concurrency},
    )
    metrics = None
    if metrics_port is not None:
        metrics = MetricsExporter(settings.database_url, metrics_address, metrics_port)
        try:
            metrics.start()
        except OSError as error:
            _fail(
                f"cannot serve metrics on {metrics_address}:{metrics_port}:"
                f" {error.strerror or error}; choose another WEBHOOKS_METRICS_PORT"
                " or WEBHOOKS_METRICS_ADDRESS."
            )
    supervisor = Supervisor(
        settings,
        workers=workers,
        concurrency=concurrency,
        log_level=context.obj["log_level"],
        log_format=context.obj["log_format"],
        metrics=metrics,
    )
    sys.exit(supervisor.run())


@main.command(epilog=EXIT_CODES_EPILOG)
@logging_options
@click.argument("code")
@click.option(
    "--payload",
    "payload_file",
    required=True,
    type=click.File("r"),
    help="File holding the event's JSON object, or - for standard input.",
)
@click.pass_context
def emit(context: click.Context, code: str, payload_file: Any) -> None:
    """Emit one event with code CODE, as Streto's core would.

    Prints the event id and the number of instances it created.
    """
    from relay.store.events import count_instances_of_event
    from relay.store.events import emit as emit_event

    settings = _settings(context)
    try:
        # NaN and Infinity are not JSON, and PostgreSQL rejects them.
        payload = json.load(payload_file, parse_constant=_reject_json_constant)
    except (ValueError, RecursionError) as error:
        _fail(f"the payload is not valid JSON: {error}", EXIT_USAGE)
    try:
        with connect(settings.database_url, autocommit=False) as connection:
            event_id = emit_event(connection, code, payload)
            instances = count_instances_of_event(connection, event_id)
            connection.commit()
    except WebhooksError as error:
        _fail(
            error.message,
            EXIT_USAGE if not isinstance(error, DatabaseUnavailable) else 1,
        )
    except psycopg.DataError as error:
        # Such as a NUL character or a lone surrogate in a string.
        message = error.diag.message_primary or str(error)
        _fail(f"the database rejected the payload: {message}", EXIT_USAGE)
    webhooks = "webhook" if instances == 1 else "webhooks"
    click.echo(f"event {event_id} ({code}) emitted to {instances} {webhooks}")


def _reject_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


@main.command(epilog=EXIT_CODES_EPILOG)
@logging_options
@click.pass_context
def prune(context: click.Context) -> None:
    """Delete finished instances and old events past their retention.

    Instances older than WEBHOOKS_INSTANCE_RETENTION (default 30d) and
    events older than WEBHOOKS_EVENT_RETENTION (default 7d) that no instance
    refers to, in batches of 500 rows. A terminal gets a progress bar of
    the rows deleted.
    """
    from relay.retention import prune as prune_rows

    settings = _settings(context)
    with progress("pruning rows") as bar:
        try:
            instances, events = prune_rows(settings, progress=bar.update)
        except DatabaseUnavailable as error:
            _fail(str(error))
    click.echo(f"deleted {instances} instances and {events} events")


def _describe_database(connection: Any) -> str:
    info = connection.info
    return f"{info.host}:{info.port}/{info.dbname}"


main.add_command(status)
main.add_command(webhooks)
main.add_command(recover)
main.add_command(rotate_encryption_key)
