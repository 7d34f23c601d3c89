"""Read the relay's and the API's configuration from the environment.

Every variable has a default except the API tokens. A value that cannot be
parsed raises ConfigError, whose message names the variable, so the
program stops at start with one line instead of failing later.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "postgresql://127.0.0.1:5432/postgres"
DEFAULT_RETRY_DELAYS = "30s,2m,10m,30m,1h,3h,6h,12h"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_MAX_DURATION_SECONDS = 3650 * 86400
_MAX_COUNT = 2**31 - 1


class ConfigError(ValueError):
    """A configuration variable has a value that cannot be used."""


@dataclass(frozen=True)
class ApiToken:
    """An operator bearer token and the name recorded as author of changes."""

    token: str
    operator: str


@dataclass(frozen=True)
class Settings:
    """The configuration shared by the relay, the API and the CLI."""

    database_url: str = DEFAULT_DATABASE_URL
    api_tokens: tuple[ApiToken, ...] = ()
    retry_delays: tuple[timedelta, ...] = field(
        default_factory=lambda: parse_durations(DEFAULT_RETRY_DELAYS, "default")
    )
    disable_after: int = 20
    max_in_flight_per_webhook: int = 20
    timeout: float = 10.0
    allow_private_targets: bool = False
    smtp_url: str | None = None
    notify_emails: tuple[str, ...] = ()
    event_retention: timedelta = timedelta(days=7)
    instance_retention: timedelta = timedelta(days=30)
    encryption_key: str | None = None

    @property
    def connect_timeout(self) -> float:
        """Seconds allowed to open a connection to a receiver."""
        return min(5.0, self.timeout)

    @property
    def lease(self) -> timedelta:
        """How long a claim lasts: the request timeout plus a margin.

        The margin covers writing the result after the request ends; a relay
        that dies loses its claims to the other relays after this long.
        """
        return timedelta(seconds=self.timeout + 5)


def parse_duration(text: str, variable: str) -> timedelta:
    """Parse a duration such as ``250ms``, ``30s``, ``2m``, ``1h`` or ``7d``."""
    match = _DURATION.match(text)
    if match is None:
        raise ConfigError(
            f"{variable}: invalid duration {text!r}; "
            "write a number followed by ms, s, m, h or d, such as 30s."
        )
    number, unit = match.groups()
    seconds = float(number) * _UNIT_SECONDS[unit]
    # Every duration is added to timestamps in PostgreSQL; ten years keeps
    # the sums far inside its range.
    if seconds > _MAX_DURATION_SECONDS:
        raise ConfigError(
            f"{variable}: duration {text!r} is too long; write at most 3650d."
        )
    return timedelta(seconds=seconds)


def parse_durations(text: str, variable: str) -> tuple[timedelta, ...]:
    """Parse a comma-separated list of durations; an empty string means none."""
    parts = [part for part in text.split(",") if part.strip()]
    return tuple(parse_duration(part, variable) for part in parts)


def parse_api_tokens(text: str) -> tuple[ApiToken, ...]:
    """Parse ``token`` or ``name:token`` entries separated by commas."""
    tokens = []
    for number, entry in enumerate(text.split(","), start=1):
        entry = entry.strip()
        if not entry:
            continue
        operator, _, token = entry.rpartition(":")
        if not token:
            raise ConfigError(
                f"WEBHOOKS_API_TOKENS: entry {number} has an empty token; "
                "write token or name:token."
            )
        tokens.append(ApiToken(token=token, operator=operator or f"token-{number}"))
    return tuple(tokens)


def _parse_bool(text: str, variable: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{variable}: invalid boolean {text!r}; write true or false.")


def _parse_positive_int(text: str, variable: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    # The database stores these as 32-bit integers.
    if not 1 <= value <= _MAX_COUNT:
        raise ConfigError(
            f"{variable}: invalid value {text!r}; "
            f"write a whole number from 1 to {_MAX_COUNT}."
        )
    return value


def _parse_seconds(text: str, variable: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 300:
        raise ConfigError(
            f"{variable}: invalid value {text!r}; "
            "write seconds between 0 and 300, such as 10."
        )
    return value


def _parse_smtp_url(text: str) -> str:
    location = urlsplit(text.strip())
    try:
        port = location.port
    except ValueError:
        port = None
        location = location._replace(scheme="invalid")
    if (
        location.scheme != "smtp"
        or not location.hostname
        or location.path not in ("", "/")
    ):
        raise ConfigError(
            f"WEBHOOKS_SMTP_URL: invalid value {text!r}; write smtp://host:port, "
            "such as smtp://127.0.0.1:25."
        )
    return f"smtp://{location.hostname}:{port or 25}"


def _split_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment, raising ConfigError on a bad value."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}

    if env.get("DATABASE_URL"):
        values["database_url"] = env["DATABASE_URL"]
    if "WEBHOOKS_API_TOKENS" in env:
        values["api_tokens"] = parse_api_tokens(env["WEBHOOKS_API_TOKENS"])
    if "WEBHOOKS_RETRY_DELAYS" in env:
        values["retry_delays"] = parse_durations(
            env["WEBHOOKS_RETRY_DELAYS"], "WEBHOOKS_RETRY_DELAYS"
        )
    if "WEBHOOKS_DISABLE_AFTER" in env:
        values["disable_after"] = _parse_positive_int(
            env["WEBHOOKS_DISABLE_AFTER"], "WEBHOOKS_DISABLE_AFTER"
        )
    if "WEBHOOKS_MAX_IN_FLIGHT_PER_WEBHOOK" in env:
        values["max_in_flight_per_webhook"] = _parse_positive_int(
            env["WEBHOOKS_MAX_IN_FLIGHT_PER_WEBHOOK"],
            "WEBHOOKS_MAX_IN_FLIGHT_PER_WEBHOOK",
        )
    if "WEBHOOKS_TIMEOUT" in env:
        values["timeout"] = _parse_seconds(env["WEBHOOKS_TIMEOUT"], "WEBHOOKS_TIMEOUT")
    if "WEBHOOKS_ALLOW_PRIVATE_TARGETS" in env:
        values["allow_private_targets"] = _parse_bool(
            env["WEBHOOKS_ALLOW_PRIVATE_TARGETS"], "WEBHOOKS_ALLOW_PRIVATE_TARGETS"
        )
    if env.get("WEBHOOKS_SMTP_URL"):
        values["smtp_url"] = _parse_smtp_url(env["WEBHOOKS_SMTP_URL"])
    if "WEBHOOKS_NOTIFY_EMAILS" in env:
        values["notify_emails"] = _split_list(env["WEBHOOKS_NOTIFY_EMAILS"])
    if "WEBHOOKS_EVENT_RETENTION" in env:
        values["event_retention"] = parse_duration(
            env["WEBHOOKS_EVENT_RETENTION"], "WEBHOOKS_EVENT_RETENTION"
        )
    if "WEBHOOKS_INSTANCE_RETENTION" in env:
        values["instance_retention"] = parse_duration(
            env["WEBHOOKS_INSTANCE_RETENTION"], "WEBHOOKS_INSTANCE_RETENTION"
        )
    if env.get("WEBHOOKS_ENCRYPTION_KEY"):
        values["encryption_key"] = env["WEBHOOKS_ENCRYPTION_KEY"]

    return Settings(**values)  # type: ignore[arg-type]
