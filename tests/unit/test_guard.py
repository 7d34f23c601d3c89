"""The destination guard's address classification, without connecting."""

import pytest

from relay.guard import (
    BLOCKED_RANGES,
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
        ("169.254.0.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("fe80::1%eth0", "a link-local address"),
        ("100.64.0.1", "a carrier-grade NAT address"),
        ("100.127.255.254", "a carrier-grade NAT address"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("0.1.2.3", "a 'this network' address"),
        ("::", "an unspecified address"),
        ("240.0.0.1", "a reserved address"),
        ("255.255.255.255", "a broadcast address"),
        ("192.0.0.8", "an IETF protocol assignment address"),
        ("192.0.2.10", "a documentation address"),
        ("198.51.100.7", "a documentation address"),
        ("203.0.113.99", "a documentation address"),
        ("2001:db8::1", "a documentation address"),
        ("3fff::1", "a documentation address"),
        ("198.18.0.1", "a benchmarking address"),
        ("198.19.255.254", "a benchmarking address"),
        ("2001:2::1", "a benchmarking address"),
        ("192.88.99.1", "a 6to4 relay anycast address"),
        ("fc00::1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("fec0::1", "a site-local address"),
        ("100::1", "a discard-only address"),
        ("::7f00:1", "an IPv4-compatible address"),
        ("::ffff:10.0.0.5", "a private address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("::ffff:169.254.169.254", "a link-local address"),
        ("64:ff9b::a9fe:a9fe", "a link-local address"),
        ("64:ff9b::7f00:1", "a loopback address"),
        ("64:ff9b:1::a00:1", "a private address"),
        ("2002:7f00:1::", "a loopback address"),
        ("2002:c0a8:101::1", "a private address"),
        ("2002:a9fe:a9fe::1", "a link-local address"),
        # Teredo stores the client address with its bits inverted:
        # 3fff:fdd2 is 192.0.2.45 and f5ff:fffe is 10.0.0.1.
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "a documentation address"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "a private address"),
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "a Teredo tunnel address"),
    ],
)
def test_blocked_reason_non_public(address: str, reason: str) -> None:
    assert blocked_reason(address) == reason


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "8.8.8.8",
        "1.1.1.1",
        "2606:4700::1111",
        "2a00:1450:4001::200e",
        "172.32.0.1",
        "100.128.0.1",
        "100.63.255.255",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ],
)
def test_blocked_reason_public_is_none(address: str) -> None:
    assert blocked_reason(address) is None


def test_blocked_ranges_cover_each_reason_once_per_version() -> None:
    """Each table row must be reachable: no earlier row may swallow it."""
    for index, (network, _reason) in enumerate(BLOCKED_RANGES):
        earlier = [
            other
            for other, _ in BLOCKED_RANGES[:index]
            if other.version == network.version
        ]
        assert not any(network.subnet_of(other) for other in earlier), network  # type: ignore[arg-type]


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
