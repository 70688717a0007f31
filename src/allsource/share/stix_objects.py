"""One stored object or relationship as a valid STIX 2.1 object: the completion every export
shares (bundles of a selection, the TAXII server's pages, feeds).

Stored objects keep the STIX their source sent, which may be partial (an entity the gazetteer
proposed holds a name and little else). :func:`complete` adds ``spec_version``,
``created``/``modified`` for domain objects (from the store's timestamp when missing), the name
as ``value`` for cyber observables that lack one and ``is_family`` for malware, drops empty
lists (never valid STIX), spells out abbreviated registry hives (``HKLM``), cuts the
properties that point at objects an export does not carry (``created_by_ref``, markings,
extensions), and marks the object with the TLP 2.0 marking definition of the marking the
reader is shown. :func:`expressible` says whether the result can be valid at all.

An export that carries more (:mod:`allsource.share.stix_bundle`) passes ``present``, the ids
its bundle holds: ``created_by_ref`` and extensions defined by an ``extension-definition``
are then kept when their target travels with the object, and the predefined cyber-observable
extensions (``archive-ext``, ``ntfs-ext``…, which point at nothing) always are; and
``marking_refs``, the references of every marking definition it writes for the object.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from datetime import datetime
from typing import Any

from allsource.model.markings import TLP, Marking

__all__ = ["TLP2_MARKINGS", "complete", "expressible", "full_hive", "stamp"]

#: STIX cyber-observable types (no created/modified/name; identified by their value)
_OBSERVABLES = frozenset({
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr",
    "email-message", "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex",
    "network-traffic", "process", "software", "url", "user-account", "windows-registry-key",
    "x509-certificate"})
_VALUED = frozenset({"domain-name", "email-addr", "ipv4-addr", "ipv6-addr", "mac-addr",
                     "url"})
#: references to objects the bundle does not carry
_DROPPED = ("created_by_ref", "object_marking_refs", "granular_markings", "extensions",
            "x_allsource_marking")
TLP2_MARKINGS = {TLP.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
         TLP.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
         TLP.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
         TLP.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
         TLP.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"}


def stamp(value: datetime | None) -> str:
    """A STIX timestamp (UTC, milliseconds) of a naive UTC datetime; the epoch for none."""
    when = (value or datetime(1970, 1, 1)).replace(tzinfo=None)
    return when.isoformat(timespec="milliseconds") + "Z"


def complete(stix: dict[str, Any], row_id: str, name: str, created: datetime | None,
             marking: Marking, *, present: Container[str] | None = None,
             marking_refs: Sequence[str] | None = None) -> dict[str, Any]:
    """``stix`` completed to a valid STIX 2.1 object with id ``row_id``, marked ``marking``
    (and the keyword arguments: see the module docstring)."""
    kind = row_id.partition("--")[0]
    out = stix.copy()  # a copy, then a handful of pops: cheaper than filtering every key
    for key in _DROPPED:
        out.pop(key, None)
    if present is not None:
        creator = stix.get("created_by_ref")
        if isinstance(creator, str) and creator in present:
            out["created_by_ref"] = creator
        extensions = stix.get("extensions")
        if isinstance(extensions, dict):
            kept = {k: v for k, v in extensions.items() if isinstance(k, str) and (
                not k.startswith("extension-definition--") or k in present)}
            if kept:
                out["extensions"] = kept
    out.update(type=kind, id=row_id, spec_version="2.1")
    if kind in _OBSERVABLES:
        named = kind in ("file", "software")  # the observables that have a name property
        for key in ("created", "modified", *(() if named else ("name",))):
            out.pop(key, None)
        if kind in _VALUED and not isinstance(out.get("value"), str):
            out["value"] = name
        if named and not out.get("name"):
            out["name"] = name
    else:
        if "created" not in out:
            out["created"] = stamp(created)
        out.setdefault("modified", out["created"])
        if kind not in ("relationship", "sighting"):
            out.setdefault("name", name)
        if kind == "malware":
            # required by STIX 2.1; what the store holds without it are named families
            # (MISP galaxy and ATT&CK software entries, gazetteer proposals)
            out.setdefault("is_family", True)
    for key in [k for k, v in out.items() if v.__class__ is list and not v]:
        del out[key]  # STIX allows no empty list (a galaxy entry with no aliases)
    if kind == "windows-registry-key" and isinstance(out.get("key"), str):
        out["key"] = full_hive(out["key"])
    out["object_marking_refs"] = (list(marking_refs) if marking_refs
                                  else [TLP2_MARKINGS[marking.tlp]])
    return out


_HIVES = {"HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER",
          "HKCR": "HKEY_CLASSES_ROOT", "HKU": "HKEY_USERS", "HKCC": "HKEY_CURRENT_CONFIG"}


def full_hive(key: str) -> str:
    """A registry key with its hive spelled out, as STIX 2.1 requires (``HKLM\\X`` →
    ``HKEY_LOCAL_MACHINE\\X``); other keys as they are."""
    head, sep, rest = key.partition("\\")
    return _HIVES[head.upper()] + sep + rest if head.upper() in _HIVES else key


def expressible(obj: dict[str, Any]) -> bool:
    """Whether the completed object can be valid STIX 2.1: a location needs a region, a
    country or coordinates, which nothing else the store holds could supply."""
    if obj["type"] == "location":
        return bool(obj.get("region") or obj.get("country") or (
            "latitude" in obj and "longitude" in obj))
    return True
