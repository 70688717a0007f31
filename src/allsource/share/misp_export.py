"""A selection as MISP events, made from its STIX export so access is decided once.

:func:`misp_events` reads the bundle :func:`allsource.share.stix_bundle.export_bundle` made
for the reader (so it holds only what they may read) and writes MISP's JSON format
(``{"Event": {...}}``, the format PyMISP's ``MISPEvent`` loads and MISP feeds serve):

* **one event per report** (``per_report=True``, what a feed publishes: its uuid is the
  report's, so the same document is always the same event) or **one event for the whole
  selection**; ``info`` is the report's name (or the selection's label), ``date`` its
  publication day;
* **attributes** from the observables the reports hold — ``ip-dst``, ``domain``, ``url``,
  ``email``, ``mac-address``, ``vulnerability`` — with ``to_ids`` set when the export carries
  an indicator for the observable; a file's hashes become one MISP ``file`` **object**; a
  report's text and URL a ``report`` object;
* **tags**: ``tlp:`` of the marking (TLP 2.0 names), ``admiralty-scale:source-reliability``
  and ``admiralty-scale:information-credibility`` of the report's grade, and allsource's own
  ``allsource:classification``/``compartment``/``releasability`` (MISP has no vocabulary for
  them; the event's ``distribution`` is then "your organisation only");
* **galaxies**: threat actors and intrusion sets (``threat-actor``), malware (``malpedia``),
  tools (``tool``) and attack patterns (``mitre-attack-pattern``) as galaxy clusters and
  their ``misp-galaxy:`` tags;
* **sightings**: each STIX sighting of a report (a source that saw the document) becomes a
  MISP sighting, dated, of each attribute of that report, naming the source.

Ids are the STIX ids' UUIDs, so an attribute keeps its uuid from one export to the next.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from allsource.model.markings import TLP, Marking
from allsource.share import stix_markings as sm

__all__ = ["misp_event", "misp_events"]

_ATTRIBUTES = {"ipv4-addr": ("ip-dst", "Network activity"),
               "ipv6-addr": ("ip-dst", "Network activity"),
               "domain-name": ("domain", "Network activity"),
               "url": ("url", "Network activity"),
               "email-addr": ("email", "Payload delivery"),
               "mac-addr": ("mac-address", "Network activity")}
_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-512": "sha512",
           "SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}
_GALAXIES = {"threat-actor": ("threat-actor", "Threat Actor"),
             "intrusion-set": ("threat-actor", "Threat Actor"),
             "malware": ("malpedia", "Malpedia"), "tool": ("tool", "Tool"),
             "attack-pattern": ("mitre-attack-pattern", "Attack Pattern")}
#: MISP distribution by TLP: all communities, connected communities, this community, org
_DISTRIBUTION = {TLP.CLEAR: 3, TLP.GREEN: 2, TLP.AMBER: 0, TLP.AMBER_STRICT: 0, TLP.RED: 0}


def _uuid(stix_id: str) -> str:
    return stix_id.partition("--")[2]


def _epoch(stamp: str | None) -> str:
    if not stamp:
        return "0"
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return str(int(when.timestamp()))


def _tag(name: str) -> dict[str, Any]:
    return {"name": name}


class _Bundle:
    def __init__(self, bundle: dict[str, Any]) -> None:
        self.objects = {o["id"]: o for o in bundle.get("objects", [])}
        self.definitions = {i: o for i, o in self.objects.items()
                            if o["type"] == "marking-definition"}
        self.indicated = {o.get("extensions", {}).get(sm.MARKING_EXTENSION_ID, {})
                          .get("observable") for o in self.objects.values()
                          if o["type"] == "indicator"}
        self.sightings: dict[str, list[dict[str, Any]]] = {}
        for o in self.objects.values():
            if o["type"] == "sighting":
                self.sightings.setdefault(o["sighting_of_ref"], []).append(o)

    def marking(self, obj: dict[str, Any]) -> Marking:
        return sm.marking_from_refs(obj.get("object_marking_refs"), self.definitions,
                                    Marking())

    def marking_tags(self, obj: dict[str, Any] | Marking) -> list[dict[str, Any]]:
        marking = obj if isinstance(obj, Marking) else self.marking(obj)
        tags = [_tag(marking.tlp.label.lower())]
        if marking.classification:
            tags.append(_tag(f'allsource:classification="{marking.classification.name.lower()}"'))
        tags += [_tag(f'allsource:compartment="{c}"') for c in sorted(marking.compartments)]
        tags += [_tag(f'allsource:releasability="{r}"') for r in sorted(marking.releasability)]
        return tags

    def distribution(self, obj: dict[str, Any]) -> int:
        marking = sm.marking_from_refs(obj.get("object_marking_refs"), self.definitions,
                                       Marking())
        restricted = marking.classification or marking.compartments or marking.releasability
        return 0 if restricted else _DISTRIBUTION[marking.tlp]

    def sightings_of(self, reports: Iterable[str]) -> list[dict[str, Any]]:
        out = []
        for report in reports:
            for s in self.sightings.get(report, []):
                where = [self.objects.get(w, {}).get("name") for w in
                         s.get("where_sighted_refs", [])]
                out.append({"type": "0", "date_sighting": _epoch(s.get("first_seen")),
                            "source": ", ".join(w for w in where if w) or "allsource",
                            "uuid": _uuid(s["id"])})
        return out


def _attribute(b: _Bundle, obj: dict[str, Any], reports: list[str]) -> dict[str, Any] | None:
    kind = obj["type"]
    if kind in _ATTRIBUTES and isinstance(obj.get("value"), str):
        misp_type, category = _ATTRIBUTES[kind]
        value = obj["value"]
    elif kind == "vulnerability" and isinstance(obj.get("name"), str):
        misp_type, category, value = "vulnerability", "External analysis", obj["name"]
    else:
        return None
    attr: dict[str, Any] = {
        "uuid": _uuid(obj["id"]), "type": misp_type, "category": category, "value": value,
        "to_ids": obj["id"] in b.indicated, "distribution": 5, "comment": "",
        "timestamp": _epoch(obj.get("modified") or obj.get("created")),
        "Tag": b.marking_tags(obj)}
    sightings = b.sightings_of(reports)
    if sightings:
        attr["Sighting"] = [{**s, "uuid": str(uuid.uuid5(uuid.UUID(attr["uuid"]), s["uuid"]))}
                            for s in sightings]
    return attr


def _file_object(b: _Bundle, obj: dict[str, Any]) -> dict[str, Any] | None:
    hashes = obj.get("hashes") if obj["type"] == "file" else None
    if not isinstance(hashes, dict):
        return None
    attrs = [{"uuid": str(uuid.uuid5(uuid.UUID(_uuid(obj["id"])), k)),
              "object_relation": _HASHES[k], "type": _HASHES[k], "category": "Payload delivery",
              "value": v, "to_ids": obj["id"] in b.indicated, "distribution": 5,
              "Tag": b.marking_tags(obj)}
             for k, v in sorted(hashes.items()) if k in _HASHES and isinstance(v, str)]
    if isinstance(obj.get("name"), str) and obj["name"] and obj["name"] not in hashes.values():
        attrs.append({"uuid": str(uuid.uuid5(uuid.UUID(_uuid(obj["id"])), "filename")),
                      "object_relation": "filename", "type": "filename",
                      "category": "Payload delivery", "value": obj["name"], "to_ids": False,
                      "distribution": 5})
    if not attrs:
        return None
    return {"uuid": _uuid(obj["id"]), "name": "file", "meta-category": "file",
            "template_uuid": "688c46fb-5edb-40a3-8273-1af7923e2215", "template_version": "24",
            "description": "File object describing a file with meta-information",
            "distribution": 5, "comment": "", "Attribute": attrs}


def _report_object(report: dict[str, Any]) -> dict[str, Any]:
    attrs = [{"uuid": str(uuid.uuid5(uuid.UUID(_uuid(report["id"])), "summary")),
              "object_relation": "summary", "type": "text", "category": "Other",
              "value": report.get("description") or report["name"], "to_ids": False,
              "distribution": 5}]
    for ref in report.get("external_references", []):
        if ref.get("url"):
            attrs.append({"uuid": str(uuid.uuid5(uuid.UUID(_uuid(report["id"])), "link")),
                          "object_relation": "link", "type": "link",
                          "category": "External analysis", "value": ref["url"],
                          "to_ids": False, "distribution": 5})
            break
    return {"uuid": str(uuid.uuid5(uuid.UUID(_uuid(report["id"])), "report")),
            "name": "report", "meta-category": "misc",
            "template_uuid": "70a68471-df22-4e3f-aa1a-5a3be19f82df", "template_version": "7",
            "description": "Metadata used to generate an executive level report",
            "distribution": 5, "comment": report["name"], "Attribute": attrs}


def _grade_tags(report: dict[str, Any]) -> list[dict[str, Any]]:
    ext = report.get("extensions", {}).get(sm.MARKING_EXTENSION_ID, {})
    tags = []
    if isinstance(ext.get("reliability"), str):
        tags.append(_tag(f'admiralty-scale:source-reliability="{ext["reliability"].lower()}"'))
    if isinstance(ext.get("credibility"), int):
        tags.append(_tag(f'admiralty-scale:information-credibility="{ext["credibility"]}"'))
    return tags


def _galaxies(b: _Bundle, ids: Iterable[str]) -> tuple[list[dict[str, Any]], list[str]]:
    galaxies: dict[str, dict[str, Any]] = {}
    tags: list[str] = []
    for oid in ids:
        obj = b.objects.get(oid)
        if obj is None or obj["type"] not in _GALAXIES or not obj.get("name"):
            continue
        kind, label = _GALAXIES[obj["type"]]
        name = str(obj["name"]).replace('"', "'")
        tag = f'misp-galaxy:{kind}="{name}"'
        galaxy = galaxies.setdefault(kind, {"type": kind, "name": label,
                                            "namespace": "misp", "GalaxyCluster": []})
        galaxy["GalaxyCluster"].append({
            "uuid": _uuid(obj["id"]), "type": kind, "value": obj["name"], "tag_name": tag,
            "description": str(obj.get("description") or "")})
        tags.append(tag)
    return list(galaxies.values()), tags


def misp_event(bundle: dict[str, Any], reports: list[str], *, info: str,
               event_uuid: str, b: _Bundle | None = None, everything: bool = False
               ) -> dict[str, Any]:
    """One MISP event (``{"Event": …}``) of the ``reports`` (ids) of an exported bundle, and
    with ``everything`` of every other object it holds too (an entity's neighbourhood has
    no report)."""
    b = b or _Bundle(bundle)
    held = [b.objects[r] for r in reports if r in b.objects]
    refs = list(dict.fromkeys([*(ref for r in held for ref in r.get("object_refs", [])),
                               *(b.objects if everything else ())]))
    per_object: dict[str, list[str]] = {}
    for r in held:
        for ref in r.get("object_refs", []):
            per_object.setdefault(ref, []).append(r["id"])
    attributes, objects = [], []
    for ref in refs:
        obj = b.objects.get(ref)
        if obj is None:
            continue
        if (attr := _attribute(b, obj, per_object.get(ref, []))) is not None:
            attributes.append(attr)
        elif (found := _file_object(b, obj)) is not None:
            objects.append(found)
    objects += [_report_object(r) for r in held]
    galaxies, galaxy_tags = _galaxies(b, refs)
    # the event is marked as the strictest of its reports
    marking = Marking()
    for r in held:
        marking = marking.combine(b.marking(r))
    tags = b.marking_tags(marking)
    for r in held:
        tags += [t for t in _grade_tags(r) if t not in tags]
    tags += [_tag(t) for t in galaxy_tags]
    published = min((r.get("published") or r["created"] for r in held), default=None)
    modified = max((r.get("modified") or r["created"] for r in held), default=None)
    return {"Event": {
        "uuid": event_uuid, "info": info[:65535] or "allsource export",
        "date": (published or "1970-01-01")[:10], "threat_level_id": "4", "analysis": "2",
        "published": True, "distribution": min((b.distribution(r) for r in held), default=0),
        "timestamp": _epoch(modified), "publish_timestamp": _epoch(modified),
        "Orgc": {"name": "allsource", "uuid": _uuid(sm.PRODUCER_ID)},
        "Tag": tags, "Attribute": attributes, "Object": objects, "Galaxy": galaxies}}


def misp_events(bundle: dict[str, Any], *, label: str, per_report: bool = False
                ) -> list[dict[str, Any]]:
    """The MISP events of an exported bundle: one per report, or one for all of them."""
    b = _Bundle(bundle)
    reports = [o["id"] for o in bundle.get("objects", []) if o["type"] == "report"]
    if per_report:
        return [misp_event(bundle, [r], info=str(b.objects[r]["name"]),
                           event_uuid=_uuid(r), b=b) for r in reports]
    key = "|".join(sorted(reports)) or label
    return [misp_event(bundle, reports, info=label,
                       event_uuid=str(sm.stable_uuid4(uuid.NAMESPACE_URL, key)), b=b,
                       everything=True)]
