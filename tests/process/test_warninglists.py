from __future__ import annotations

import pickle
import time
from typing import Any

import pytest

from allsource.process.observables import Found, extract_observables
from allsource.process.warninglists import WarningLists, default_warninglists, load_lists

IP_ATTRS = ["ip-src", "ip-dst", "domain|ip"]
DOMAIN_ATTRS = ["domain", "hostname", "url"]


def wl(name: str, kind: str, entries: list[str], attrs: list[str]) -> dict[str, Any]:
    return {"name": name, "type": kind, "list": entries, "matching_attributes": attrs,
            "description": name, "version": 1}


def found(kind: str, value: str) -> Found:
    return Found(kind, value, 0, len(value), value)


@pytest.fixture(scope="module")
def small() -> WarningLists:
    """Synthetic lists, one per MISP list type, shaped like the shipped ones."""
    return WarningLists([
        wl("private", "cidr", ["10.0.0.0/8", "192.168.0.0/16", "FE80::/10"], IP_ATTRS),
        wl("resolvers", "cidr", ["8.8.8.8", "1.1.1.1"], IP_ATTRS),
        wl("top sites", "hostname", ["example.com", ".example.org"], DOMAIN_ATTRS),
        wl("vendor", "string", ["cdn.example.net", ".vendor.example"], DOMAIN_ATTRS),
        wl("analysis", "substring", ["sandbox", "any.run"], ["domain", "url"]),
        wl("mail", "substring", ["0-mail.com", "x.io"], ["email-src", "email-dst"]),
        wl("contacts", "regex", ["/^(abuse|noc)\\@.*\\..*$/i"], ["email-src", "email-dst"]),
        wl("empty files", "string", ["D41D8CD98F00B204E9800998ECF8427E"], ["md5", "sha1"]),
        wl("only ips", "string", ["example.com"], ["ip-src", "ip-dst"]),  # not for domains
        wl("unused", "string", ["x"], ["phone-number"]),
    ])


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("ipv4", "10.20.30.40", ["private"]),
    ("ipv4", "8.8.8.8", ["resolvers"]),
    ("ipv4", "8.8.8.9", []),
    ("ipv6", "fe80::1", ["private"]),
    ("cidr", "10.1.0.0/16", ["private"]),
    ("cidr", "10.0.0.0/7", []),  # wider than the listed /8: not inside it
    ("domain", "example.com", ["top sites"]),
    ("domain", "www.example.com", ["top sites"]),
    ("domain", "a.b.example.org", ["top sites"]),
    ("domain", "notexample.com", []),
    ("domain", "cdn.example.net", ["vendor"]),
    ("domain", "www.cdn.example.net", []),  # a string entry is exact …
    ("domain", "x.vendor.example", ["vendor"]),  # … unless it starts with a dot
    ("domain", "sandbox.evil.top", ["analysis"]),
    ("url", "https://www.example.com/login", ["top sites"]),
    ("url", "https://app.any.run/tasks/1", ["analysis"]),
    ("email", "someone@0-mail.com", ["mail"]),
    ("email", "ABUSE@corp.example", ["contacts"]),
    ("email", "alice@corp.example", []),
    ("md5", "d41d8cd98f00b204e9800998ecf8427e", ["empty files"]),
    ("filename", "example.com", []),
    ("cve", "CVE-2021-44228", []),
])
def test_check_by_list_type(small: WarningLists, kind: str, value: str,
                            expected: list[str]) -> None:
    assert small.check(found(kind, value)) == expected


def test_lists_that_apply_to_no_observable_type_are_skipped(small: WarningLists) -> None:
    assert "unused" not in small.names
    assert "only ips" in small.names


def test_pickles_to_an_equal_checker(small: WarningLists) -> None:
    clone = pickle.loads(pickle.dumps(small))
    for kind, value in [("ipv4", "10.1.2.3"), ("domain", "www.example.com"),
                        ("email", "noc@x.example"), ("md5", "d41d8cd98f00b204e9800998ecf8427e")]:
        assert clone.check(found(kind, value)) == small.check(found(kind, value))


def test_shipped_lists_flag_public_infrastructure() -> None:
    names = ["rfc1918", "public-dns-v4", "google", "empty-hashes", "common-contact-emails",
             "disposable-email", "tranco10k", "rfc6761"]
    lists = WarningLists(load_lists(names))
    text = ("Beacons to 8.8.8.8 and 10.0.0.5, then mail.google.com and "
            "hxxps://evil-c2[.]top/gate; empty file d41d8cd98f00b204e9800998ecf8427e; "
            "contact abuse@example.org")
    flags = {f.value: lists.check(f) for f in extract_observables(text)}
    assert flags["8.8.8.8"] == ["List of known IPv4 public DNS resolvers"]
    assert flags["10.0.0.5"] == ["List of RFC 1918 CIDR blocks"]
    assert "List of known google domains" in flags["mail.google.com"]
    assert flags["https://evil-c2.top/gate"] == []
    assert flags["d41d8cd98f00b204e9800998ecf8427e"] == ["List of known hashes for empty files"]
    assert flags["abuse@example.org"] == ["Common contact e-mail addresses"]


@pytest.mark.slow
def test_default_lists_are_built_once_and_cheap_to_check() -> None:
    lists = default_warninglists()
    assert default_warninglists() is lists
    assert len(lists.names) >= 100
    probes = [found("ipv4", "93.184.216.34"), found("domain", "a.b.unknown-host.top"),
              found("url", "http://a.b.example.com/x"), found("email", "x@unknown.example"),
              found("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    t0 = time.process_time()
    for _ in range(200):
        for probe in probes:
            lists.check(probe)
    per_check = (time.process_time() - t0) / 1000
    assert per_check < 1e-3  # ~10 µs here; a generous bound
    assert "List of known hashes for empty files" in lists.check(probes[-1])
