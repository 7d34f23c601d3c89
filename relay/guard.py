"""Decide which addresses the relay may connect to.

Operators type the URLs that the relay calls, so a URL could point at the
database, a metadata service or an internal admin page. Before connecting,
the relay resolves the host, rejects any answer that is not a public
address, and then connects to exactly the address it checked, so a DNS
answer that changes between the check and the connection cannot slip
through.
"""

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass

Resolver = Callable[[str, int], list[str]]

# Every range the guard blocks, with the reason shown in the execution's
# message. Python's is_private and is_global changed between patch releases
# (3.11.10 and 3.12.4 narrowed them), so the ranges are listed here and the
# ipaddress properties only catch what the table misses. Sources: the IANA
# IPv4 and IPv6 Special-Purpose Address Registries.
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
BLOCKED_RANGES: tuple[tuple[Network, str], ...] = (
    (ipaddress.ip_network("0.0.0.0/32"), "an unspecified address"),
    (ipaddress.ip_network("0.0.0.0/8"), "a 'this network' address"),
    (ipaddress.ip_network("10.0.0.0/8"), "a private address"),
    (ipaddress.ip_network("100.64.0.0/10"), "a carrier-grade NAT address"),
    (ipaddress.ip_network("127.0.0.0/8"), "a loopback address"),
    (ipaddress.ip_network("169.254.0.0/16"), "a link-local address"),
    (ipaddress.ip_network("172.16.0.0/12"), "a private address"),
    (ipaddress.ip_network("192.0.0.0/24"), "an IETF protocol assignment address"),
    (ipaddress.ip_network("192.0.2.0/24"), "a documentation address"),
    (ipaddress.ip_network("192.88.99.0/24"), "a 6to4 relay anycast address"),
    (ipaddress.ip_network("192.168.0.0/16"), "a private address"),
    (ipaddress.ip_network("198.18.0.0/15"), "a benchmarking address"),
    (ipaddress.ip_network("198.51.100.0/24"), "a documentation address"),
    (ipaddress.ip_network("203.0.113.0/24"), "a documentation address"),
    (ipaddress.ip_network("224.0.0.0/4"), "a multicast address"),
    (ipaddress.ip_network("255.255.255.255/32"), "a broadcast address"),
    (ipaddress.ip_network("240.0.0.0/4"), "a reserved address"),
    (ipaddress.ip_network("::/128"), "an unspecified address"),
    (ipaddress.ip_network("::1/128"), "a loopback address"),
    (ipaddress.ip_network("::/96"), "an IPv4-compatible address"),
    (ipaddress.ip_network("100::/64"), "a discard-only address"),
    (ipaddress.ip_network("2001::/32"), "a Teredo tunnel address"),
    (ipaddress.ip_network("2001:2::/48"), "a benchmarking address"),
    (ipaddress.ip_network("2001:10::/28"), "a reserved address"),
    (ipaddress.ip_network("2001:20::/28"), "a reserved address"),
    (ipaddress.ip_network("2001:db8::/32"), "a documentation address"),
    (ipaddress.ip_network("3fff::/20"), "a documentation address"),
    (ipaddress.ip_network("5f00::/16"), "a segment routing address"),
    (ipaddress.ip_network("fc00::/7"), "a private address"),
    (ipaddress.ip_network("fe80::/10"), "a link-local address"),
    (ipaddress.ip_network("fec0::/10"), "a site-local address"),
    (ipaddress.ip_network("ff00::/8"), "a multicast address"),
)

# IPv6 prefixes that carry an IPv4 address in their last 32 bits: a NAT64
# gateway turns them into a connection to that IPv4 address.
_NAT64_PREFIXES = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)


class BlockedDestination(Exception):
    """The destination resolves to an address the relay must not call."""


class ResolutionFailed(Exception):
    """The host name could not be resolved."""


@dataclass(frozen=True)
class Destination:
    """A checked address to connect to, with the host name it came from."""

    host: str
    address: str
    port: int


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve a host with the operating system's resolver."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise ResolutionFailed(f"DNS lookup failed for {host}") from error
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


def blocked_reason(address: str) -> str | None:
    """Return why an address must not be called, or None when it is public.

    An IPv6 address that carries an IPv4 address (IPv4-mapped, NAT64, 6to4,
    Teredo) is judged by that IPv4 address, so the reason names it. Teredo
    addresses are blocked even around a public IPv4 address: the connection
    would go through a tunnel relay that the guard cannot judge.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = blocked_reason(str(embedded))
            if reason is not None or ip.teredo is None:
                return reason
    for network, reason in BLOCKED_RANGES:
        if ip.version == network.version and ip in network:
            return reason
    if ip.is_private or ip.is_reserved or not ip.is_global:
        return "a non-public address"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address carried inside an IPv6 one, if any.

    For Teredo this is the client address, which the prefix stores with its
    bits inverted; ipaddress undoes that.
    """
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if any(ip in prefix for prefix in _NAT64_PREFIXES):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def resolve_destination(
    host: str, port: int, *, allow_private: bool, resolver: Resolver = system_resolver
) -> Destination:
    """Resolve host once and return the address to connect to.

    Every answer is checked, not only the first: a name that resolves to
    one public and one private address is rejected, since the connection
    could otherwise be steered to the private one. Raises BlockedDestination
    or ResolutionFailed.
    """
    addresses = [host.strip("[]")] if _is_ip_literal(host) else resolver(host, port)
    if not addresses:
        raise ResolutionFailed(f"DNS lookup failed for {host}")
    if not allow_private:
        for address in addresses:
            reason = blocked_reason(address)
            if reason is not None:
                raise BlockedDestination(f"Blocked: {address} is {reason}")
    return Destination(host=host, address=addresses[0], port=port)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True
