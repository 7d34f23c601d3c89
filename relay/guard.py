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

# Ranges that the ipaddress properties below do not all cover on every
# Python version, checked first so the reason names them precisely.
_CARRIER_GRADE_NAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


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
    """Return why an address must not be called, or None when it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = blocked_reason(str(embedded))
            return reason
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip in _CARRIER_GRADE_NAT:
        return "a carrier-grade NAT address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "a non-public address"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address carried inside an IPv6 one, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
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
