"""Which network addresses allsource may contact: only globally routable ones.

The rule is an *allow* list, not a list of known-bad ranges: an address is contacted only when
:func:`refusal` finds no reason against it. Reasons, in order:

* an IPv6 address that **wraps an IPv4 address** is judged by the IPv4 address inside it —
  IPv4-mapped (``::ffff:a.b.c.d``), IPv4-compatible (``::a.b.c.d``), 6to4 (``2002:AABB:CCDD::``
  carries ``AA.BB.CC.DD``) and NAT64 (``64:ff9b::a.b.c.d``): a gateway would deliver
  ``2002:0a00:0001::`` to ``10.0.0.1``. Teredo (``2001::/32``) tunnels are refused outright;
* unspecified (``0.0.0.0``, ``::``) and multicast addresses;
* ranges Python's :mod:`ipaddress` may still call global on some versions, refused explicitly:
  carrier-grade NAT ``100.64.0.0/10`` (where clouds put metadata services, e.g.
  ``100.100.100.200``), IETF protocol assignments ``192.0.0.0/24``, ``0.0.0.0/8``,
  ``240.0.0.0/4``, deprecated site-local ``fec0::/10``, local-use NAT64 ``64:ff9b:1::/48``;
* anything ``ipaddress`` does not call ``is_global`` (private, loopback, link-local with the
  ``169.254.169.254`` metadata address, documentation, benchmarking, ULA ``fc00::/7``,
  ``fd00:ec2::254`` …).

:class:`AddressGuard` applies the rule to a host: it resolves the name (or reads an address
literal) and refuses the request when *any* resolved address is refused, so a name with one
public and one private answer cannot be used to reach the private one. A source added with
``--allow-private`` lifts the rule for **its own host only** (``private_hosts``): an article
link inside an internal feed, or a redirect to another host, is still guarded.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from allsource.errors import BlockedAddressError, FetchError

Resolver = Callable[[str], list[str]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4_REFUSED = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "240.0.0.0/4"))
_V6_REFUSED = tuple(ipaddress.IPv6Network(n) for n in (
    "fec0::/10", "64:ff9b:1::/48", "2001::/23", "fc00::/7", "fe80::/10"))
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")


def system_resolver(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise FetchError(f"cannot resolve host {host!r}: {why}") from exc
    return sorted({str(info[4][0]) for info in infos})


def parse_address(text: str) -> Address | None:
    """The IP address ``text`` spells (brackets and a zone id allowed), else ``None``."""
    try:
        return ipaddress.ip_address(text.strip("[]").split("%")[0])
    except ValueError:
        return None


def _wrapped_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(address: str | Address) -> str | None:
    """Why ``address`` must not be contacted, or ``None`` when it is globally routable."""
    ip = parse_address(address) if isinstance(address, str) else address
    if ip is None:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.teredo is not None:
            return f"{ip} is a Teredo tunnel address"
        inner = _wrapped_ipv4(ip)
        if inner is not None:
            why = refusal(inner)
            return None if why is None else f"{ip} wraps {inner}: {why}"
    if ip.is_unspecified:
        return f"{ip} is unspecified"
    if ip.is_multicast:
        return f"{ip} is multicast"
    refused = _V4_REFUSED if isinstance(ip, ipaddress.IPv4Address) else _V6_REFUSED
    for network in refused:
        if ip in network:
            return f"{ip} is in the non-public range {network}"
    if not ip.is_global:
        return f"{ip} is not a globally routable address"
    return None


def is_public(address: str) -> bool:
    return refusal(address) is None


def host_of(url: str) -> str:
    """The host of ``url`` as the guard compares it: lower case, an IP address normalized."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return normal_host(host)


def normal_host(host: str) -> str:
    ip = parse_address(host)
    return str(ip) if ip is not None else host.lower().rstrip(".")


@dataclass(frozen=True)
class AddressGuard:
    """Resolves hosts and refuses non-public addresses, except on ``private_hosts`` when the
    source allows private addresses (``private_hosts=None``: on every host)."""

    allow_private: bool = False
    private_hosts: frozenset[str] | None = None
    resolver: Resolver = system_resolver

    def private_allowed(self, host: str) -> bool:
        if not self.allow_private:
            return False
        return self.private_hosts is None or normal_host(host) in self.private_hosts

    def addresses(self, host: str) -> list[str]:
        """The addresses to connect to for ``host``, every one of them checked."""
        literal = parse_address(host)
        found = [str(literal)] if literal is not None else self.resolver(host)
        if not found:
            raise FetchError(f"host {host!r} has no address")
        if self.private_allowed(host):
            return found
        for address in found:
            why = refusal(address)
            if why is not None:
                raise BlockedAddressError(
                    f"refusing {host}: non-public address {address} ({why}); only a "
                    "source's own host may be private, with --allow-private")
        return found
