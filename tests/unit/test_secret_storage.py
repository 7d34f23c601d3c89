"""SecretCipher: stored forms of signing secrets, without a database."""

import pytest
from cryptography.fernet import Fernet

from relay.config import ConfigError, Settings
from relay.errors import SecretUnreadable
from relay.secret_storage import SecretCipher, parse_keys
from relay.signing import generate_secret

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _cipher(keys: str) -> SecretCipher:
    return SecretCipher.from_settings(Settings(encryption_key=keys or None))


def test_cipher_round_trip() -> None:
    cipher = _cipher(NEW_KEY)
    secret = generate_secret()

    stored = cipher.encrypt(secret)

    assert cipher.encrypts
    assert secret not in stored
    assert not stored.startswith("whsec_")
    assert cipher.decrypt(stored) == secret


def test_cipher_without_key_stores_plaintext() -> None:
    cipher = _cipher("")
    secret = generate_secret()

    assert not cipher.encrypts
    assert cipher.encrypt(secret) == secret
    assert cipher.decrypt(secret) == secret
    assert not cipher.needs_rotation(secret)


def test_cipher_reads_plaintext_rows() -> None:
    secret = generate_secret()

    assert _cipher(NEW_KEY).decrypt(secret) == secret
    assert _cipher(NEW_KEY).needs_rotation(secret)


def test_cipher_rotation_to_first_key() -> None:
    secret = generate_secret()
    stored_with_old = _cipher(OLD_KEY).encrypt(secret)
    both = _cipher(f"{NEW_KEY},{OLD_KEY}")

    assert both.needs_rotation(stored_with_old)
    rotated = both.rotate(stored_with_old)

    assert not both.needs_rotation(rotated)
    assert _cipher(NEW_KEY).decrypt(rotated) == secret
    with pytest.raises(SecretUnreadable):
        _cipher(OLD_KEY).decrypt(rotated)


def test_cipher_wrong_key_is_clear_error() -> None:
    secret = generate_secret()
    stored = _cipher(OLD_KEY).encrypt(secret)

    with pytest.raises(SecretUnreadable) as raised:
        _cipher(NEW_KEY).decrypt(stored)

    assert "cannot be decrypted" in raised.value.message
    assert "WEBHOOKS_ENCRYPTION_KEY" in raised.value.message
    assert secret not in str(raised.value)


def test_cipher_encrypted_row_without_key() -> None:
    stored = _cipher(OLD_KEY).encrypt(generate_secret())

    with pytest.raises(SecretUnreadable, match="WEBHOOKS_ENCRYPTION_KEY is not set"):
        _cipher("").decrypt(stored)


def test_parse_keys_malformed_key_not_quoted() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_keys(f"{NEW_KEY}, not-a-key-at-all")

    assert "key 2 is not a Fernet key" in str(raised.value)
    assert "not-a-key-at-all" not in str(raised.value)
