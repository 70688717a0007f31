from __future__ import annotations

import uuid

import pytest
import stix2
from hypothesis import given
from hypothesis import strategies as st

from allsource.model.ids import ALLSOURCE_NS, STIX_SCO_NS, document_id, sco_id, uuid5_str
from allsource.model.records import Document
from allsource.model.types import clean, get_type, observable
from allsource.model.types.identifiers import AttackID

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize(("stix_obj", "ours"), [
    (stix2.IPv4Address(value="198.51.100.3"), observable("ipv4", "198.51.100[.]3")),
    (stix2.DomainName(value="example.com"), observable("domain", "EXAMPLE[.]com.")),
    (stix2.URL(value="https://example.com/a?b=1"),
     observable("url", "hxxps://example[.]com/a?b=1")),
    (stix2.EmailAddress(value="x@example.org"), observable("email", "x[@]example.org")),
    (stix2.File(hashes={"SHA-256": EMPTY_SHA256}), observable("sha256", EMPTY_SHA256.upper())),
])
def test_observable_ids_equal_the_stix2_library(stix_obj: object, ours: object) -> None:
    assert ours is not None
    assert ours.id == stix_obj.id  # type: ignore[attr-defined]


@pytest.mark.parametrize(("type_name", "raw", "expected"), [
    ("ipv4", "10.0.0[.]1", "10.0.0.1"),
    ("ipv4", "999.1.1.1", None),
    ("ipv4", "010.001.002.003", "10.1.2.3"),  # zero-padded octets are decimal, as logs mean
    ("ipv4", "0001.1.1.1", None),
    ("ipv6", "2001:DB8::0:1", "2001:db8::1"),
    ("cidr", "192.168.0.0/16", "192.168.0.0/16"),
    ("domain", "xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("domain", "bücher.example", "xn--bcher-kva.example"),
    ("domain", "localhost", None),
    ("domain", "-bad-.com", None),
    ("url", "javascript:alert(1)", None),
    ("url", "hxxp://evil[.]example/x", "http://evil.example/x"),
    ("email", "not an email", None),
    ("md5", "d41d8cd98f00b204e9800998ecf8427e", "d41d8cd98f00b204e9800998ecf8427e"),
    ("md5", "0" * 32, None),
    ("sha1", "xyz", None),
    ("cve", "cve-2021-44228", "CVE-2021-44228"),
    ("asn", "as15169", "AS15169"),
    ("asn", "AS0", None),
    ("attack-id", "t1059.001", "T1059.001"),
    ("regkey", "HKLM\\Software\\Run", "HKLM\\Software\\Run"),
    ("btc", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
    ("filename", "../etc/passwd", None),
    ("domain", "_jabber._tcp.gmail.com", "_jabber._tcp.gmail.com"),
    ("domain", "o_o.lgms.nl", "o_o.lgms.nl"),
    ("domain", "my_site.com", None),  # a registered name never holds an underscore
    ("domain", "example.c_m", None),
    ("domain", "Bar.COM", "bar.com"),
    ("url", "https://o_o.lgms.nl/a", "https://o_o.lgms.nl/a"),
    ("url", "http://[2001:DB8::1]:8080/p", "http://[2001:db8::1]:8080/p"),
    ("imphash", "18DDF28A71089ACDBAB5038F58044C0A", "18ddf28a71089acdbab5038f58044c0a"),
    ("imphash", "18ddf28a71089acdbab5038f58044c0a00", None),
    ("authentihash", "3f1b149d07e7e8636636b8b7f7043c40ed64a10b28986181fb046c498432c2d4",
     "3f1b149d07e7e8636636b8b7f7043c40ed64a10b28986181fb046c498432c2d4"),
])
def test_clean(type_name: str, raw: str, expected: str | None) -> None:
    assert clean(type_name, raw) == expected


def test_unknown_type_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="unknown value type"):
        get_type("nope")


def test_oversized_values_are_junk() -> None:
    assert clean("domain", "a" * 5000 + ".com") is None


def test_document_ids_are_content_derived() -> None:
    a = Document.build(kind="article", title="T", text="body")
    b = Document.build(kind="article", title=" T ", text="body")
    c = Document.build(kind="article", title="T", text="body2")
    assert a.id == b.id != c.id
    assert a.id == document_id(a.content_hash)
    assert sco_id("ipv4-addr", {"value": "1.1.1.1"}).startswith("ipv4-addr--")


def test_pe_hashes_are_not_file_hashes() -> None:
    """An imphash is shared by many files: its object is not a ``file`` keyed by that MD5."""
    value = "18ddf28a71089acdbab5038f58044c0a"
    imp, md5 = observable("imphash", value), observable("md5", value)
    assert imp is not None and md5 is not None
    assert imp.type == "x-allsource-pe-hash" and md5.type == "file"
    assert imp.id != md5.id
    assert imp.stix["algorithm"] == "imphash" and imp.stix["value"] == value


@pytest.mark.parametrize(("value", "stix_type"), [
    ("T1059.001", "attack-pattern"), ("TA0001", "x-mitre-tactic"),
    ("M1036", "course-of-action"), ("DS0017", "x-mitre-data-source"),
    ("G0007", "intrusion-set"), ("C0010", "campaign")])
def test_an_attack_id_names_an_object_of_its_own_type(value: str, stix_type: str) -> None:
    obj = AttackID().stix(value)
    assert obj["type"] == stix_type and obj["id"].startswith(stix_type + "--")
    assert obj["external_references"] == [{"source_name": "mitre-attack", "external_id": value}]


@given(st.text(alphabet=st.characters(exclude_categories=("Cs",))))
def test_uuid5_str_is_the_standard_librarys_uuid5(name: str) -> None:
    for namespace in (ALLSOURCE_NS, STIX_SCO_NS, uuid.NAMESPACE_URL):
        assert uuid5_str(namespace, name) == str(uuid.uuid5(namespace, name))
