"""MISP attributes as observables, STIX indicators and ``based-on`` relationships.

A MISP attribute is ``(type, value)`` plus ``to_ids``, ``comment`` and tags. Its type names
one of our value types (:data:`SINGLE`) or a composite of two joined by ``|``
(:data:`COMPOSITE`: ``filename|sha256``, ``domain|ip``, ``ip-dst|port`` …), whose parts are
split and each proposed to its type. The value type's ``clean()`` decides: junk is counted, not
stored. MISP types with no value type (``ssdeep``, ``pdb``, ``yara`` …) give no observable.

An attribute with ``to_ids`` becomes an ``indicator`` too: a STIX pattern over its cleaned
parts (one observation per object type; ``ip|port`` as ``network-traffic``), ``valid_from``
from ``first_seen`` or the attribute timestamp, and an ID minted from the attribute UUID. Each
indicator is ``based-on`` each observable it was built from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from allsource.model.ids import minted_id
from allsource.model.markings import Marking
from allsource.model.records import Relationship, StixObject
from allsource.model.stix import stix_time
from allsource.model.types import observable

IP = "ip"  # pseudo value type: IPv4, then IPv6, then CIDR

SINGLE: dict[str, str] = {
    "ip-src": IP, "ip-dst": IP, "domain": "domain", "hostname": "domain", "url": "url",
    "email": "email", "email-src": "email", "email-dst": "email", "email-reply-to": "email",
    "target-email": "email", "whois-registrant-email": "email", "dns-soa-email": "email",
    "md5": "md5", "sha1": "sha1", "sha256": "sha256", "sha512": "sha512",
    "filename": "filename", "email-attachment": "filename", "vulnerability": "cve",
    "AS": "asn", "btc": "btc", "regkey": "regkey",
}
# ``None`` marks a part that is kept for the pattern (a port) but is not an observable.
COMPOSITE: dict[str, tuple[str | None, str | None]] = {
    "domain|ip": ("domain", IP), "hostname|port": ("domain", None),
    "ip-src|port": (IP, None), "ip-dst|port": (IP, None),
    "filename|md5": ("filename", "md5"), "filename|sha1": ("filename", "sha1"),
    "filename|sha256": ("filename", "sha256"), "filename|sha512": ("filename", "sha512"),
    "malware-sample": ("filename", "md5"), "regkey|value": ("regkey", None),
}
# value type → (STIX object type, object path) for patterns; absent types get no pattern.
_PATTERN_PATH: dict[str, tuple[str, str]] = {
    "ipv4": ("ipv4-addr", "value"), "ipv6": ("ipv6-addr", "value"),
    "domain": ("domain-name", "value"), "url": ("url", "value"),
    "email": ("email-addr", "value"), "md5": ("file", "hashes.MD5"),
    "sha1": ("file", "hashes.'SHA-1'"), "sha256": ("file", "hashes.'SHA-256'"),
    "sha512": ("file", "hashes.'SHA-512'"), "filename": ("file", "name"),
    "regkey": ("windows-registry-key", "key"), "asn": ("autonomous-system", "number"),
    "btc": ("x-allsource-cryptocurrency-wallet", "value"),
}


@dataclass(slots=True)
class AttributeOutput:
    """What one attribute yields."""

    observables: list[StixObject] = field(default_factory=list)
    indicator: StixObject | None = None
    relationships: list[Relationship] = field(default_factory=list)
    rejected: int = 0


def is_mapped(misp_type: str) -> bool:
    return misp_type in SINGLE or misp_type in COMPOSITE


def split_value(misp_type: str, value: str) -> list[tuple[str | None, str]]:
    """``("filename|md5", "a.exe|d41d…")`` → ``[("filename", "a.exe"), ("md5", "d41d…")]``."""
    if misp_type in SINGLE:
        return [(SINGLE[misp_type], value)]
    first, second = COMPOSITE[misp_type]
    # a file name may itself contain "|"; a hash, IP or port never does
    parts = value.rsplit("|", 1) if first == "filename" else value.split("|", 1)
    if len(parts) != 2:
        return [(first, value)]
    return [(first, parts[0]), (second, parts[1])]


def _observe(type_name: str, value: str, marking: Marking) -> tuple[str, StixObject] | None:
    for candidate in ("ipv4", "ipv6", "cidr") if type_name == IP else (type_name,):
        obj = observable(candidate, value, marking)
        if obj is not None:
            return candidate, obj
    return None


def _literal(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _pattern(misp_type: str, cleaned: list[tuple[str, str]], port: str | None) -> str | None:
    """A STIX pattern over the cleaned parts (one bracketed observation per object type)."""
    if misp_type.endswith("|port") and port and port.isdigit() and cleaned:
        side = "src" if misp_type.startswith("ip-src") else "dst"
        return (f"[network-traffic:{side}_ref.value = {_literal(cleaned[0][1])} AND "
                f"network-traffic:{side}_port = {int(port)}]")
    groups: dict[str, list[str]] = {}
    for type_name, value in cleaned:
        if type_name == "cidr":
            path: tuple[str, str] | None = ("ipv6-addr" if ":" in value else "ipv4-addr",
                                            "value")
        else:
            path = _PATTERN_PATH.get(type_name)
        if path is None:
            continue
        literal = _literal(int(value[2:]) if type_name == "asn" else value)
        groups.setdefault(path[0], []).append(f"{path[0]}:{path[1]} = {literal}")
    if not groups:
        return None
    return " AND ".join("[" + " AND ".join(c) + "]" for c in groups.values())


def epoch(value: object) -> datetime | None:
    """A MISP epoch-seconds value (``"1523391188"``) as a datetime; ``None`` if not one."""
    if not isinstance(value, str | int) or not str(value).isdigit() or int(value) <= 0:
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def misp_time(value: object) -> str | None:
    """A MISP epoch-seconds string (or ISO string) as a STIX timestamp."""
    when = epoch(value)
    if when is not None:
        return stix_time(when)
    if isinstance(value, str) and value.strip() and not value.strip().isdigit():
        try:
            return stix_time(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except (ValueError, OverflowError):
            return None
    return None


def _indicator(attr: Mapping[str, Any], pattern: str, event_uuid: str, fallback_time: str,
               marking: Marking) -> StixObject:
    uuid = str(attr.get("uuid") or "")
    key = uuid or f"{event_uuid}|{attr.get('type')}|{attr.get('value')}"
    created = misp_time(attr.get("timestamp")) or fallback_time
    stix: dict[str, Any] = {
        "type": "indicator", "spec_version": "2.1", "id": minted_id("indicator", key),
        "created": created, "modified": created, "name": str(attr.get("value")),
        "pattern": pattern, "pattern_type": "stix",
        "valid_from": misp_time(attr.get("first_seen")) or created,
        "x_allsource_misp": {"type": attr.get("type"), "category": attr.get("category"),
                             "uuid": uuid or None, "event_uuid": event_uuid},
    }
    until = misp_time(attr.get("last_seen"))
    if until and until > stix["valid_from"]:
        stix["valid_until"] = until
    comment = attr.get("comment")
    if isinstance(comment, str) and comment.strip():
        stix["description"] = comment.strip()
    return StixObject(id=stix["id"], type="indicator", name=stix["name"], stix=stix,
                      marking=marking)


def based_on(indicator: StixObject, target: StixObject, marking: Marking) -> Relationship:
    rid = minted_id("relationship", f"{indicator.id}|based-on|{target.id}")
    stix = {"type": "relationship", "spec_version": "2.1", "id": rid,
            "created": indicator.stix["created"], "modified": indicator.stix["modified"],
            "relationship_type": "based-on", "source_ref": indicator.id,
            "target_ref": target.id}
    return Relationship(id=rid, relationship_type="based-on", source_ref=indicator.id,
                        target_ref=target.id, stix=stix, marking=marking)


def attribute_output(attr: Mapping[str, Any], marking: Marking, *, event_uuid: str,
                     fallback_time: str) -> AttributeOutput:
    """Observables (and, for ``to_ids``, an indicator) of one attribute with a mapped type."""
    misp_type, value = str(attr["type"]), str(attr["value"])
    out = AttributeOutput()
    cleaned: list[tuple[str, str]] = []
    port: str | None = None
    for type_name, part in split_value(misp_type, value):
        if type_name is None:
            port = part.strip()
            continue
        found = _observe(type_name, part, marking)
        if found is None:
            out.rejected += 1
            continue
        out.observables.append(found[1])
        cleaned.append((found[0], found[1].name))
    if attr.get("to_ids") is True and cleaned:
        pattern = _pattern(misp_type, cleaned, port)
        if pattern is not None:
            out.indicator = _indicator(attr, pattern, event_uuid, fallback_time, marking)
            out.relationships = [based_on(out.indicator, o, marking) for o in out.observables]
    return out
