"""The ``relay`` command: migrate, run the daemon, emit events, prune.

Exit codes: 0 success, 1 runtime failure (such as a database error),
2 invalid usage or configuration.
"""

import json
import logging
import sys
from typing import Any, NoReturn

import click
import psycopg

from relay.cli_keys import rotate_encryption_key
from relay.config import ConfigError, Settings, load_settings
from relay.database import connect
from relay.errors import DatabaseUnavailable, WebhooksError
from relay.logs import configure_logging

log = logging.getLogger(__name__)

EXIT_FAILURE = 1
EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    click.echo(f"relay: {message}", err=True)
    sys.exit(code)


def _settings(context: click.Context) -> Settings:
    settings: Settings = context.obj["settings"]
    return settings


@click.group()
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Lowest level of log line to print.",
)
@click.option(
    "--log-format",
    default="text",
    show_default=True,
    envvar="WEBHOOKS_LOG_FORMAT",
    type=click.Choice(["text", "json"]),
    help="Plain text lines, or one JSON object per line [env WEBHOOKS_LOG_FORMAT].",
)
@click.pass_context
def main(context: click.Context, log_level: str, log_format: str) -> None:
    """Streto Webhooks relay: deliver the webhooks stored in PostgreSQL.

    The database comes from DATABASE_URL; the other settings from the
    WEBHOOKS_* variables described in the README.
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


@main.command()
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


@main.command()
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
@click.pass_context
def run(context: click.Context, workers: int, concurrency: int) -> None:
    """Deliver webhooks until SIGTERM or Ctrl-C.

    On SIGTERM or Ctrl-C the relay stops claiming, finishes the requests in
    flight (at most WEBHOOKS_TIMEOUT seconds), records them and exits 0.
    """
    from relay.cli_keys import check_signing_secrets
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
    supervisor = Supervisor(
        settings,
        workers=workers,
        concurrency=concurrency,
        log_level=context.obj["log_level"],
        log_format=context.obj["log_format"],
    )
    sys.exit(supervisor.run())


@main.command()
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
    click.echo(f"event {event_id} ({code}) emitted to {instances} webhooks")


def _reject_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


@main.command()
@click.pass_context
def prune(context: click.Context) -> None:
    """Delete finished instances and old events past their retention.

    Instances older than WEBHOOKS_INSTANCE_RETENTION (default 30d) and
    events older than WEBHOOKS_EVENT_RETENTION (default 7d) that no instance
    refers to, in batches of 500 rows.
    """
    from relay.retention import prune as prune_rows

    settings = _settings(context)
    deleted = 0
    with click.progressbar(length=0, label="pruning", show_pos=True) as bar:

        def advance(count: int) -> None:
            nonlocal deleted
            deleted += count
            bar.update(count)

        try:
            instances, events = prune_rows(settings, progress=advance)
        except DatabaseUnavailable as error:
            _fail(str(error))
    click.echo(f"deleted {instances} instances and {events} events")


def _describe_database(connection: Any) -> str:
    info = connection.info
    return f"{info.host}:{info.port}/{info.dbname}"


main.add_command(rotate_encryption_key)
