"""The one outbound HTTP client factory.

Every request allsource makes goes through :func:`make_client`: http/https only, default
timeouts, a redirect limit, a response size cap and a total deadline (:func:`fetch` streams
and stops at either), and the address rule of :mod:`allsource.collect.addresses` — only
globally routable addresses, except on a source's own host when it allows private ones.

The rule is checked twice, and the second check is the one that counts:

* :class:`GuardedTransport` checks the scheme and the host of *every* request, including each
  redirect hop (httpx calls the transport once per hop), so a refused URL fails before any
  connection is attempted, whichever transport runs underneath;
* the real transport (:func:`pinned_transport`) connects through :class:`PinnedBackend`,
  which resolves the host *once*, checks every address it got and opens the socket to one of
  those checked addresses. TLS still verifies the certificate against the host name. A DNS
  answer that changes between a check and the connection (rebinding) therefore cannot steer
  the connection anywhere the check did not allow.

Deadline: ``http_timeout`` bounds each connect and each gap between bytes; ``http_deadline``
bounds the whole fetch — every hop, headers and body. :func:`fetch` sets the deadline in a
context variable and every socket read and write of the request (:class:`DeadlineStream`)
waits at most until then, so a server that sends one byte a second is cut off at the
deadline rather than after ``size cap`` seconds. Tests inject a transport
(``httpx.MockTransport``) or use a real local server with ``allow_private=True``; nothing
reaches the internet in tests.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from allsource.collect.addresses import (
    AddressGuard,
    Resolver,
    is_public,
    normal_host,
    system_resolver,
)
from allsource.config import Settings
from allsource.errors import FetchError, InputError

__all__ = ["AddressGuard", "Fetched", "GuardedTransport", "PinnedBackend", "Resolver", "fetch",
           "is_public", "make_client", "pinned_transport", "system_resolver"]

_DEADLINE: ContextVar[float | None] = ContextVar("allsource_http_deadline", default=None)


class DeadlineExceeded(httpcore.ReadTimeout):
    """The fetch ran past its total deadline (httpx maps it to a timeout)."""


def _remaining(timeout: float | None) -> float | None:
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded("the total deadline of the fetch has passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the current fetch's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        left = _remaining(timeout)
        try:
            return self.inner.read(max_bytes, left)
        except httpcore.ReadTimeout as exc:
            _remaining(None)  # raises DeadlineExceeded when that is why it timed out
            raise exc

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return DeadlineStream(self.inner.start_tls(ssl_context, server_hostname,
                                                   _remaining(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class PinnedBackend(httpcore.SyncBackend):
    """Connects only to addresses the guard checked, resolved once per connection."""

    def __init__(self, guard: AddressGuard) -> None:
        self.guard = guard

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in self.guard.addresses(host):
            try:
                stream = super().connect_tcp(address, port, _remaining(timeout), local_address,
                                             socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
                continue
            return DeadlineStream(stream)
        assert last is not None  # addresses() never returns an empty list
        raise last

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None
                            ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by allsource")


def pinned_transport(guard: AddressGuard) -> httpx.HTTPTransport:
    """An httpx transport whose connections go through :class:`PinnedBackend`."""
    transport = httpx.HTTPTransport(retries=1)
    # httpx builds its connection pool without a way to pass a network backend; replace it
    # with the same pool over the pinned backend.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), retries=1, network_backend=PinnedBackend(guard))
    return transport


class GuardedTransport(httpx.BaseTransport):
    """Checks scheme and destination address, then hands the request to ``inner``."""

    def __init__(self, inner: httpx.BaseTransport, guard: AddressGuard) -> None:
        self.inner = inner
        self.guard = guard

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise FetchError(f"refusing {url.scheme}:// URL {url}: only http and https")
        self.guard.addresses(url.host)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def make_client(settings: Settings, *, allow_private: bool = False,
                private_hosts: Iterable[str] | None = None,
                transport: httpx.BaseTransport | None = None,
                resolver: Resolver = system_resolver) -> httpx.Client:
    """The guarded client. ``allow_private`` lifts the address rule on ``private_hosts`` (host
    names or addresses; ``None``: on every host)."""
    hosts = None if private_hosts is None else frozenset(normal_host(h) for h in private_hosts)
    guard = AddressGuard(allow_private, hosts, resolver)
    inner = transport or pinned_transport(guard)
    return httpx.Client(
        transport=GuardedTransport(inner, guard),
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


@contextmanager
def _deadline(seconds: float) -> Iterator[float]:
    until = time.monotonic() + seconds
    token = _DEADLINE.set(until)
    try:
        yield until
    finally:
        _DEADLINE.reset(token)


def fetch(client: httpx.Client, url: str, *, max_bytes: int,
          headers: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None,
          raise_for_status: bool = True, deadline: float = 300.0) -> Fetched:
    """GET ``url`` and read at most ``max_bytes`` (then fail with :class:`InputError`) within
    ``deadline`` seconds in all (then fail with :class:`FetchError`).

    An HTTP error status raises :class:`FetchError` unless ``raise_for_status`` is false, in
    which case the caller gets the status and body (e.g. to explain a TAXII 401). A URL httpx
    cannot even parse is an :class:`InputError` (the input named it)."""
    try:
        with _deadline(deadline) as until, client.stream(
                "GET", url, headers=headers, params=params) as resp:
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
                if time.monotonic() > until:  # also bounds transports without sockets
                    raise DeadlineExceeded("the total deadline of the fetch has passed")
            if resp.status_code >= 400 and raise_for_status:
                raise FetchError(f"GET {url} answered HTTP {resp.status_code}")
            return Fetched(str(resp.url), resp.status_code, b"".join(chunks), resp.headers)
    except (DeadlineExceeded, httpx.TimeoutException) as exc:
        if isinstance(exc, DeadlineExceeded) or isinstance(exc.__cause__, DeadlineExceeded) \
                or isinstance(exc.__context__, DeadlineExceeded):
            raise FetchError(f"GET {url} ran past its {deadline:g}s deadline") from exc
        raise FetchError(f"GET {url} timed out") from exc
    except httpx.TooManyRedirects as exc:
        raise FetchError(f"GET {url}: too many redirects") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"GET {url} failed: {exc}") from exc
    except (httpx.InvalidURL, UnicodeError) as exc:  # UnicodeError: an IDNA host name
        raise InputError(f"invalid URL {url!r}: {exc}") from exc
