"""A selection as one STIX 2.1 bundle: what its reader may read, and nothing else.

The bundle is built from a :class:`~allsource.share.selection.Selection` (documents and
objects already resolved under the access rule) in four steps:

1. **Stored objects** — the selected objects and those the selected documents mention through
   readable evidence — are read under :func:`allsource.store.derived.visible` and re-checked
   row by row (:func:`~allsource.store.derived.reader_markings`); each is shown as the
   workspace shows it (:func:`~allsource.store.derived.shown_stix`) and completed to valid
   STIX 2.1 by :func:`allsource.share.stix_objects.complete`. So intrusion sets, threat
   actors, malware, tools, campaigns, attack patterns, locations, identities, vulnerabilities,
   notes, opinions, sightings and indicators that came in as STIX leave as the same objects
   under the same ids. The visible relationships between them follow. A ``*_ref``/``*_refs``
   property naming a stored object the reader may not see is cut (an id names something);
   ``created_by_ref`` and extension-definition extensions travel only with their target.
2. **Documents** that did not come in as STIX (feeds, files, MISP events…) become ``report``
   objects (id ``report--UUIDv5(document id)``, so the same document always gives the same
   report) whose ``object_refs`` are the objects they mention (the producer identity when they
   mention none: a report needs one). Their **Admiralty grade** as the reader sees it
   (:class:`allsource.verify.audience.ReaderGrades`) becomes ``confidence`` by the STIX 2.1
   Admiralty credibility mapping (1→90, 2→70, 3→50, 4→30, 5→10, 6: none) plus, in allsource's
   registered property extension (:data:`~allsource.share.stix_markings.MARKING_EXTENSION_ID`),
   ``admiralty`` (``"B2"``), ``reliability`` and ``credibility``; **provenance** is the
   extension's ``document_id``, ``kind`` and ``source`` (the source's name, when the reader
   may read the source) and the document's URL as an external reference. Each readable
   source that saw a document gives a ``sighting`` of its report ``where_sighted_refs`` the
   source's ``identity``; case evidence notes become ``note`` objects on their document's
   report.
3. **Indicators** are added for the observables allsource extracted itself (mentions by an
   extractor other than the STIX collector: what came in as STIX keeps its own indicators),
   with a STIX pattern checked by ``stix2-patterns`` and a ``related-to`` relationship to the
   observable (``based-on`` is suggested only towards ``observed-data``).
4. **Markings**: each object refers to the TLP 2.0 marking definition of the marking it is
   shown under and, when that marking has a classification, compartments or releasability,
   to an allsource marking definition carrying them in allsource's registered extension
   (:mod:`allsource.share.stix_markings`). Every definition referred to travels in the
   bundle, with the extension definition and the producer identity.

Generated ids are UUIDv5 over the stored ids, so exporting twice gives the same objects, and
importing an export (:mod:`allsource.collect.stix`) then exporting again gives the same ids,
objects and markings (tests/share/test_stix_bundle.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from stix2patterns.validator import validate as validate_pattern  # type: ignore[import-untyped]

from allsource.model.markings import Audience, Marking, can_release
from allsource.share import stix_markings as sm
from allsource.share.selection import MAX_OBJECTS, PAGE, Selection, objects_of
from allsource.share.stix_objects import TLP2_MARKINGS, complete, expressible, stamp
from allsource.store import derived
from allsource.store import schema as t
from allsource.store.sql import SqlStore

__all__ = ["ADMIRALTY_CONFIDENCE", "Export", "export_bundle", "indicator_pattern", "report_id"]

_NAMESPACE = uuid.UUID("5c0e3f5b-8a5e-4d9b-9f5e-3b1c7a2e6d40")
#: STIX 2.1 appendix: Admiralty credibility → confidence (6, "cannot be judged": none)
ADMIRALTY_CONFIDENCE = {1: 90, 2: 70, 3: 50, 4: 30, 5: 10}
_STIX_MEDIA = "application/stix+json"
_BUNDLE_KIND = "stix-bundle"
#: observable type → the property its pattern compares
_VALUE_TYPES = frozenset({"ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr",
                          "mac-addr"})
_REF_SKIP = frozenset({"created_by_ref", "object_marking_refs"})


@dataclass(slots=True)
class Export:
    """The bundle, and the readable objects left out because they cannot be valid STIX."""

    bundle: dict[str, Any]
    left_out: list[str] = field(default_factory=list)
    #: statements and pages read (with the selection's): the work is bounded by this count
    pages: int = 0
    truncated: bool = False


def generated_id(kind: str, *key: str) -> str:
    """A deterministic id in UUIDv4 form (STIX 2.1 asks v4 of every non-observable id):
    the bits of a UUIDv5 over ``key``, with the version set to 4."""
    return f"{kind}--{sm.stable_uuid4(_NAMESPACE, '|'.join(key))}"


def report_id(document_id: str) -> str:
    """The id of the report a document is exported as."""
    return generated_id("report", document_id)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def indicator_pattern(obj: dict[str, Any]) -> str | None:
    """A STIX pattern matching an observable, valid per ``stix2-patterns``, or ``None``."""
    kind = obj.get("type")
    if kind in _VALUE_TYPES and isinstance(obj.get("value"), str) and obj["value"]:
        pattern = f"[{kind}:value = {_quote(obj['value'])}]"
    elif kind == "file" and isinstance(obj.get("hashes"), dict) and obj["hashes"]:
        parts = [f"file:hashes.{_quote(str(k))} = {_quote(str(v))}"
                 for k, v in sorted(obj["hashes"].items()) if isinstance(v, str) and v]
        if not parts:
            return None
        pattern = "[" + " OR ".join(parts) + "]"
    else:
        return None
    return pattern if validate_pattern(pattern, stix_version="2.1", print_errs=False) else None


def _refs(obj: dict[str, Any]) -> Iterable[str]:
    for key, value in obj.items():
        if key in _REF_SKIP:
            continue
        if key.endswith("_ref") and isinstance(value, str):
            yield value
        elif key.endswith("_refs") and isinstance(value, list):
            yield from (v for v in value if isinstance(v, str))


def _cut_refs(obj: dict[str, Any], hidden: set[str]) -> dict[str, Any]:
    """``obj`` without the references to ``hidden`` ids (a required single reference to a
    hidden object leaves the object out: ``None``)."""
    out = dict(obj)
    for key, value in obj.items():
        if key in _REF_SKIP:
            continue
        if key.endswith("_ref") and value in hidden:
            del out[key]
        elif key.endswith("_refs") and isinstance(value, list):
            kept = [v for v in value if v not in hidden]
            if kept:
                out[key] = kept
            else:
                del out[key]
    return out


class _Allowed:
    """The references an object keeps: any id but a stored one the reader may not see (a
    reference to something the store does not hold names nothing, as the source sent it)."""

    def __init__(self, hidden: set[str]) -> None:
        self.hidden = hidden

    def __contains__(self, ref: object) -> bool:
        return ref not in self.hidden


_CUSTOM = "x_allsource_"


def _fold_custom(obj: dict[str, Any]) -> dict[str, Any]:
    """allsource's own custom properties (``x_allsource_value_type``…) moved into its
    registered property extension, where STIX 2.1 wants new properties."""
    custom = {k: v for k, v in obj.items() if k.startswith(_CUSTOM)}
    if not custom:
        return obj
    out = {k: v for k, v in obj.items() if k not in custom}
    extensions = dict(out.get("extensions") or {})
    ext = dict(extensions.get(sm.MARKING_EXTENSION_ID) or
               {"extension_type": "property-extension"})
    ext.update({k.removeprefix(_CUSTOM): v for k, v in custom.items()})
    extensions[sm.MARKING_EXTENSION_ID] = ext
    out["extensions"] = extensions
    return out


class _Builder:
    def __init__(self, store: SqlStore, audience: Audience, sel: Selection) -> None:
        self.store, self.audience, self.sel = store, audience, sel
        self.objects: dict[str, dict[str, Any]] = {}
        self.markings: dict[str, Marking] = {}
        self.left_out: list[str] = []
        self.created: dict[str, datetime | None] = {}
        self.definitions_held: dict[str, dict[str, Any]] = {}

    # -- markings
    def refs_for(self, marking: Marking) -> list[str]:
        refs = [TLP2_MARKINGS[marking.tlp]]
        ours = sm.marking_definition(marking)
        if ours is not None:
            refs.append(ours["id"])
        return refs

    def add(self, obj: dict[str, Any], marking: Marking) -> None:
        obj.setdefault("object_marking_refs", self.refs_for(marking))
        self.objects[obj["id"]] = obj
        self.markings[obj["id"]] = marking

    # -- step 1
    def stored(self, conn: sa.Connection, ids: Sequence[str]) -> None:
        o, r = t.objects, t.relationships
        rows: list[Any] = []
        for i in range(0, len(ids), PAGE):
            rows += conn.execute(sa.select(o.c.id, o.c.name, o.c.stix, o.c.created_at)
                                 .where(o.c.id.in_(ids[i:i + PAGE]),
                                        derived.visible(self.store, o, self.audience))).all()
            self.sel.pages += 1
        shown = derived.reader_markings(self.store, conn, o, [x.id for x in rows],
                                        self.audience)
        kept = [x for x in rows if x.id in shown]
        own = derived.reader_markings(self.store, conn, o, [x.id for x in kept],
                                      Audience.owner())
        present = sorted(x.id for x in kept)
        rels: list[Any] = []
        for i in range(0, len(present), PAGE):
            rels += conn.execute(
                sa.select(r.c.id, r.c.relationship_type, r.c.source_ref, r.c.target_ref,
                          r.c.stix, r.c.created_at)
                .where(r.c.source_ref.in_(present[i:i + PAGE]),
                       derived.visible(self.store, r, self.audience))).all()
            self.sel.pages += 1
        have = set(present)
        rels = [x for x in rels if x.target_ref in have]
        rel_marks = derived.reader_markings(self.store, conn, r, [x.id for x in rels],
                                            self.audience)
        rel_own = derived.reader_markings(self.store, conn, r, list(rel_marks),
                                          Audience.owner())
        self.sel.pages += 8
        raw = {x.id: derived.shown_stix(dict(x.stix or {}), own[x.id], self.audience) or {}
               for x in kept}
        referenced = {ref for stix in raw.values()
                      for ref in (*_refs(stix), stix.get("created_by_ref"),
                                  *(stix.get("extensions") or {})) if isinstance(ref, str)} - have
        hidden = self.hidden(conn, referenced)
        allowed = _Allowed(hidden)
        for x in kept:
            stix = _cut_refs(raw[x.id], hidden)
            if x.id.startswith("marking-definition--"):
                # a definition (a copyright statement, a partner's TLP) travels as it came
                self.definitions_held[x.id] = {**stix, "spec_version": "2.1"}
                continue
            if x.id.startswith(("sighting--", "note--", "opinion--", "report--",
                                "grouping--", "observed-data--")) and not self.required(stix):
                self.left_out.append(x.id)  # its required references were all hidden
                continue
            # statements and other non-TLP definitions the object names travel with it
            kept_refs = [ref for ref in sm.marking_refs(stix) if ref in have
                         and ref not in sm.TLP_IDS and ref.startswith("marking-definition--")]
            obj = _fold_custom(complete(stix, x.id, x.name, x.created_at, shown[x.id],
                                        present=allowed,
                                        marking_refs=[*self.refs_for(shown[x.id]),
                                                      *dict.fromkeys(kept_refs)]))
            if expressible(obj):
                self.add(obj, shown[x.id])
                self.created[x.id] = x.created_at
            else:
                self.left_out.append(x.id)
        for x in rels:
            if x.id not in rel_marks or x.source_ref not in self.objects \
                    or x.target_ref not in self.objects:
                continue
            stix = _cut_refs(derived.shown_stix(dict(x.stix or {}), rel_own[x.id],
                                                self.audience) or {}, hidden)
            stix.update(relationship_type=x.relationship_type, source_ref=x.source_ref,
                        target_ref=x.target_ref)
            kept_refs = [ref for ref in sm.marking_refs(stix) if ref in have
                         and ref not in sm.TLP_IDS and ref.startswith("marking-definition--")]
            self.add(_fold_custom(complete(
                stix, x.id, "", x.created_at, rel_marks[x.id], present=allowed,
                marking_refs=[*self.refs_for(rel_marks[x.id]), *dict.fromkeys(kept_refs)])),
                rel_marks[x.id])

    @staticmethod
    def required(stix: dict[str, Any]) -> bool:
        kind = stix.get("type")
        need = {"sighting": "sighting_of_ref", "note": "object_refs", "opinion": "object_refs",
                "report": "object_refs", "grouping": "object_refs",
                "observed-data": "object_refs"}.get(str(kind))
        if kind == "observed-data" and "objects" in stix:
            return True
        return need is None or bool(stix.get(need))

    def hidden(self, conn: sa.Connection, ids: set[str]) -> set[str]:
        """The stored objects and relationships among ``ids`` the reader may not see."""
        if self.audience.unrestricted or not ids:
            return set()
        out: set[str] = set()
        wanted = sorted(ids)
        for table in (t.objects, t.relationships):
            for i in range(0, len(wanted), PAGE):
                stored = list(conn.execute(sa.select(table.c.id).where(
                    table.c.id.in_(wanted[i:i + PAGE]))).scalars())
                self.sel.pages += 1
                if stored:
                    out |= set(stored) - derived.visible_ids(self.store, conn, table, stored,
                                                             self.audience)
                    self.sel.pages += 2
        return out

    # -- step 2
    def reports(self, conn: sa.Connection, docs: Sequence[Any],
                mentioned: dict[str, list[str]]) -> None:
        from allsource.verify.audience import ReaderGrades

        grades = ReaderGrades(self.store, conn, self.audience).documents([d.id for d in docs])
        names = self.store._source_names(conn, self.audience)
        self.sel.pages += 2
        for d in docs:
            refs = [i for i in mentioned.get(d.id, []) if i in self.objects]
            marking = Marking.from_columns(dict(d._mapping))
            source = names.get(d.source_id)
            published = d.published_at or d.collected_at
            report: dict[str, Any] = {
                "type": "report", "spec_version": "2.1", "id": report_id(d.id),
                "created": stamp(d.collected_at), "modified": stamp(d.collected_at),
                "created_by_ref": sm.PRODUCER_ID, "name": d.title or d.id,
                "published": stamp(published), "report_types": ["threat-report"],
                "object_refs": refs or [sm.PRODUCER_ID]}
            ext: dict[str, Any] = {"extension_type": "property-extension",
                                   "document_id": d.id, "kind": d.kind}
            if d.text:
                report["description"] = d.text
            if d.language:
                report["lang"] = d.language
            if source is not None:
                ext["source"] = source
            if d.url:
                report["external_references"] = [{"source_name": source or "web",
                                                  "url": d.url}]
            grade = grades.get(d.id)
            if grade is not None:
                cred, rel = grade.get("credibility"), grade.get("reliability")
                if cred in ADMIRALTY_CONFIDENCE:
                    report["confidence"] = ADMIRALTY_CONFIDENCE[cred]
                if rel and cred:
                    ext["admiralty"] = f"{rel}{cred}"
                if rel:
                    ext["reliability"] = rel
                if cred:
                    ext["credibility"] = int(cred)
            report["extensions"] = {sm.MARKING_EXTENSION_ID: ext}
            self.add(report, marking)
        self.sightings(conn, docs, names)

    def sightings(self, conn: sa.Connection, docs: Sequence[Any], names: dict[str, str]
                  ) -> None:
        s = t.sightings
        by_id = {d.id: d for d in docs}
        ids = sorted(by_id)
        for i in range(0, len(ids), PAGE):
            rows = conn.execute(sa.select(s).where(s.c.document_id.in_(ids[i:i + PAGE]))
                                .order_by(s.c.document_id, s.c.source_id)).all()
            self.sel.pages += 1
            for row in rows:
                name = names.get(row.source_id)
                if name is None:
                    continue  # a source the reader may not read is not named, nor counted
                identity = generated_id("identity", "source", row.source_id)
                marking = Marking.from_columns(dict(by_id[row.document_id]._mapping))
                if identity not in self.objects:
                    self.add({"type": "identity", "spec_version": "2.1", "id": identity,
                              "created": stamp(None), "modified": stamp(None), "name": name,
                              "created_by_ref": sm.PRODUCER_ID}, Marking())
                seen = stamp(row.first_seen)
                self.add({"type": "sighting", "spec_version": "2.1",
                          "id": generated_id("sighting", row.document_id, row.source_id),
                          "created": seen, "modified": seen, "first_seen": seen,
                          "last_seen": seen, "count": 1, "created_by_ref": sm.PRODUCER_ID,
                          "sighting_of_ref": report_id(row.document_id),
                          "where_sighted_refs": [identity]}, marking)

    def notes(self, marking: Marking | None) -> None:
        for n, (doc, text, created) in enumerate(self.sel.notes):
            target = report_id(doc) if doc else None
            refs = [target] if target in self.objects else [sm.PRODUCER_ID]
            note = {"type": "note", "spec_version": "2.1",
                    "id": generated_id("note", self.sel.label, str(n), text),
                    "created": stamp(created), "modified": stamp(created),
                    "created_by_ref": sm.PRODUCER_ID, "abstract": text.split(":", 1)[0],
                    "content": text, "object_refs": refs}
            shown = marking or Marking()
            if target in self.markings:
                shown = shown.combine(self.markings[target])
            self.add(note, shown)

    # -- step 3
    def indicators(self, conn: sa.Connection) -> None:
        candidates = sorted(i for i, o in self.objects.items() if indicator_pattern(o))
        m = t.mentions
        extracted: set[str] = set()
        for i in range(0, len(candidates), PAGE):
            extracted |= set(conn.execute(
                sa.select(m.c.object_id).where(m.c.object_id.in_(candidates[i:i + PAGE]),
                                               m.c.extractor != "stix",
                                               derived.readable_evidence(self.store,
                                                                         self.audience))
                .join(t.documents, t.documents.c.id == m.c.document_id).distinct()).scalars())
            self.sel.pages += 1
        for oid in candidates:
            if oid not in extracted:
                continue
            obs = self.objects[oid]
            marking = self.markings[oid]
            pattern = indicator_pattern(obs)
            assert pattern is not None
            ind_id = generated_id("indicator", oid)
            when = stamp(self.created.get(oid))
            self.add({"type": "indicator", "spec_version": "2.1", "id": ind_id,
                      "created": when, "modified": when, "created_by_ref": sm.PRODUCER_ID,
                      "name": str(obs.get("value") or obs.get("name") or oid)[:250],
                      "description": f"The {obs['type']} allsource extracted from the "
                                     "reporting this export holds.",
                      "indicator_types": ["unknown"], "pattern": pattern,
                      "pattern_type": "stix", "pattern_version": "2.1",
                      "valid_from": when, "extensions": {sm.MARKING_EXTENSION_ID: {
                          "extension_type": "property-extension", "observable": oid}}},
                     marking)
            self.add({"type": "relationship", "spec_version": "2.1",
                      "id": generated_id("relationship", ind_id, "related-to", oid),
                      "created": when, "modified": when, "created_by_ref": sm.PRODUCER_ID,
                      "relationship_type": "related-to", "source_ref": ind_id,
                      "target_ref": oid}, marking)

    # -- step 4
    def definitions(self) -> list[dict[str, Any]]:
        used = {ref for o in self.objects.values() for ref in o.get("object_marking_refs", [])}
        out = [sm.producer_identity()]
        ours = {d["id"]: d for m in set(self.markings.values())
                if (d := sm.marking_definition(m)) is not None}
        if ours or any(sm.MARKING_EXTENSION_ID in o.get("extensions", {})
                       for o in self.objects.values()):
            out.append(sm.marking_extension_definition())
        held = self.definitions_held
        out += [sm.TLP2_DEFINITIONS[ref] for ref in sorted(used)
                if ref in sm.TLP2_DEFINITIONS and ref not in held]
        out += [ours[ref] for ref in sorted(ours) if ref in used and ref not in held]
        return out + [held[ref] for ref in sorted(held)]


def _documents(store: SqlStore, conn: sa.Connection, ids: Sequence[str], audience: Audience,
               sel: Selection) -> list[Any]:
    d = t.documents
    rows: list[Any] = []
    for i in range(0, len(ids), PAGE):
        rows += conn.execute(
            sa.select(d.c.id, d.c.kind, d.c.title, d.c.text, d.c.url, d.c.language,
                      d.c.published_at, d.c.collected_at, d.c.source_id, d.c.media_type,
                      d.c.tlp, d.c.classification, d.c.compartments, d.c.releasability)
            .where(d.c.id.in_(ids[i:i + PAGE]), store._readable(d, audience))).all()
        sel.pages += 1
    order = {k: n for n, k in enumerate(ids)}
    return sorted((r for r in rows if can_release(Marking.from_columns(dict(r._mapping)),
                                                  audience)), key=lambda r: order[r.id])


def _as_report(row: Any) -> bool:
    """Documents that came in as STIX travel as their own objects, not as reports."""
    if row.kind == _BUNDLE_KIND:
        return False
    return not (row.media_type or "").startswith(_STIX_MEDIA)


def export_bundle(store: SqlStore, sel: Selection, audience: Audience) -> Export:
    """The STIX 2.1 bundle of ``sel`` for ``audience`` (see the module docstring)."""
    with store.engine.connect() as conn:
        docs = _documents(store, conn, sel.documents, audience, sel)
        mentioned = objects_of(store, [d.id for d in docs], audience, sel)
        ids = list(dict.fromkeys([*sel.objects, *(i for refs in mentioned.values()
                                                  for i in refs)]))
        if len(ids) > MAX_OBJECTS:
            ids, sel.truncated = ids[:MAX_OBJECTS], True
        b = _Builder(store, audience, sel)
        b.stored(conn, ids)
        b.reports(conn, [d for d in docs if _as_report(d)], mentioned)
        b.notes(sel.marking)
        b.indicators(conn)
    objects = b.definitions() + list(b.objects.values())
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    return Export(bundle, b.left_out, sel.pages, sel.truncated)

