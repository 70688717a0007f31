"""Network value types: IP addresses, CIDR ranges, domains, URLs, e-mail addresses, ASNs."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allsource.model.ids import sco_id
from allsource.model.types.base import ValueType

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Host names (not registrable names) may hold underscores: DNS service labels
# (``_jabber._tcp.example.com``) and hosts some providers name so (``o_o.lgms.nl``).
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


def refang(value: str) -> str:
    """Undo common defanging: ``hxxp``, ``[.]``, ``(.)``, ``[@]``, ``[:]``."""
    v = value.replace("[.]", ".").replace("(.)", ".").replace("{.}", ".").replace("[dot]", ".")
    v = v.replace("[@]", "@").replace("[at]", "@").replace("[:]", ":").replace("[://]", "://")
    return re.sub(r"^hxxp", "http", v, flags=re.IGNORECASE)


class IPv4(ValueType):
    name = "ipv4"
    stix_type = "ipv4-addr"
    max_length = 64

    def _clean(self, value: str) -> str | None:
        v = refang(value)
        parts = v.split(".")
        if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 for p in parts):
            v = ".".join(str(int(p)) for p in parts)  # "010.001.002.003": zero-padded, decimal
        try:
            return str(ipaddress.IPv4Address(v))
        except ValueError:
            return None


class IPv6(ValueType):
    name = "ipv6"
    stix_type = "ipv6-addr"
    max_length = 64

    def _clean(self, value: str) -> str | None:
        try:
            return ipaddress.IPv6Address(refang(value).strip("[]")).compressed
        except ValueError:
            return None


class CIDR(ValueType):
    name = "cidr"
    stix_type = "ipv4-addr"
    max_length = 64

    def _clean(self, value: str) -> str | None:
        try:
            net = ipaddress.ip_network(refang(value), strict=False)
        except ValueError:
            return None
        return str(net) if "/" in value else None

    def stix(self, value: str) -> dict[str, Any]:
        stype = "ipv6-addr" if ":" in value else "ipv4-addr"
        return {"type": stype, "spec_version": "2.1", "id": sco_id(stype, {"value": value}),
                "value": value}


class Domain(ValueType):
    name = "domain"
    stix_type = "domain-name"
    max_length = 253

    def _clean(self, value: str) -> str | None:
        v = refang(value).lower().rstrip(".")
        try:
            v = v.encode("idna").decode("ascii") if not v.isascii() else v
        except UnicodeError:
            return None
        labels = v.split(".")
        if len(labels) < 2 or not all(_LABEL.match(label) for label in labels[-2:]):
            return None  # a registered name and its TLD never hold an underscore
        if not all(_HOST_LABEL.match(label) for label in labels[:-2]):
            return None
        if not _TLD.match(labels[-1]):
            return None
        return v


class URL(ValueType):
    name = "url"
    stix_type = "url"

    def _clean(self, value: str) -> str | None:
        v = refang(value)
        try:
            parts = urlsplit(v)
        except ValueError:
            return None
        if parts.scheme.lower() not in {"http", "https", "ftp", "sftp", "ws", "wss"}:
            return None
        host = parts.hostname or ""
        if not host:
            return None
        if all(t.clean(host) is None for t in (Domain(), IPv4(), IPv6())):
            return None
        netloc = parts.netloc.lower() if "@" not in parts.netloc else parts.netloc
        return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


class Email(ValueType):
    name = "email"
    stix_type = "email-addr"
    max_length = 320

    def _clean(self, value: str) -> str | None:
        v = refang(value).strip("<>")
        local, sep, domain = v.rpartition("@")
        if not sep or not local or len(local) > 64 or any(c.isspace() for c in local):
            return None
        if domain.startswith("[") and domain.endswith("]"):  # an address literal (RFC 5321)
            inner = domain[1:-1]
            if inner[:5].lower() == "ipv6:":
                v6 = IPv6().clean(inner[5:])
                return f"{local}@[IPv6:{v6}]" if v6 else None
            v4 = IPv4().clean(inner)
            return f"{local}@[{v4}]" if v4 and inner.count(".") == 3 else None
        d = Domain().clean(domain)
        return f"{local}@{d}" if d else None


class ASN(ValueType):
    name = "asn"
    stix_type = "autonomous-system"
    max_length = 16

    def _clean(self, value: str) -> str | None:
        m = re.fullmatch(r"(?:ASN?\s*:?)?\s*(\d{1,10})", value.upper())
        if not m or not 0 < int(m.group(1)) < 2**32:
            return None
        return f"AS{int(m.group(1))}"

    def stix(self, value: str) -> dict[str, Any]:
        number = int(value[2:])
        return {"type": "autonomous-system", "spec_version": "2.1",
                "id": sco_id("autonomous-system", {"number": number}), "number": number}
