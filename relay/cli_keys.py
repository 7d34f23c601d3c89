"""The encryption key of signing secrets: the rotation command and the check
that ``relay run`` makes at start."""

import logging
from dataclasses import dataclass

import click
import psycopg

from relay.config import ConfigError, Settings
from relay.database import connect
from relay.errors import DatabaseUnavailable, SecretUnreadable
from relay.secret_storage import KEY_VARIABLE, SecretCipher
from relay.store.signing_secrets import (
    StoredSecrets,
    list_stored_secrets,
    replace_stored_secrets,
)

log = logging.getLogger(__name__)

EXIT_FAILURE = 1
EXIT_USAGE = 2


@dataclass
class RotationCounts:
    """Counts of the webhooks a key rotation rewrote, skipped or could not read."""

    rewritten: int = 0
    current: int = 0
    changed_meanwhile: int = 0
    unreadable: int = 0


def rotate_secrets(
    connection: psycopg.Connection, cipher: SecretCipher, batch_size: int
) -> RotationCounts:
    """Re-encrypt every stored secret with the first key, one batch per commit.

    connection must not be in autocommit mode. Secrets already encrypted
    with the first key are left alone, so running it again is safe.
    """
    counts = RotationCounts()
    after = None
    while True:
        batch = list_stored_secrets(connection, after=after, limit=batch_size)
        if not batch:
            return counts
        for stored in batch:
            _rotate_one(connection, cipher, stored, counts)
        connection.commit()
        after = batch[-1].webhook_id


def _rotate_one(
    connection: psycopg.Connection,
    cipher: SecretCipher,
    stored: StoredSecrets,
    counts: RotationCounts,
) -> None:
    values = [stored.secret, stored.previous_secret]
    if not any(value and cipher.needs_rotation(value) for value in values):
        counts.current += 1
        return
    try:
        previous = stored.previous_secret
        rotated = StoredSecrets(
            webhook_id=stored.webhook_id,
            secret=cipher.rotate(stored.secret),
            previous_secret=cipher.rotate(previous) if previous else None,
        )
    except SecretUnreadable:
        log.error(
            "signing secret of webhook %s cannot be decrypted with any key",
            stored.webhook_id,
            extra={"webhook_id": str(stored.webhook_id)},
        )
        counts.unreadable += 1
        return
    if replace_stored_secrets(connection, stored, rotated):
        counts.rewritten += 1
    else:
        # A rotation through the API wrote a secret with the current key.
        counts.changed_meanwhile += 1


def check_signing_secrets(connection: psycopg.Connection, settings: Settings) -> int:
    """Return how many webhooks have a secret the configured keys cannot read.

    Raises ConfigError for a malformed key.
    """
    cipher = SecretCipher.from_settings(settings)
    unreadable = 0
    after = None
    while batch := list_stored_secrets(connection, after=after, limit=500):
        for stored in batch:
            values = [stored.secret, stored.previous_secret]
            try:
                cipher.decrypt_all([value for value in values if value])
            except SecretUnreadable:
                unreadable += 1
        after = batch[-1].webhook_id
    return unreadable


@click.command("rotate-encryption-key")
@click.option(
    "--batch-size",
    default=100,
    show_default=True,
    type=click.IntRange(1, 10000),
    help="Webhooks re-encrypted per transaction.",
)
@click.pass_context
def rotate_encryption_key(context: click.Context, batch_size: int) -> None:
    """Re-encrypt every signing secret with the first key.

    WEBHOOKS_ENCRYPTION_KEY lists Fernet keys separated by commas: put the
    new key first and keep the old ones after it. Plaintext secrets, stored
    before a key was set, are encrypted too. Safe to run again and while
    relays and the API run; afterwards the old keys can be removed.
    """
    settings: Settings = context.obj["settings"]
    try:
        cipher = SecretCipher.from_settings(settings)
    except ConfigError as error:
        _fail(str(error), EXIT_USAGE)
    if not cipher.encrypts:
        _fail(f"{KEY_VARIABLE} is not set; set it to the new key first.", EXIT_USAGE)
    try:
        with connect(settings.database_url, autocommit=False) as connection:
            counts = rotate_secrets(connection, cipher, batch_size)
    except DatabaseUnavailable as error:
        _fail(str(error))
    click.echo(
        f"re-encrypted {counts.rewritten} webhooks; {counts.current} already used "
        f"the first key; {counts.changed_meanwhile} changed meanwhile"
    )
    if counts.unreadable:
        _fail(
            f"{counts.unreadable} webhooks have a secret that no key in "
            f"{KEY_VARIABLE} decrypts; add the key they were encrypted with."
        )


def _fail(message: str, code: int = EXIT_FAILURE) -> None:
    click.echo(f"relay: {message}", err=True)
    raise SystemExit(code)
