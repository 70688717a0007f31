"""The STIX collector: STIX 2.1 and 2.0 bundles from a file, a folder or an http(s) URL.

Location: one bundle file; a folder, whose ``*.json`` files are read recursively in sorted
order; or an http(s) URL (fetched with a conditional GET). A file may also hold one bare STIX
object, which is read as a bundle of one.

Parsing uses ``orjson`` on the raw bytes — the ``stix2`` library's ``parse`` builds a validated
Python object per STIX object and is 20–100× slower, so it stays off the ingest path. The
collector checks only what it relies on (``type`` and a ``type--UUID`` id, and the references
of a relationship); one bad object becomes a :class:`Rejected` item and the rest of the bundle
goes on, while a file that is not JSON, or JSON that is not STIX, is unusable as a whole
(:class:`BundleError`, quarantined by the runner).

**STIX 2.0 is upgraded to 2.1 on import** (:func:`upgrade_20`), so the store holds one version.
An object is 2.0 when it says so, or when it lacks ``spec_version`` and is not a cyber-observable
(2.0 objects never carry ``spec_version``; 2.1 ones must, except SCOs). The upgrade keeps ids
and every other property (``x_mitre_*`` and other custom properties pass through), sets
``spec_version: "2.1"``, moves 2.0 ``labels`` to the 2.1 ``*_types`` property where the values
come from the 2.1 open vocabulary (``malware_types``, ``tool_types``, ``indicator_types``,
``threat_actor_types``, ``report_types``; other labels stay, and granular-marking selectors
follow the values they pointed at), sets the now-required
``is_family`` of malware (true when it has a name) and ``pattern_type`` of indicators
(``"stix"``), and rewrites the predefined TLP 1.0 marking definitions in their 2.1 form.

**Mapping.** Every STIX object is stored under its own id, and everything has provenance:

* an SDO that carries text — a name and/or description; indicators and custom ``x-`` objects
  only with a description — becomes a :class:`Document` (kind = STIX type, title = name, text =
  description plus a note's ``content`` or an opinion's ``explanation``, key = STIX id +
  ``modified``) *and* a :class:`StixObject` mentioned by that document;
* a relationship is a :class:`Relationship` attached to the document of its ``source_ref``
  when that object is a document of the same bundle;
* everything else — SCOs, indicators without text, marking definitions, sightings, observed
  data, and relationships whose source is not a document here — is attached to one synthetic
  document per bundle (kind ``stix-bundle``, title the file name, text the object counts,
  marked as the strictest of its objects); in a bundle whose objects carry different
  marking references, to one synthetic *part* document per set of references instead, each
  marked as its own objects (``_Mapper._bundle_items``).

Revoked and deprecated (``x_mitre_deprecated``) objects are kept, with a ``revoked`` /
``deprecated`` label and meta flag on their document.

**Markings** come from ``object_marking_refs`` (and, conservatively for the whole object, the
references of granular markings) through :func:`allsource.share.stix_markings.marking_from_refs`;
objects without a TLP marking get the source's default. A relationship gets at least the
marking of the document it is attached to, since it reveals that object's id.

**Checkpoint**: ``{"inputs": {location: {"sha256", "etag", "last_modified"}}}``. An input whose
bytes have not changed (or a URL answering 304 Not Modified) is skipped; ``collect({})`` reads
everything.

**Rebuilding** maps a kept bundle again under the name it was read as (the title of its bundle
document).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import orjson

from allsource.collect.base import Collector, StoredItem, is_url
from allsource.collect.inputs import read_file
from allsource.errors import InputError
from allsource.hookspecs import hookimpl
from allsource.model.ids import sha256_hex
from allsource.model.markings import Marking
from allsource.model.records import (
    Checkpoint,
    Collected,
    Document,
    Item,
    Mention,
    Rejected,
    Relationship,
    StixObject,
)
from allsource.share.stix_markings import (
    marking_from_refs,
    marking_refs,
    tlp1_definition,
    tlp_of_definition,
)

__all__ = ["BundleError", "ParsedBundle", "StixCollector", "is_stix20", "map_bundle",
           "object_problem", "parse_bundle", "register_collectors", "upgrade_20"]

EXTRACTOR = "stix"
MEDIA_TYPE = "application/stix+json;version=2.1"
BUNDLE_KIND = "stix-bundle"

#: STIX 2.1 cyber-observable types (section 6): they may omit ``spec_version``.
SCO_TYPES = frozenset({
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
    "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
    "software", "url", "user-account", "windows-registry-key", "x509-certificate"})
#: Types that never become documents, whatever text they carry.
_NOT_DOCUMENTS = SCO_TYPES | {"relationship", "sighting", "marking-definition",
                              "language-content", "extension-definition", "observed-data",
                              "bundle"}

#: 2.0 ``labels`` → 2.1 property, with the 2.1 open vocabulary whose values move.
_LABEL_VOCABS: dict[str, tuple[str, frozenset[str]]] = {
    "malware": ("malware_types", frozenset({
        "adware", "backdoor", "bot", "bootkit", "ddos", "downloader", "dropper", "exploit-kit",
        "keylogger", "ransomware", "remote-access-trojan", "resource-exploitation",
        "rogue-security-software", "rootkit", "screen-capture", "spyware", "trojan", "unknown",
        "virus", "webshell", "wiper", "worm"})),
    "tool": ("tool_types", frozenset({
        "denial-of-service", "exploitation", "information-gathering", "network-capture",
        "credential-exploitation", "remote-access", "vulnerability-scanning", "unknown"})),
    "indicator": ("indicator_types", frozenset({
        "anomalous-activity", "anonymization", "benign", "compromised", "malicious-activity",
        "attribution", "unknown"})),
    "threat-actor": ("threat_actor_types", frozenset({
        "activist", "competitor", "crime-syndicate", "criminal", "hacker", "insider-accidental",
        "insider-disgruntled", "nation-state", "sensationalist", "spy", "terrorist",
        "unknown"})),
    "report": ("report_types", frozenset({
        "threat-report", "attack-pattern", "campaign", "identity", "indicator",
        "intrusion-set", "malware", "observed-data", "threat-actor", "tool",
        "vulnerability"})),
}

# Lengths are the store's column limits (type 60, relationship_type 80, ids 120).
_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]{1,58}[a-z0-9]$")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ID = re.compile(rf"^([a-z0-9][a-z0-9-]{{1,58}}[a-z0-9])--{_UUID}$")
_BUNDLE_HEAD = re.compile(rb'"type"\s*:\s*"bundle"')
_OBJECTS_HEAD = re.compile(rb'"objects"\s*:\s*\[')
_OBJECT_HEAD = re.compile(rb'"id"\s*:\s*"[a-z0-9-]{3,60}--' + _UUID.encode() + rb'"')
_BOM = b"\xef\xbb\xbf"
_LABEL_SELECTOR = re.compile(r"^labels\.\[(\d+)\](.*)$")


class BundleError(InputError):
    """A whole input is unusable as STIX; carries its raw bytes for the quarantine."""

    def __init__(self, message: str, raw: bytes = b"") -> None:
        super().__init__(message)
        self.raw = raw


# -- parsing ----------------------------------------------------------------------------------
@dataclass(slots=True)
class ParsedBundle:
    """The parts of a bundle the mapping needs; ``objects`` are still unchecked JSON values."""

    name: str
    bundle_id: str | None
    spec_version: str | None
    objects: list[Any]
    size: int


def parse_bundle(data: bytes, name: str) -> ParsedBundle:
    """Parse a bundle (or one bare STIX object) with orjson; :class:`BundleError` if unusable."""
    try:
        doc = orjson.loads(data.removeprefix(_BOM))
    except orjson.JSONDecodeError as exc:
        raise BundleError(f"{name} is not valid JSON ({exc}); a STIX bundle must be UTF-8 JSON",
                          data) from None
    if isinstance(doc, dict) and doc.get("type") == "bundle":
        objects = doc.get("objects", [])
        if not isinstance(objects, list):
            raise BundleError(f"{name}: the bundle's \"objects\" is not a list", data)
        bundle_id, version = doc.get("id"), doc.get("spec_version")
        return ParsedBundle(name, bundle_id if isinstance(bundle_id, str) else None,
                            version if isinstance(version, str) else None, objects, len(data))
    if isinstance(doc, dict) and isinstance(doc.get("type"), str) and _ID.match(
            str(doc.get("id", ""))):
        return ParsedBundle(name, None, None, [doc], len(data))
    raise BundleError(f"{name} is JSON but not STIX: expected a bundle "
                      "({\"type\": \"bundle\", \"objects\": [...]}) or one STIX object", data)


#: deepest nesting of lists and objects a STIX object may have (real ones stay under ~10;
#: the store's JSON encoder gives up past 254)
MAX_DEPTH = 64


def too_deep(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists/objects more than ``limit`` deep (iterative: no
    recursion limit to hit)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return False


def object_problem(obj: object) -> str | None:
    """Why ``obj`` cannot be stored (one line), or ``None`` when it can."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    if too_deep(obj):
        return f"nested more than {MAX_DEPTH} levels deep"
    kind, ident = obj.get("type"), obj.get("id")
    if not isinstance(kind, str) or not _TYPE.match(kind):
        return f"missing or invalid \"type\" ({kind!r}): 3–60 lowercase letters, digits, '-'"
    if not isinstance(ident, str) or not ident.startswith(kind + "--") or not _ID.match(ident):
        return f"{kind} has a missing or invalid \"id\" ({ident!r}): expected {kind}--<UUID>"
    if kind == "relationship":
        rtype = obj.get("relationship_type")
        if not isinstance(rtype, str) or not 0 < len(rtype) <= 80:
            return f"{ident} has no valid \"relationship_type\""
        for ref in ("source_ref", "target_ref"):
            if not isinstance(obj.get(ref), str) or not _ID.match(obj[ref]):
                return f"{ident} has no valid \"{ref}\""
    return None


