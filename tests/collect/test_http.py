"""The guarded HTTP client: address guard on every hop, scheme, size cap, timeouts."""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from allsource.collect.addresses import AddressGuard, refusal
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
    # carrier-grade NAT, with the Alibaba Cloud metadata address inside it
    ("100.64.0.1", False), ("100.100.100.200", False),
    # 6to4 judged by the IPv4 address it wraps
    ("2002:a00:1::", False), ("2002:c0a8:101::1", False), ("2002:7f00:1::", False),
    ("2002:808:808::", True),
    # NAT64 likewise; its local-use prefix never
    ("64:ff9b::a00:1", False), ("64:ff9b::a9fe:a9fe", False), ("64:ff9b::808:808", True),
    ("64:ff9b:1::808:808", False),
    # IPv4-mapped and IPv4-compatible
    ("::ffff:8.8.8.8", True), ("::ffff:127.0.0.1", False), ("::a00:1", False),
    ("::7f00:1", False),
    # Teredo, site-local, ULA (the AWS IPv6 metadata address), multicast, unspecified
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False), ("fec0::1", False),
    ("fd00:ec2::254", False), ("ff0e::1", False), ("ff02::1", False), ("::", False),
    # IETF protocol assignments, benchmarking, reserved, broadcast, documentation
    ("192.0.0.192", False), ("198.18.0.1", False), ("240.0.0.1", False),
    ("255.255.255.255", False), ("192.0.2.1", False), ("2001:db8::1", False),
])
def test_is_public(address: str, public: bool) -> None:
    assert is_public(address) is public
    assert (refusal(address) is None) is public


def test_private_allowed_only_on_the_named_host() -> None:
    names = {"intranet.example": ["10.0.0.5"], "other.example": ["10.0.0.6"],
             "mixed.example": ["93.184.216.34", "10.0.0.7"]}
    guard = AddressGuard(True, frozenset({"intranet.example"}), names.__getitem__)
    assert guard.addresses("intranet.example") == ["10.0.0.5"]
    assert guard.private_allowed("INTRANET.example.")
    with pytest.raises(BlockedAddressError, match=r"10\.0\.0\.6"):
        guard.addresses("other.example")
    # one private answer among public ones is enough to refuse the name
    with pytest.raises(BlockedAddressError, match=r"10\.0\.0\.7"):
        AddressGuard(resolver=names.__getitem__).addresses("mixed.example")


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


def test_connection_goes_to_the_checked_address(settings: Settings, server: str) -> None:
    # feed.test does not exist in DNS: the request can only arrive because the socket was
    # opened to the address the guard resolved and checked.
    port = server.rsplit(":", 1)[1]
    with make_client(settings, allow_private=True, private_hosts=["feed.test"],
                     resolver=lambda host: ["127.0.0.1"]) as client:
        assert fetch(client, f"http://feed.test:{port}/", max_bytes=1000).content == b"hello"


def test_dns_rebinding_cannot_reach_a_private_address(settings: Settings, server: str) -> None:
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # public when checked, then loopback
    port = server.rsplit(":", 1)[1]
    with make_client(settings, resolver=lambda host: next(answers)) as client, \
            pytest.raises(BlockedAddressError, match=r"127\.0\.0\.1"):
        fetch(client, f"http://rebind.test:{port}/", max_bytes=1000)


class _Dribble:
    """A server on 127.0.0.1 that sends one byte at a time, every ``gap`` seconds, forever
    (headers first when ``headers_done``, else the status line itself), and counts them."""

    def __init__(self, *, headers_done: bool, gap: float = 0.05) -> None:
        self.sent = 0
        self.stop = threading.Event()
        dribble = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.recv(65536)
                if headers_done:
                    self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")
                head = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1_000_000
                i = 0
                while not dribble.stop.wait(gap):
                    try:
                        self.request.sendall(b"x" if headers_done else head[i:i + 1])
                    except OSError:
                        return  # the client hung up
                    dribble.sent += 1
                    i += 1

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("headers_done", [True, False], ids=["slow body", "slow headers"])
def test_total_deadline_ends_a_slow_download(settings: Settings, headers_done: bool) -> None:
    slow = _Dribble(headers_done=headers_done)
    try:
        # each byte comes well within http_timeout, so only the total deadline can end it
        timed = settings.model_copy(update={"http_timeout": 5.0})
        with make_client(timed, allow_private=True) as client, \
                pytest.raises(FetchError, match="1s deadline"):
            fetch(client, slow.url, max_bytes=100_000_000, deadline=1.0)
    finally:
        slow.close()
    # bounded by bytes, not by trust in the clock: a server that would never finish was cut
    # off after a handful of bytes (1 s at one byte per 50 ms, whatever the load)
    assert 0 < slow.sent < 100_000


def test_deadline_also_bounds_a_transport_without_sockets(settings: Settings) -> None:
    produced = 0

    def endless() -> Iterator[bytes]:
        nonlocal produced
        while True:
            produced += 1
            time.sleep(0.01)
            yield b"x"

    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=endless()))
    with make_client(settings, transport=transport, resolver=lambda h: ["93.184.216.34"]
                     ) as client, pytest.raises(FetchError, match="deadline"):
        fetch(client, "http://endless.example/", max_bytes=10_000_000, deadline=0.2)
    assert 0 < produced < 10_000_000


@pytest.mark.parametrize("url", ["http://0177.0.0.1/x", "http://[::1/x",
                                 "http://\u2603\u00ad.com/", "http://xn--abc/"])
def test_unparseable_urls_are_input_errors(settings: Settings, url: str) -> None:
    with make_client(settings, resolver=lambda h: ["93.184.216.34"]) as client, \
            pytest.raises(InputError, match="invalid URL"):
        fetch(client, url, max_bytes=1000)
