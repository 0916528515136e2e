"""Which addresses the outgoing HTTP client may connect to.

An address is allowed when it is a global unicast address and, for the IPv6 forms that
carry an IPv4 address inside them (IPv4-mapped, IPv4-compatible, 6to4, NAT64, Teredo),
the carried address is allowed too. Everything an attacker could point a link at to
reach us or our neighbours is refused: loopback, private, link-local, CGNAT, multicast,
reserved, unspecified. ``LANYARD_HTTP_ALLOW_NETWORKS`` names networks allowed despite
these rules (internal services, tests); it is the only exception.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Named even where ``is_global`` already refuses them, so the rules read as the issue lists them.
CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated ::a.b.c.d
NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
SIXTOFOUR = ipaddress.IPv6Network("2002::/16")


def denial(address: IPAddress) -> str | None:
    """Why ``address`` may not be reached (one phrase), or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and not (address.is_loopback or address.is_unspecified):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = denial(embedded)
            return f"{inner} (inside {address})" if inner else None
        if address in IPV4_COMPATIBLE:
            return "an IPv4-compatible IPv6 address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in CGNAT:
        return "a carrier-grade NAT address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a global address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 transition form carries, if it is one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in SIXTOFOUR:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address; the server part is public by design
    for network in NAT64:
        if address in network:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in IPV4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def allowed_by(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    """Whether ``address`` is in one of the operator's allowed networks."""
    return any(address.version == network.version and address in network for network in networks)