# -- STIX 2.0 → 2.1 ---------------------------------------------------------------------------
def is_stix20(obj: Mapping[str, Any], bundle_spec: str | None) -> bool:
    version = obj.get("spec_version")
    if version is not None:
        return bool(version == "2.0")
    return bundle_spec == "2.0" or obj.get("type") not in SCO_TYPES


def upgrade_20(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A STIX 2.1 copy of a STIX 2.0 object, with the same id (see the module docstring)."""
    if obj.get("type") == "marking-definition":
        return _upgrade_marking(obj)
    new = {**obj, "spec_version": "2.1"}
    _move_labels(new)
    if new["type"] == "malware" and "is_family" not in new:
        # 2.1 requires it; a named 2.0 malware describes a family, and a family needs a name.
        new["is_family"] = bool(_text(new, "name"))
    if new["type"] == "indicator" and "pattern_type" not in new:
        new["pattern_type"] = "stix"
    return new


def _move_labels(obj: dict[str, Any]) -> None:
    target = _LABEL_VOCABS.get(obj["type"])
    labels = obj.get("labels")
    if target is None or not isinstance(labels, list) or target[0] in obj:
        return
    prop, vocab = target
    lists: dict[str, list[Any]] = {prop: [], "labels": []}
    where: dict[int, tuple[str, int]] = {}  # old position -> (property, new position)
    for i, value in enumerate(labels):
        name = prop if isinstance(value, str) and value in vocab else "labels"
        where[i] = (name, len(lists[name]))
        lists[name].append(value)
    if not lists[prop]:
        return
    obj[prop] = lists[prop]
    if lists["labels"]:
        obj["labels"] = lists["labels"]
    else:
        del obj["labels"]
    _move_selectors(obj, where, [p for p, values in lists.items() if values])


def _move_selectors(obj: dict[str, Any], where: dict[int, tuple[str, int]],
                    now: list[str]) -> None:
    """Point granular-marking selectors of ``labels`` at where the values moved."""
    markings = obj.get("granular_markings")
    if not isinstance(markings, list):
        return
    moved = []
    for marking in markings:
        if isinstance(marking, dict) and isinstance(marking.get("selectors"), list):
            marking = {**marking, "selectors": [
                new for sel in marking["selectors"] for new in _move_selector(sel, where, now)]}
        moved.append(marking)
    obj["granular_markings"] = moved


def _move_selector(selector: object, where: dict[int, tuple[str, int]],
                   now: list[str]) -> list[object]:
    if selector == "labels":
        return list(now)
    match = _LABEL_SELECTOR.match(selector) if isinstance(selector, str) else None
    if match is None or int(match.group(1)) not in where:
        return [selector]
    prop, index = where[int(match.group(1))]
    return [f"{prop}.[{index}]{match.group(2)}"]


def _upgrade_marking(obj: Mapping[str, Any]) -> dict[str, Any]:
    canonical = tlp1_definition(str(obj.get("id")))
    if canonical is not None:
        return canonical
    new = {**obj, "spec_version": "2.1"}
    body = new.get("definition")
    if new.get("definition_type") == "tlp" and isinstance(body, dict) and isinstance(
            body.get("tlp"), str):
        colour = body["tlp"].strip().lower()
        new["definition"] = {**body, "tlp": colour}
        new.setdefault("name", "TLP:" + colour.upper())
    return new


# -- mapping ----------------------------------------------------------------------------------
def _text(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    return value.strip() if isinstance(value, str) else ""


def _is_document(obj: Mapping[str, Any]) -> bool:
    kind = obj["type"]
    if kind in _NOT_DOCUMENTS:
        return False
    if kind == "indicator" or kind.startswith("x-"):
        return bool(_text(obj, "description"))
    return any(_text(obj, k) for k in ("name", "description", "abstract", "content",
                                         "explanation"))


def _title(obj: Mapping[str, Any]) -> str:
    return (_text(obj, "name") or _text(obj, "abstract")
            or " ".join(filter(None, (obj["type"], _text(obj, "opinion")))))


def _body(obj: Mapping[str, Any]) -> str:
    return "\n\n".join(filter(None, (_text(obj, k) for k in ("description", "content",
                                                              "explanation"))))


def _object_name(obj: Mapping[str, Any]) -> str:
    for key in ("name", "value", "abstract", "pattern", "display_name", "key", "path",
                "number"):
        value = obj.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    hashes = obj.get("hashes")
    if isinstance(hashes, dict) and hashes:
        return str(next(iter(hashes.values())))
    return str(obj["id"])


def _first_url(obj: Mapping[str, Any]) -> str | None:
    refs = obj.get("external_references")
    for ref in refs if isinstance(refs, list) else ():
        if isinstance(ref, dict) and isinstance(ref.get("url"), str) and ref["url"]:
            return str(ref["url"])
    return None


def _external_id(obj: Mapping[str, Any]) -> str | None:
    refs = obj.get("external_references")
    for ref in refs if isinstance(refs, list) else ():
        if isinstance(ref, dict) and isinstance(ref.get("external_id"), str):
            return str(ref["external_id"])
    return None


def _timestamp(obj: Mapping[str, Any]) -> datetime | None:
    for key in ("published", "created", "modified"):
        value = obj.get(key)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                continue
    return None


@dataclass
class _Mapper:
    """Turns the checked, upgraded objects of one bundle into collected items."""

    bundle: ParsedBundle
    blob: str
    default: Marking
    objects: list[dict[str, Any]] = field(default_factory=list)
    upgraded: set[str] = field(default_factory=set)
    rejected: int = 0
    #: marking definitions known from outside the bundle (e.g. an earlier TAXII page)
    known_definitions: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    _definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    _markings: dict[tuple[str, ...], Marking] = field(default_factory=dict)

    def marking(self, obj: Mapping[str, Any]) -> Marking:
        key = tuple(marking_refs(obj))
        if key not in self._markings:
            self._markings[key] = marking_from_refs(key, self._definitions, self.default)
        return self._markings[key]

    def items(self) -> Iterator[Collected]:
        self._definitions = {**self.known_definitions,
                             **{o["id"]: o for o in self.objects
                                if o["type"] == "marking-definition"}}
        # a bundle may hold several versions of one object: each is a document of its own
        documents = [o for o in self.objects if _is_document(o)]
        document_ids = {o["id"] for o in documents}
        attached: dict[str, list[dict[str, Any]]] = {}
        loose: list[dict[str, Any]] = []
        for obj in self.objects:
            if obj["type"] == "relationship" and obj["source_ref"] in document_ids:
                attached.setdefault(obj["source_ref"], []).append(obj)
            elif obj["id"] not in document_ids:
                loose.append(obj)
        for obj in documents:  # relationships ride on the first version of their source
            yield self._document_item(obj, attached.pop(obj["id"], []))
        yield from self._bundle_items(loose, len(documents))

    def _relationship(self, obj: dict[str, Any], floor: Marking | None) -> Relationship:
        marking = self.marking(obj)
        return Relationship(id=obj["id"], relationship_type=obj["relationship_type"],
                            source_ref=obj["source_ref"], target_ref=obj["target_ref"],
                            stix=obj, marking=marking.combine(floor) if floor else marking)

    def _document_item(self, obj: dict[str, Any], rels: list[dict[str, Any]]) -> Collected:
        marking = self.marking(obj)
        flags = {"revoked": obj.get("revoked") is True,
                 "deprecated": obj.get("x_mitre_deprecated") is True}
        meta: dict[str, Any] = {"stix_id": obj["id"], "modified": obj.get("modified")}
        meta.update({k: True for k, on in flags.items() if on})
        if obj["id"] in self.upgraded:
            meta["upgraded_from"] = "2.0"
        if (external_id := _external_id(obj)) is not None:
            meta["external_id"] = external_id
        lang = obj.get("lang")
        doc = Document.build(
            kind=obj["type"], title=_title(obj), text=_body(obj), url=_first_url(obj),
            published_at=_timestamp(obj),
            key={"stix_id": obj["id"], "modified": obj.get("modified") or obj.get("created")},
            language=lang if isinstance(lang, str) else None, media_type=MEDIA_TYPE,
            blob_sha256=self.blob, blob_ref=f"object:{obj['id']}",
            labels=[k for k, on in flags.items() if on], meta=meta, marking=marking)
        relationships = [self._relationship(r, marking) for r in rels]
        return Collected(
            doc, [StixObject(obj["id"], obj["type"], _object_name(obj), obj, marking)],
            relationships, [Mention(obj["id"], EXTRACTOR)]
            + [Mention(r.id, EXTRACTOR) for r in relationships])

    def _bundle_items(self, loose: list[dict[str, Any]], n_documents: int
                      ) -> Iterator[Collected]:
        """The bundle document, marked as what it describes: the most restrictive marking
        of the bundle's objects (its summary counts them all, and names the bundle).

        The loose objects ride on it when they all carry the same marking references (the
        common case). In a mixed bundle they ride instead on *part* documents, one per
        distinct set of ``object_marking_refs`` (and granular marking refs; a definition in
        the bundle that bears no TLP, such as a copyright statement, does not count), each
        marked as its objects and summarising only them: a CLEAR object of a bundle that
        also holds a RED one is then seen by CLEAR readers through a mention of its own
        marking. A part
        is keyed by the marking-definition IDs as written in the bundle, not by the marking
        they resolve to, so a rebuild — which resolves definitions offline, without an
        earlier TAXII page's — finds the same part documents again (and never loosens a
        stored marking, see :mod:`allsource.process.rebuild`)."""
        marked = [o for o in self.objects if o["type"] != "marking-definition"]
        whole = self.default
        if marked:
            whole = self.marking(marked[0])
            for marking in {self.marking(o) for o in marked[1:]}:
                whole = whole.combine(marking)
        # a definition the bundle itself carries that bears no TLP (a copyright statement,
        # as in ATT&CK) does not split it; every other reference does, as written
        inert = {o["id"] for o in self.objects if o["type"] == "marking-definition"
                 and tlp_of_definition(o) is None}
        parts: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for obj in loose:
            refs = tuple(sorted(set(marking_refs(obj)) - inert))
            parts.setdefault(refs, []).append(obj)
        if len(parts) <= 1:
            yield self._bundle_item(loose, whole, self._summary(n_documents),
                                    self._bundle_meta(n_documents), None)
            return
        yield self._bundle_item([], whole, self._summary(n_documents),
                                self._bundle_meta(n_documents), None)
        for refs, objects in sorted(parts.items()):
            marking = self.marking(objects[0])
            for obj in objects[1:]:
                marking = marking.combine(self.marking(obj))
            yield self._bundle_item(objects, marking, self._part_summary(refs, objects),
                                    {"stix_id": self.bundle.bundle_id,
                                     "objects": len(objects), "marking_refs": list(refs)},
                                    refs)

    def _bundle_item(self, loose: list[dict[str, Any]], marking: Marking, text: str,
                     meta: dict[str, Any], part: tuple[str, ...] | None) -> Collected:
        objects = [StixObject(o["id"], o["type"], _object_name(o), o, self.marking(o))
                   for o in loose if o["type"] != "relationship"]
        rels = [self._relationship(o, None) for o in loose if o["type"] == "relationship"]
        key: dict[str, Any] = {"stix_bundle": self.bundle.bundle_id, "sha256": self.blob}
        ref = "bundle"
        if part is not None:
            key["part"] = list(part)
            ref = "bundle-part:" + hashlib.sha256("\n".join(part).encode()).hexdigest()[:16]
        doc = Document.build(
            kind=BUNDLE_KIND, title=self.bundle.name, text=text, key=key,
            media_type=MEDIA_TYPE, blob_sha256=self.blob, blob_ref=ref,
            meta=meta, marking=marking)
        mentions = [Mention(o.id, EXTRACTOR) for o in objects]
        mentions += [Mention(r.id, EXTRACTOR) for r in rels]
        return Collected(doc, objects, rels, mentions)

    def _part_summary(self, refs: tuple[str, ...], objects: list[dict[str, Any]]) -> str:
        counts = Counter(o["type"] for o in objects)
        marked = ", ".join(refs) if refs else "no marking of their own"
        return "\n".join([
            f"Objects of STIX bundle {self.bundle.bundle_id or '(no id)'} read from "
            f"{self.bundle.name} marked {marked}.",
            f"{len(objects)} objects: " + ", ".join(
                f"{n} {kind}" for kind, n in sorted(counts.items(),
                                                    key=lambda kv: (-kv[1], kv[0])))])

    def _bundle_meta(self, n_documents: int) -> dict[str, Any]:
        meta: dict[str, Any] = {"stix_id": self.bundle.bundle_id, "objects": len(self.objects),
                                "documents": n_documents, "rejected": self.rejected}
        if self.upgraded:
            meta["upgraded_from"] = "2.0"
            meta["upgraded_objects"] = len(self.upgraded)
        return meta

    def _summary(self, n_documents: int) -> str:
        counts = Counter(o["type"] for o in self.objects)
        lines = [f"STIX bundle {self.bundle.bundle_id or '(no id)'} read from {self.bundle.name}"
                 + (f", upgraded from STIX 2.0 ({len(self.upgraded)} objects)."
                    if self.upgraded else ".")]
        lines.append(f"{len(self.objects)} objects: " + ", ".join(
            f"{n} {kind}" for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))))
        lines.append(f"{n_documents} became documents; {self.rejected} rejected.")
        return "\n".join(lines)


def map_bundle(bundle: ParsedBundle, blob: str, default: Marking, ref: str,
               max_item_bytes: int,
               definitions: Mapping[str, dict[str, Any]] | None = None,
               ) -> Iterator[Collected | Rejected]:
    """Check, upgrade and map every object of ``bundle``: a :class:`Rejected` per bad object,
    then a :class:`Collected` per document and one for the bundle document. ``definitions``
    are marking definitions from outside the bundle that its objects may reference."""
    mapper = _Mapper(bundle, blob, default, known_definitions=definitions or {})
    sized = bundle.size > max_item_bytes  # otherwise no single object can be over the cap
    for index, obj in enumerate(bundle.objects):
        problem = object_problem(obj)
        if problem is None and sized and (size := len(orjson.dumps(obj))) > max_item_bytes:
            problem = f"{obj['id']} is {size} bytes, over the {max_item_bytes}-byte item cap"
        if problem is not None:
            mapper.rejected += 1
            yield Rejected(f"{bundle.name} objects[{index}]: {problem}", _raw(obj),
                           f"{ref}#objects[{index}]")
            continue
        if is_stix20(obj, bundle.spec_version):
            obj = upgrade_20(obj)
            mapper.upgraded.add(obj["id"])
        mapper.objects.append(obj)
    yield from mapper.items()


def _raw(obj: object) -> bytes:
    """A rejected object's JSON, or nothing when even that cannot be written (too deep)."""
    try:
        return orjson.dumps(obj)
    except TypeError:
        return b""


