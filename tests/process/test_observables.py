from __future__ import annotations

import dataclasses
import json
import random
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from allsource.model.types import clean
from allsource.process.observables import TYPES, Found, extract_observables

LABELLED = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "ioc_labelled.jsonl"


_HOLDERS = ("url", "email", "cidr")


def held_by(f: Found, found: list[Found]) -> Found | None:
    """The URL, e-mail or CIDR whose span holds ``f`` (its host, domain, address or ID)."""
    if f.type not in ("domain", "ipv4", "ipv6", "attack-id", "url"):
        return None
    boxes = [c for c in found if c.type in _HOLDERS and c is not f
             and c.start <= f.start and f.end <= c.end and (c.start, c.end) != (f.start, f.end)]
    return min(boxes, key=lambda c: c.end - c.start, default=None)  # the innermost


def pairs(text: str, types: set[str] | None = None,
          held: bool = False) -> list[tuple[str, str]]:
    """(type, value) of what the text writes; what a container holds (a URL's host …) only
    with ``held``: those are checked by the tests of that rule, and apart for every form."""
    found = extract_observables(text, types)
    return [(f.type, f.value) for f in found if held or held_by(f, found) is None]


_EACH_TYPE: list[tuple[str, list[tuple[str, str]]]] = [
    ("C2 at hxxp://evil[.]example[.]com/a/b.php?id=1.",
     [("url", "http://evil.example.com/a/b.php?id=1")]),
    ("hXXps[:]//bad[.]example/x and fxp://files.example.net/drop",
     [("url", "https://bad.example/x"), ("url", "ftp://files.example.net/drop")]),
    ("http[://]one.example.org/", [("url", "http://one.example.org/")]),
    ("beacons to 198.51.100[.]7:443 then 203.0.113(.)9", [("ipv4", "198.51.100.7"),
                                                         ("ipv4", "203.0.113.9")]),
    ("the range 10.4.19[.]0/24 and 2001:db8::/32", [("cidr", "10.4.19.0/24"),
                                                    ("cidr", "2001:db8::/32")]),
    ("example [.] com, example{.}net, example[dot]org, example(dot)info",
     [("domain", "example.com"), ("domain", "example.net"), ("domain", "example.org"),
      ("domain", "example.info")]),
    ("mail from ops[@]example[.]com, ops[at]example.net and ops(at)example.org",
     [("email", "ops@example.com"), ("email", "ops@example.net"), ("email", "ops@example.org")]),
    ("the domain evil\\[.]ru (escaped for Markdown) and typo[.].com",
     [("domain", "evil.ru"), ("domain", "typo.com")]),
    ("IPv6 C2 2001:DB8:0:0:8:800:200C:417A.", [("ipv6", "2001:db8::8:800:200c:417a")]),
    ("MD5 D41D8CD98F00B204E9800998ECF8427F", [("md5", "d41d8cd98f00b204e9800998ecf8427f")]),
    ("sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
     [("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709")]),
    ("exploits CVE-2021-44228, cve-2017-0199 and CVE\u2011\u00ad2010\u20103333",
     [("cve", "CVE-2021-44228"), ("cve", "CVE-2017-0199"), ("cve", "CVE-2010-3333")]),
    ("uses T1059.001 (TA0002) like G0007, S0154, M1036, DS0009 and C0010",
     [("attack-id", "T1059.001"), ("attack-id", "TA0002"), ("attack-id", "G0007"),
      ("attack-id", "S0154"), ("attack-id", "M1036"), ("attack-id", "DS0009"),
      ("attack-id", "C0010")]),
    ("hosted on AS13335, ASN 15169 and ASN: 16509.",
     [("asn", "AS13335"), ("asn", "AS15169"), ("asn", "AS16509")]),
    ("pay to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT or bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
     [("btc", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
      ("btc", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")]),
    ("set HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon Shell to it",
     [("regkey", "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon")]),
    ("`HKCU:\\Software\\Netwire` and HKEY_CURRENT_USER\\Software\\Run\\.",
     [("regkey", "HKCU:\\Software\\Netwire"), ("regkey", "HKEY_CURRENT_USER\\Software\\Run\\")]),
    ("dropped invoice.pdf.exe, stage2.ps1 and ~$report.docx",
     [("filename", "invoice.pdf.exe"), ("filename", "stage2.ps1"),
      ("filename", "~$report.docx")]),
]


@pytest.mark.parametrize(("text", "expected"), _EACH_TYPE)
def test_each_type_and_defanged_form(text: str, expected: list[tuple[str, str]]) -> None:
    assert pairs(text) == expected


# --- forms analysts write (issue 9): one case per form, found and normalised ---------------
_FORMS: list[tuple[str, list[tuple[str, str]]]] = [
    # a host without a scheme keeps its port and path
    ("C2 at evil[.]com:8080/gate.php today", [("url", "http://evil.com:8080/gate.php")]),
    ("beacon to 203.0.113[.]9/api/info, then bit.ly/2mlb0gx.",
     [("url", "http://203.0.113.9/api/info"), ("url", "http://bit.ly/2mlb0gx")]),
    # … but a bare "host/", "host:port" or a host inside a file path is not a URL
    ("visit example.com/ or 198.51.100.7:443; see /var/www/example.org/index.php",
     [("domain", "example.com"), ("ipv4", "198.51.100.7"), ("domain", "example.org"),
      ("filename", "index.php")]),
    # registry keys: placeholders, spaces inside components, no merge across text
    ("added to the \u201cHKEY_USERS\\<USER SID>\\Software\\Microsoft\\Windows\\CurrentVersion"
     "\\Run\u201d key",
     [("regkey", "HKEY_USERS\\<USER SID>\\Software\\Microsoft\\Windows\\CurrentVersion\\Run")]),
    ("<HKCU>\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\nValue Name: x",
     [("regkey", "HKCU\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run")]),
    ("HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options"
     "\\sethc.exe HKCU\\Software\\Foo Bar\\Baz and then some",
     [("regkey", "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File "
                 "Execution Options\\sethc.exe"),
      ("regkey", "HKCU\\Software\\Foo Bar\\Baz")]),
    # Tor hosts
    ("mirror at dreadytofatroptsdj6io7l3xptbet6onoyno2yv7jicoxknyazubrad.onion and foo.onion",
     [("domain", "dreadytofatroptsdj6io7l3xptbet6onoyno2yv7jicoxknyazubrad.onion"),
      ("domain", "foo.onion")]),
    # underscores in host labels (not in the registered name)
    ("hosts o_o.lgms.nl, _jabber._tcp.gmail.com and https://o_o.lgms.nl/a; not my_var.app",
     [("domain", "o_o.lgms.nl"), ("domain", "_jabber._tcp.gmail.com"),
      ("url", "https://o_o.lgms.nl/a")]),
    # capitalised TLDs are hosts; code namespaces and letters around a dot are not
    ("bar.COM and Evil.Com, not System.Net or System.IO, f.NZ or u.Ru",
     [("domain", "bar.com"), ("domain", "evil.com")]),
    # no label is longer than 63: a name may start after one; an e-mail's IPv6 address literal
    ("a" * 100 + ".bar.com and jsmith@[IPv6:2001:db8::1]",
     [("domain", "bar.com"), ("email", "jsmith@[IPv6:2001:db8::1]")]),
    # Latin and Cyrillic letters in names (homographs), not CJK text run into a name
    ("warrıors[dot]com, аpple.com and 詳細はexample.com",
     [("domain", "xn--warrors-ufb.com"), ("domain", "xn--pple-43d.com"),
      ("domain", "example.com")]),
    # "::" alone is punctuation; "::1" and "fe80::" are addresses
    ("a :: b, ::1 and fe80::/10", [("ipv6", "::1"), ("cidr", "fe80::/10")]),
    # lower-case ATT&CK IDs: Sigma tags, ATT&CK context, a field holding only the ID
    ("tags: attack.t1059.001, attack.ta0002", [("attack-id", "T1059.001"),
                                              ("attack-id", "TA0002")]),
    ("the MITRE ATT&CK technique t1566 under tactic ta0001",
     [("attack-id", "T1566"), ("attack-id", "TA0001")]),
    ("t1329", [("attack-id", "T1329")]),
    ("the t1000 robot and the t1200 router", []),
    # lower-case ASNs, never the English "as" before a number
    ("as1234, asn 4321 and asn:5678", [("asn", "AS1234"), ("asn", "AS4321"), ("asn", "AS5678")]),
    ("as 1234 people came, just as 2014 ended", []),
    ("the ASN1 parser, asn1 structures and ASN.1 DER; AS 7 is real", [("asn", "AS7")]),
    # a percent-encoded URL stands alone; inside another URL it is held by that URL too
    # (checked in test_what_containers_hold)
    ('target="http%3A%2F%2Fexample%2Ecom%2Fwhite%2Ehta"/> and '
     "https://r.example.net/?u=http%3A%2F%2Fa.example.org%2F",
     [("url", "http://example.com/white.hta"),
      ("url", "https://r.example.net/?u=http%3A%2F%2Fa.example.org%2F")]),
    # IPv6 hosts in URLs
    ("http://[2001:db8::1]:8080/path and hxxps://[fe80::1]/",
     [("url", "http://[2001:db8::1]:8080/path"), ("url", "https://[fe80::1]/")]),
    # dots escaped as in a regular expression, or with stray brackets
    ("10\\.10\\.10\\.10 and evil\\.example\\.com", [("ipv4", "10.10.10.10"),
                                                 ("domain", "evil.example.com")]),
    ("HKCR\\.zip and HKLM\\SOFTWARE\\Microsoft\\.NETFramework stay keys",
     [("regkey", "HKCR\\.zip"), ("regkey", "HKLM\\SOFTWARE\\Microsoft\\.NETFramework")]),
    ("10.10.10.]]]10 and 192.0.2[[.5", [("ipv4", "10.10.10.10"), ("ipv4", "192.0.2.5")]),
    # values right after runs of punctuation
    (".!@..127.0.0.1!@#-", [("ipv4", "127.0.0.1")]),
    (".1.1.1.1 and 2018.12.15.14.05", []),
    # hashes written as hex literals; an Ethereum address is not a SHA-1
    ("0x1a1db93766e31994507511c9c70a1dd94465cf6d and 0XD41D8CD98F00B204E9800998ECF8427F",
     [("sha1", "1a1db93766e31994507511c9c70a1dd94465cf6d"),
      ("md5", "d41d8cd98f00b204e9800998ecf8427f")]),
    ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed and wallet 0x1a1db93766e31994507511c9c70a1dd94"
     "465cf6d", []),
    # spaces put in to defang
    ("hXXps:// 192.168.149[.]100/api/info", [("url", "https://192.168.149.100/api/info")]),
    ("write to myuser @example[.]com", [("email", "myuser@example.com")]),
    ("thanks @example.com and user @example.com", []),
    # PE hashes named as such keep their name
    ("Dropper imphash: 18ddf28a71089acdbab5038f58044c0a, IMPORT HASH - "
     "28ddf28a71089acdbab5038f58044c0a, md5 38ddf28a71089acdbab5038f58044c0a",
     [("imphash", "18ddf28a71089acdbab5038f58044c0a"),
      ("imphash", "28ddf28a71089acdbab5038f58044c0a"),
      ("md5", "38ddf28a71089acdbab5038f58044c0a")]),
    ("authentihash\t3f1b149d07e7e8636636b8b7f7043c40ed64a10b28986181fb046c498432c2d4",
     [("authentihash", "3f1b149d07e7e8636636b8b7f7043c40ed64a10b28986181fb046c498432c2d4")]),
    # an e-mail's domain must end in a real TLD
    ("foobar@gmail.comahhhhhhhh but foo@bar.com", [("email", "foo@bar.com")]),
    ("Authentication-Results: smtp.mailfrom=example@example.com; -----foo@bar.org",
     [("email", "example@example.com"), ("email", "foo@bar.org")]),
    # the idiom of prose is no site; written defanged, it is one
    ("shares fell after the dot.com boom; the old dot-com.com era", []),
    ("beacon to dot[.]com", [("domain", "dot.com")]),
]


@pytest.mark.parametrize(("text", "expected"), _FORMS)
def test_forms_analysts_write(text: str, expected: list[tuple[str, str]]) -> None:
    assert pairs(text) == expected


def test_forms_keep_spans_on_the_raw_text() -> None:
    text = ("see 10\\.10\\.10\\.10, hXXps:// 192.168.149[.]100/x and x "
            "0xd41d8cd98f00b204e9800998ecf8427f")
    found = extract_observables(text)
    assert [f.raw for f in found] == ["10\\.10\\.10\\.10", "hXXps:// 192.168.149[.]100/x",
                                      "192.168.149[.]100", "0xd41d8cd98f00b204e9800998ecf8427f"]


def test_spans_point_at_the_raw_defanged_text() -> None:
    # ".example" is no real TLD: these hosts are not domains of their own
    text = "Block hxxps://evil[.]example/x, 1.2.3[.]4 and ops [@] evil [.] example now."
    found = extract_observables(text)
    assert [f.raw for f in found] == ["hxxps://evil[.]example/x", "1.2.3[.]4",
                                      "ops [@] evil [.] example"]
    for f in found:
        assert text[f.start:f.end] == f.raw
        assert clean(f.type, f.raw) == f.value or f.type in ("email", "url")


def test_values_are_exactly_what_the_value_type_returns() -> None:
    for f in extract_observables("EVIL.Example.COM hxxp://A.example/P 10.0.0.1 "
                                 "D41D8CD98F00B204E9800998ECF8427F as15169"):
        assert clean(f.type, f.value) == f.value


def test_container_rules() -> None:
    text = ("see https://cdn.example.com/a/payload.exe?h=d41d8cd98f00b204e9800998ecf8427f, "
            "mail admin@mail.example.org, net 192.0.2.0/24, "
            "key HKCU\\Software\\evil.example.com\\x")
    assert pairs(text, held=True) == [
        ("url", "https://cdn.example.com/a/payload.exe?h=d41d8cd98f00b204e9800998ecf8427f"),
        ("domain", "cdn.example.com"),  # a URL's host is its own observable too
        ("md5", "d41d8cd98f00b204e9800998ecf8427f"),  # hashes stay meaningful inside a URL
        ("email", "admin@mail.example.org"),
        ("domain", "mail.example.org"),  # so is an e-mail's domain
        ("cidr", "192.0.2.0/24"),  # a network: its address is not a host
        ("regkey", "HKCU\\Software\\evil.example.com\\x"),  # a key holds no domain
    ]


@pytest.mark.parametrize(("text", "expected"), [
    ("hxxps://user:pw@evil[.]example[.]com:8443/x?q=other.example.org",
     [("url", "https://user:pw@evil.example.com:8443/x?q=other.example.org"),
      ("domain", "evil.example.com")]),
    ("C2 evil[.]com:8080/gate.php and 203.0.113[.]9/api", [
        ("url", "http://evil.com:8080/gate.php"), ("domain", "evil.com"),
        ("url", "http://203.0.113.9/api"), ("ipv4", "203.0.113.9")]),
    ("http://[2001:db8::1]:8080/p", [("url", "http://[2001:db8::1]:8080/p"),
                                     ("ipv6", "2001:db8::1")]),
    # a host must end in a real TLD; a percent-encoded host is not written as itself
    ("http://intranet.local/x and http%3A%2F%2Fexample%2Ecom%2Fa",
     [("url", "http://intranet.local/x"), ("url", "http://example.com/a")]),
    # e-mail address literals (RFC 5321) and their addresses
    (">test@[192.168.0.1]< and jsmith@[IPv6:2001:DB8::1]",
     [("email", "test@[192.168.0.1]"), ("ipv4", "192.168.0.1"),
      ("email", "jsmith@[IPv6:2001:db8::1]"), ("ipv6", "2001:db8::1")]),
    ("bad@[192.168.7.300] and bad@[1.2.3]", []),
    # a CIDR's written address when it is a host: host bits set, or a full-length prefix
    ("10.1.2.3/24, 1.2.3.4/32, 10.0.0.0/8, 2001:db8::1/64 and 2001:db8::/32",
     [("cidr", "10.1.2.0/24"), ("ipv4", "10.1.2.3"), ("cidr", "1.2.3.4/32"),
      ("ipv4", "1.2.3.4"), ("cidr", "10.0.0.0/8"), ("cidr", "2001:db8::/64"),
      ("ipv6", "2001:db8::1"), ("cidr", "2001:db8::/32")]),
    # URLs inside a URL: a query parameter's value ends at "&"; percent-encoded or not
    ("https://www.google.com/url?q=hxxps://evil[.]com/x&sa=D and "
     "https://r.example.net/m?u=http%3A%2F%2Fa.example.org%2Fb%2Ec&t=1--~Chttp://c.example.org/d",
     [("url", "https://www.google.com/url?q=hxxps://evil.com/x&sa=D"),
      ("domain", "www.google.com"), ("url", "https://evil.com/x"), ("domain", "evil.com"),
      ("url", "https://r.example.net/m?u=http%3A%2F%2Fa.example.org%2Fb%2Ec&t=1--~Chttp://"
              "c.example.org/d"),
      ("domain", "r.example.net"), ("url", "http://a.example.org/b.c"),
      ("domain", "a.example.org"), ("url", "http://c.example.org/d"),
      ("domain", "c.example.org")]),
    # ATT&CK IDs in the URL of their ATT&CK page (a sub-technique as a path segment)
    ("https://attack.mitre.org/techniques/T1059/001/ and attack.mitre.org/tactics/TA0001/ "
     "but not https://example.com/T1059/",
     [("url", "https://attack.mitre.org/techniques/T1059/001/"),
      ("domain", "attack.mitre.org"), ("attack-id", "T1059.001"),
      ("url", "http://attack.mitre.org/tactics/TA0001/"), ("domain", "attack.mitre.org"),
      ("attack-id", "TA0001"), ("url", "https://example.com/T1059/"),
      ("domain", "example.com")]),
])
def test_what_containers_hold(text: str, expected: list[tuple[str, str]]) -> None:
    assert pairs(text, held=True) == expected
    for f in extract_observables(text):
        assert text[f.start:f.end] == f.raw


def test_held_values_are_their_containers_hosts() -> None:
    """Every held value, over every form of this file and the labelled sentences, is what its
    container names: the URL's host, the e-mail's domain or the CIDR's written address."""
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    texts = [r["text"] for r in rows] + [t for t, _ in _FORMS + _EACH_TYPE]
    checked = 0
    for text in texts:
        found = extract_observables(text)
        for f in found:
            box = held_by(f, found)
            if box is None:
                continue
            if f.type == "url":
                assert box.type == "url" and box.value != f.value
                continue
            if box.type == "url":
                expected = urlsplit(box.value).hostname
            elif box.type == "email":
                expected = box.value.rpartition("@")[2].strip("[]").removeprefix("IPv6:")
            else:
                expected = clean(f.type, box.raw.partition("/")[0])
            assert f.value == expected or f.type == "attack-id", (text, f, box)
            checked += 1
    assert checked >= 40


def test_hashes_only_at_their_full_length() -> None:
    sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert pairs(f"{sha256} {sha256[:50]} x{sha256[:32]} {'0' * 32}") == [("sha256", sha256)]


@pytest.mark.parametrize(("text", "expected"), [
    ("visit example.com or google.com.", [("domain", "example.com"), ("domain", "google.com")]),
    ("run setup.py, build.sh and notes.md", [("filename", "setup.py"), ("filename", "build.sh"),
                                             ("filename", "notes.md")]),
    ("files: docs.zip and libcrypto.so", [("filename", "docs.zip"), ("filename", "libcrypto.so")]),
    # defanged, an ambiguous suffix is a domain: nobody defangs a file name
    ("C2 transfer[.]sh and evil[.]zip", [("domain", "transfer.sh"), ("domain", "evil.zip")]),
    ("dropped to C:\\ProgramData\\Temp\\mskmde.com", [("filename", "mskmde.com")]),
    ("uses System.Net.WebClient, System.Net and Microsoft.Office via Node.js or ASP.NET", []),
    ("e.g. U.S. i.e. v1.2.3 3.14 T1059.001 1.2.3.4.5 localhost", [("attack-id", "T1059.001")]),
    ("*.api.splashtop.com and .hidden.example.net", [("domain", "api.splashtop.com"),
                                                     ("domain", "hidden.example.net")]),
])
def test_domains_versus_file_names(text: str, expected: list[tuple[str, str]]) -> None:
    assert pairs(text) == expected


def test_junk_is_rejected_by_the_value_types() -> None:
    text = ("999.1.1.1 1BoatSLRHtKNngkdXEeobR76b53LETtpyU AS0 CVE-99-1 "
            "admin@338 user@localhost http://-bad-.com/ T9000")
    assert pairs(text) == []


def test_types_filter_equals_the_filtered_full_result() -> None:
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    text = "\n".join(r["text"] for r in rows)
    full = extract_observables(text)
    for kind in sorted(TYPES):
        assert extract_observables(text, {kind}) == [f for f in full if f.type == kind], kind
    assert extract_observables(text, {"domain", "md5"}) == [
        f for f in full if f.type in ("domain", "md5")]


def test_unknown_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown observable types"):
        extract_observables("x", {"phone"})


def test_found_is_frozen_and_sorted() -> None:
    found = extract_observables("b.example.com then a.example.com and 1.2.3.4")
    assert [f.start for f in found] == sorted(f.start for f in found)
    with pytest.raises(dataclasses.FrozenInstanceError):
        found[0].value = "x"  # type: ignore[misc]
    assert not hasattr(found[0], "__dict__")


def test_non_ascii_text_keeps_character_offsets() -> None:
    text = ("ÜÜÜ 蠕虫 d41d8cd98f00b204e9800998ecf8427e ‘evil[.]org’ "
            "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")
    for f in extract_observables(text):
        assert text[f.start:f.end] == f.raw
    assert [f.type for f in extract_observables(text)] == ["md5", "domain", "btc"]


def test_labelled_set_quality() -> None:
    """Real report sentences (benchmarks/data): the benchmark's floor, checked on every run."""
    tp = fp = fn = 0
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        truth = {(i["type"], i["value"]) for i in row["iocs"]}
        got = set(pairs(row["text"]))
        tp, fp, fn = tp + len(got & truth), fp + len(got - truth), fn + len(truth - got)
    assert tp / (tp + fp) >= 0.95
    assert tp / (tp + fn) >= 0.95


def test_poison_ivy_report_indicators_are_found(samples: Path) -> None:
    """OASIS's Poison Ivy STIX report: each indicator's description mentions the values its
    pattern names; the extractor must find them in the prose."""
    bundle = json.loads((samples / "stix" / "threat-reports" / "poisonivy.json").read_text())
    checked = 0
    for obj in bundle["objects"]:
        if obj["type"] != "indicator" or "description" not in obj:
            continue
        found = {f.value for f in extract_observables(obj["description"])}
        for value in re.findall(r"(?:domain-name|ipv4-addr):value = '([^']+)'", obj["pattern"]):
            if value in obj["description"]:
                assert value in found, (value, obj["description"])
                checked += 1
    assert checked >= 20


# --- hostile input: bounded time by design (linear scans, no backtracking) -------------------
BUDGET_S = 10.0  # generous: each case takes well under a second here


@pytest.mark.parametrize("name", ["dots", "nested-brackets", "10MB-text", "binary", "hex",
                                  "labels", "colons", "backslashes", "escaped-dots",
                                  "bracket-runs", "registry-words", "as-words",
                                  "percent-encoded", "nested-urls"])
def test_hostile_input_finishes_in_bounded_time(name: str) -> None:
    rng = random.Random(7)
    text = {
        "dots": "." * 1_000_000,
        "nested-brackets": "[" * 100_000 + "(.)" + "]" * 100_000 + "{[(" * 30_000,
        "10MB-text": ("The actor used hxxp://c2[.]example[.]com/a.php, 198.51.100.7 and "
                      "HKCU\\Software\\Run to persist; see T1059. " * 200_000)[:10_000_000],
        "binary": bytes(rng.randrange(256) for _ in range(2_000_000)).decode("latin-1"),
        "hex": "a" * 1_000_000 + " " + "1" * 500_000,
        "labels": "a." * 500_000 + "-" * 100_000 + "a-" * 200_000,
        "colons": ":" * 300_000 + "1:" * 300_000 + "::" * 100_000,
        "backslashes": "HKLM" + "\\a b" * 200_000 + "@" * 100_000 + "x@" * 100_000,
        "escaped-dots": "a\\." * 500_000 + "1\\." * 500_000,
        "bracket-runs": "a.]]]" * 200_000 + "a[[[." * 200_000 + ".)" * 200_000,
        "registry-words": ("HKLM\\" + "w " * 300 + "\\") * 2_000 + "<HKCU" * 100_000,
        "as-words": "as as1 asn asn: t1 ta00 " * 100_000,
        "percent-encoded": "http%3A%2F%2F" * 200_000 + "%2F" * 300_000,
        "nested-urls": ("http://a.com/?u=" + "http://b.com/?v=" * 100_000 + "=http%3A%2F%2F"
                        * 100_000 + "@a.com&" * 100_000 + " 1.2.3.4/8") * 2,
    }[name]
    t0 = time.process_time()
    found = extract_observables(text)
    elapsed = time.process_time() - t0
    assert elapsed < BUDGET_S, f"{name}: {elapsed:.1f} s"
    for f in found[:1000]:
        assert text[f.start:f.end] == f.raw
    if name == "10MB-text":
        assert len(found) >= 4 * text.count("T1059. ")  # every complete sentence, in full


def test_urls_inside_a_url_are_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted, not timed: a chain of URLs inside a URL reads each character of it a bounded
    number of times (each inner URL ends where the next starts), not once per inner URL."""
    import allsource.process.observables as obs

    read = 0
    trim = obs._trim_url

    def counting(body: str) -> str:
        nonlocal read
        read += len(body)
        return trim(body)

    monkeypatch.setattr(obs, "_trim_url", counting)
    text = "see http://a.com/?u=" + "http://b.com/x?v=" * 110 + " now"  # a URL ≤ 2,048
    found = extract_observables(text)
    assert sum(f.type == "url" for f in found) == 111
    assert read <= 2 * len(text)  # one inner URL to the end each would read ~55 times that
