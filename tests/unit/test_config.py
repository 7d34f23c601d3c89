"""Settings from the environment."""

from datetime import timedelta

import pytest

from relay.config import ApiToken, ConfigError, load_settings, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250ms", timedelta(milliseconds=250)),
        ("30s", timedelta(seconds=30)),
        ("2m", timedelta(minutes=2)),
        ("1.5h", timedelta(minutes=90)),
        ("7d", timedelta(days=7)),
    ],
)
def test_parse_duration_units(text: str, expected: timedelta) -> None:
    assert parse_duration(text, "X") == expected


@pytest.mark.parametrize("text", ["", "10", "5 minutes", "-1s", "1w"])
def test_parse_duration_invalid_names_variable(text: str) -> None:
    with pytest.raises(ConfigError, match="WEBHOOKS_EVENT_RETENTION"):
        load_settings({"WEBHOOKS_EVENT_RETENTION": text})


def test_load_settings_defaults() -> None:
    settings = load_settings({})

    assert len(settings.retry_delays) == 8
    assert settings.retry_delays[0] == timedelta(seconds=30)
    assert settings.retry_delays[-1] == timedelta(hours=12)
    assert settings.disable_after == 20
    assert settings.timeout == 10
    assert settings.connect_timeout == 5
    assert settings.lease == timedelta(seconds=15)
    assert settings.allow_private_targets is False
    assert settings.event_retention == timedelta(days=7)
    assert settings.instance_retention == timedelta(days=30)


def test_load_settings_tokens_with_names() -> None:
    settings = load_settings({"WEBHOOKS_API_TOKENS": "alice:abc, def ,bob:x:y"})

    assert settings.api_tokens == (
        ApiToken("abc", "alice"),
        ApiToken("def", "token-2"),
        ApiToken("y", "bob:x"),
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WEBHOOKS_DISABLE_AFTER", "0"),
        ("WEBHOOKS_DISABLE_AFTER", "many"),
        ("WEBHOOKS_TIMEOUT", "0"),
        ("WEBHOOKS_TIMEOUT", "ten"),
        ("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "maybe"),
        ("WEBHOOKS_RETRY_DELAYS", "30s,soon"),
        ("WEBHOOKS_RETRY_DELAYS", "99999999999d"),
        ("WEBHOOKS_RETRY_DELAYS", "1" + "0" * 400 + "s"),
        ("WEBHOOKS_DISABLE_AFTER", "99999999999"),
        ("WEBHOOKS_INSTANCE_RETENTION", "100000000d"),
        ("WEBHOOKS_API_TOKENS", "alice:"),
    ],
)
def test_load_settings_bad_value_names_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings({variable: value})