# -- the collector ----------------------------------------------------------------------------
def _display_name(ref: str) -> str:
    """A short name for titles: a file's name (with the ``#objects[i]`` of a quarantined
    object), or the last segment of a URL path."""
    if is_url(ref):
        parts = urlsplit(ref)
        return PurePosixPath(parts.path).name or parts.netloc
    path, _, fragment = ref.partition("#")
    return (Path(path).name or path) + (f"#{fragment}" if fragment else "")


def _bundle_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.json") if p.is_file())


def _score(head: bytes) -> int:
    text = head.removeprefix(_BOM).lstrip()
    if not text.startswith(b"{"):
        return 0
    if _BUNDLE_HEAD.search(text):
        return 95
    if _OBJECTS_HEAD.search(text) and _OBJECT_HEAD.search(text):
        return 80  # a bundle whose "type" comes after its objects
    if _OBJECT_HEAD.search(text) and b'"type"' in text:
        return 60  # one bare STIX object
    return 0


class StixCollector(Collector):
    """STIX 2.1 / 2.0 bundles from a file, a folder of ``*.json`` files, or an http(s) URL."""

    name = "stix"
    description = ("STIX 2.1 and 2.0 bundles (2.0 is upgraded to 2.1) from a file, a folder "
                   "of *.json files, or an http(s) URL")
    default_schedule = 24 * 3600
    time_limit = 2 * 3600.0

    @classmethod
    def detect(cls, location: str, head: bytes) -> int:
        path = Path(location).expanduser()
        if not head and not is_url(location) and path.is_dir():
            first = next(iter(_bundle_files(path)), None)
            if first is None:
                return 0
            with first.open("rb") as fh:
                return max(0, _score(fh.read(65536)) - 5)
        return _score(head)

    def collect(self, checkpoint: dict[str, Any]) -> Iterator[Item]:
        previous = checkpoint.get("inputs")
        seen: dict[str, dict[str, Any]] = previous if isinstance(previous, dict) else {}
        state: dict[str, dict[str, Any]] = {}
        location = self.source.location
        if is_url(location):
            yield from self._collect_url(location, seen, state)
        elif "://" in location:
            raise InputError(f"unsupported location {location!r}: use a path or http(s) URL")
        else:
            path = Path(location).expanduser()
            files = _bundle_files(path) if path.is_dir() else [path]
            for file in files:
                yield from self._collect_file(file, seen, state, strict=not path.is_dir())
        yield Checkpoint({"inputs": dict(state)})

    def reparse(self, raw: bytes, ref: str) -> Iterator[Item]:
        """Re-read a quarantined bundle, or one quarantined object, from its raw bytes."""
        yield from self._map(raw, _display_name(ref), ref)

    def rebuild(self, raw: bytes, stored: Sequence[StoredItem]
                ) -> Iterator[Collected | Rejected]:
        name = next((s.title for s in stored if s.ref == "bundle"), None)
        yield from self._map(raw, name or _display_name(self.source.location),
                             name or self.source.location)

    def _map(self, data: bytes, name: str, ref: str) -> Iterator[Collected | Rejected]:
        """Parse and map one input's bytes (kept as a blob); :class:`BundleError` if it is
        not STIX."""
        bundle = parse_bundle(data, name)
        yield from map_bundle(bundle, self.ctx.keep_blob(data), self.marking, ref,
                              self.ctx.settings.max_item_bytes)

    def _collect_file(self, path: Path, seen: dict[str, dict[str, Any]],
                      state: dict[str, dict[str, Any]], *, strict: bool) -> Iterator[Item]:
        try:
            data = read_file(path, self.ctx.settings.max_input_bytes)
        except InputError as exc:
            if strict:
                raise
            yield Rejected(str(exc), b"", str(path))
            return
        yield from self._collect_bytes(data, str(path), seen, state, {}, strict=strict)

    def _collect_url(self, url: str, seen: dict[str, dict[str, Any]],
                     state: dict[str, dict[str, Any]]) -> Iterator[Item]:
        before = seen.get(url, {})
        headers = {header: before[key] for key, header in
                   (("etag", "If-None-Match"), ("last_modified", "If-Modified-Since"))
                   if isinstance(before.get(key), str)}
        fetched = self.ctx.fetch(self.source, url, headers=headers or None)
        if fetched.not_modified:
            state[url] = dict(before)
            return
        validators = {key: fetched.headers[header] for key, header in
                      (("etag", "etag"), ("last_modified", "last-modified"))
                      if header in fetched.headers}
        yield from self._collect_bytes(fetched.content, url, seen, state, validators,
                                       strict=True)

    def _collect_bytes(self, data: bytes, ref: str, seen: dict[str, dict[str, Any]],
                       state: dict[str, dict[str, Any]], validators: dict[str, str], *,
                       strict: bool) -> Iterator[Item]:
        sha = sha256_hex(data)
        entry: dict[str, Any] = {"sha256": sha, **validators}
        if seen.get(ref, {}).get("sha256") == sha:
            state[ref] = entry  # unchanged since the last run
            return
        try:
            yield from self._map(data, _display_name(ref), ref)
        except BundleError as exc:
            if strict:
                raise
            yield Rejected(str(exc), data, ref)
        state[ref] = entry
        yield Checkpoint({"inputs": dict(state)})


@hookimpl
def register_collectors() -> list[type[Collector]]:
    return [StixCollector]
