"""The one outbound HTTP client factory.

Every request allsource makes goes through :func:`make_client`: http/https only, default
timeouts, a redirect limit, a response size cap (:func:`fetch` streams and stops at the cap),
and an address guard. The guard resolves the host of *every* request — including each
redirect hop, since httpx calls the transport once per hop — and refuses private, loopback,
link-local, multicast, reserved and unspecified addresses unless the source explicitly allows
them (``allow_private``). Tests inject a transport (``httpx.MockTransport``) or use a real
local server with ``allow_private=True``; nothing reaches the internet in tests.

Known limit: the name is resolved by the guard and again by the connection pool, so a DNS
answer that changes between the two (rebinding) is not caught; pin addresses at the resolver
if that matters in your deployment.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from allsource.config import Settings
from allsource.errors import BlockedAddressError, FetchError, InputError

Resolver = Callable[[str], list[str]]


def system_resolver(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve host {host!r}: {exc.strerror}") from exc
    return sorted({str(info[4][0]) for info in infos})


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified)


class GuardedTransport(httpx.BaseTransport):
    """Checks scheme and destination address, then hands the request to ``inner``."""

    def __init__(self, inner: httpx.BaseTransport, *, allow_private: bool,
                 resolver: Resolver = system_resolver) -> None:
        self.inner = inner
        self.allow_private = allow_private
        self.resolver = resolver

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise FetchError(f"refusing {url.scheme}:// URL {url}: only http and https")
        host = url.host
        if not self.allow_private:
            try:
                addresses = [str(ipaddress.ip_address(host))]
            except ValueError:
                addresses = self.resolver(host)
            blocked = [a for a in addresses if not is_public(a)]
            if blocked:
                raise BlockedAddressError(
                    f"refusing {url}: {host} resolves to non-public address {blocked[0]} "
                    "(allow it for this source with --allow-private)")
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def make_client(settings: Settings, *, allow_private: bool = False,
                transport: httpx.BaseTransport | None = None,
                resolver: Resolver = system_resolver) -> httpx.Client:
    inner = transport or httpx.HTTPTransport(retries=1)
    return httpx.Client(
        transport=GuardedTransport(inner, allow_private=allow_private, resolver=resolver),
        timeout=httpx.Timeout(settings.http_timeout, connect=min(10.0, settings.http_timeout)),
        follow_redirects=True,
        max_redirects=settings.http_max_redirects,
        headers={"User-Agent": settings.user_agent},
    )


@dataclass(slots=True)
class Fetched:
    url: str
    status: int
    content: bytes
    headers: httpx.Headers

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def fetch(client: httpx.Client, url: str, *, max_bytes: int,
          headers: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None,
          raise_for_status: bool = True) -> Fetched:
    """GET ``url`` and read at most ``max_bytes`` (then fail with :class:`InputError`).

    An HTTP error status raises :class:`FetchError` unless ``raise_for_status`` is false, in
    which case the caller gets the status and body (e.g. to explain a TAXII 401)."""
    try:
        with client.stream("GET", url, headers=headers, params=params) as resp:
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise InputError(f"{url} is {int(declared)} bytes, over the {max_bytes}-byte cap")
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise InputError(f"{url} exceeds the {max_bytes}-byte cap")
                chunks.append(chunk)
            if resp.status_code >= 400 and raise_for_status:
                raise FetchError(f"GET {url} answered HTTP {resp.status_code}")
            return Fetched(str(resp.url), resp.status_code, b"".join(chunks), resp.headers)
    except httpx.TooManyRedirects as exc:
        raise FetchError(f"GET {url}: too many redirects") from exc
    except httpx.TimeoutException as exc:
        raise FetchError(f"GET {url} timed out") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"GET {url} failed: {exc}") from exc
