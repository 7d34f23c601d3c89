"""Encrypt signing secrets at rest when WEBHOOKS_ENCRYPTION_KEY is set.

The variable contains one or more Fernet keys separated by commas. The first
key encrypts; every key decrypts, so a new key can be put first while rows
encrypted with the old one still read. ``relay rotate-encryption-key``
re-encrypts every stored secret with the first key.

A stored secret is either plaintext, which always starts with ``whsec_``
(rows written before a key was set), or a Fernet token, which never does
(it starts with ``gAAAAA``). Both read back, so setting a key needs no
downtime.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from relay.config import ConfigError, Settings
from relay.errors import SecretUnreadable
from relay.signing import SECRET_PREFIX

KEY_VARIABLE = "WEBHOOKS_ENCRYPTION_KEY"


class SecretCipher:
    """Turn signing secrets into their stored form and back.

    Without keys, secrets are stored as they are.
    """

    def __init__(self, keys: list[Fernet]) -> None:
        self._keys = keys
        self._all_keys = MultiFernet(keys) if keys else None

    @classmethod
    def from_settings(cls, settings: Settings) -> "SecretCipher":
        """Build the cipher of settings.encryption_key; raise ConfigError if bad."""
        return cls(parse_keys(settings.encryption_key or ""))

    @property
    def encrypts(self) -> bool:
        """Whether new secrets are stored encrypted."""
        return self._all_keys is not None

    def encrypt(self, secret: str) -> str:
        """Return the stored form of a secret."""
        if self._all_keys is None:
            return secret
        return self._all_keys.encrypt(secret.encode()).decode("ascii")

    def decrypt(self, stored: str) -> str:
        """Return the secret of a stored value; raise SecretUnreadable."""
        if stored.startswith(SECRET_PREFIX):
            return stored
        if self._all_keys is None:
            raise SecretUnreadable(
                f"A signing secret is stored encrypted but {KEY_VARIABLE} is not set.",
                f"Set {KEY_VARIABLE} to the key the secrets were encrypted with.",
            )
        try:
            return self._all_keys.decrypt(stored.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as error:
            raise SecretUnreadable(
                f"A signing secret cannot be decrypted with any key in {KEY_VARIABLE}.",
                "Add the key the secrets were encrypted with to the list.",
            ) from error

    def decrypt_all(self, stored: list[str]) -> list[str]:
        """Return the secrets of several stored values; raise SecretUnreadable."""
        return [self.decrypt(value) for value in stored]

    def needs_rotation(self, stored: str) -> bool:
        """Return whether a stored value is not yet encrypted with the first key."""
        if not self._keys:
            return False
        if stored.startswith(SECRET_PREFIX):
            return True
        try:
            self._keys[0].decrypt(stored.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return True
        return False

    def rotate(self, stored: str) -> str:
        """Return a stored value encrypted with the first key.

        Raises SecretUnreadable when no key decrypts it.
        """
        return self.encrypt(self.decrypt(stored))


def parse_keys(text: str) -> list[Fernet]:
    """Parse comma-separated Fernet keys; raise ConfigError naming a bad one."""
    keys = []
    for number, entry in enumerate(text.split(","), start=1):
        entry = entry.strip()
        if not entry:
            continue
        try:
            keys.append(Fernet(entry))
        except ValueError as error:
            # The message must not quote the key itself.
            raise ConfigError(
                f"{KEY_VARIABLE}: key {number} is not a Fernet key; make one with "
                "python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'."
            ) from error
    return keys
