"""The guarded HTTP client: address guard on every hop, scheme, size cap, timeouts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from allsource.collect.http import fetch, is_public, make_client
from allsource.config import Settings
from allsource.errors import BlockedAddressError, FetchError, InputError


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"x" * 10_000 if self.path == "/big" else b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


@pytest.mark.parametrize(("address", "public"), [
    ("8.8.8.8", True), ("127.0.0.1", False), ("10.1.2.3", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("::1", False), ("fe80::1", False), ("::ffff:10.0.0.1", False),
    ("0.0.0.0", False), ("224.0.0.1", False), ("2606:4700::1111", True),
])
def test_is_public(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_loopback_refused_by_default(settings: Settings, server: str) -> None:
    with make_client(settings) as client, pytest.raises(BlockedAddressError, match="non-public"):
        fetch(client, server + "/", max_bytes=1000)


def test_loopback_allowed_when_source_allows(settings: Settings, server: str) -> None:
    with make_client(settings, allow_private=True) as client:
        assert fetch(client, server + "/", max_bytes=1000).content == b"hello"


def test_hostname_resolving_to_private_is_refused(settings: Settings) -> None:
    def resolver(host: str) -> list[str]:
        return ["192.168.10.5"]

    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=b"never"))
    with make_client(settings, transport=transport, resolver=resolver) as client, \
            pytest.raises(BlockedAddressError, match=r"192\.168\.10\.5"):
        fetch(client, "https://intranet.example/", max_bytes=1000)


def test_redirect_to_private_address_is_refused(settings: Settings) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "public.example":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/meta"})
        return httpx.Response(200, content=b"metadata!")

    transport = httpx.MockTransport(handler)
    with make_client(settings, transport=transport, resolver=lambda h: ["93.184.216.34"]
                     ) as client, pytest.raises(BlockedAddressError, match=r"169\.254\.169\.254"):
        fetch(client, "http://public.example/", max_bytes=1000)


def test_non_http_schemes_are_refused(settings: Settings) -> None:
    with make_client(settings) as client, pytest.raises(FetchError):
        fetch(client, "file:///etc/passwd", max_bytes=1000)


def test_size_cap(settings: Settings, server: str) -> None:
    with make_client(settings, allow_private=True) as client, \
            pytest.raises(InputError, match="cap"):
        fetch(client, server + "/big", max_bytes=1000)


def test_redirect_limit(settings: Settings) -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(302, headers={"Location": str(r.url) + "x"}))
    with make_client(settings, transport=transport, resolver=lambda h: ["93.184.216.34"]
                     ) as client, pytest.raises(FetchError, match="redirects"):
        fetch(client, "http://loop.example/", max_bytes=1000)
