"""The destination guard's address classification, without connecting."""

import pytest

from relay.guard import (
    BlockedDestination,
    ResolutionFailed,
    blocked_reason,
    resolve_destination,
)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.0.0.5", "a private address"),
        ("172.16.0.1", "a private address"),
        ("172.31.255.254", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("100.64.0.1", "a carrier-grade NAT address"),
        ("100.127.255.254", "a carrier-grade NAT address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("240.0.0.1", "a private address"),
        ("fc00::1", "a private address"),
        ("::ffff:10.0.0.5", "a private address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("64:ff9b::a9fe:a9fe", "a link-local address"),
        ("2002:7f00:1::", "a loopback address"),
    ],
)
def test_blocked_reason_non_public(address: str, reason: str) -> None:
    assert blocked_reason(address) == reason


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "172.32.0.1"]
)
def test_blocked_reason_public_is_none(address: str) -> None:
    assert blocked_reason(address) is None


def test_resolve_destination_blocks_any_private_answer() -> None:
    def resolver(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.1.2.3"]

    with pytest.raises(
        BlockedDestination, match=r"Blocked: 10\.1\.2\.3 is a private address"
    ):
        resolve_destination("shop.example", 443, allow_private=False, resolver=resolver)


def test_resolve_destination_pins_checked_address() -> None:
    answers = iter([["93.184.215.14"], ["10.0.0.5"]])

    def resolver(host: str, port: int) -> list[str]:
        return next(answers)

    destination = resolve_destination(
        "shop.example", 443, allow_private=False, resolver=resolver
    )

    assert destination.address == "93.184.215.14"
    assert destination.host == "shop.example"


def test_resolve_destination_literal_skips_resolver() -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise AssertionError("an IP literal must not be resolved")

    with pytest.raises(BlockedDestination, match=r"169\.254\.169\.254 is a link-local"):
        resolve_destination(
            "169.254.169.254", 80, allow_private=False, resolver=resolver
        )


def test_resolve_destination_allow_private() -> None:
    destination = resolve_destination("127.0.0.1", 8080, allow_private=True)

    assert destination.address == "127.0.0.1"


def test_resolve_destination_empty_answer() -> None:
    with pytest.raises(ResolutionFailed):
        resolve_destination(
            "nothing.example", 80, allow_private=False, resolver=lambda h, p: []
        )
