"""Entity resolution of collected objects: every actor, malware, tool and campaign a collector
stored is joined to the one canonical entity it denotes.

The gazetteer (:mod:`allsource.process.gazetteer`) already resolves *names* across ATT&CK and
the MISP galaxies, and the entities stage maps every mention to the canonical entity. What
collectors store is another matter: ATT&CK's APT1, the MISP galaxy's APT1, a MISP event's
galaxy tag "APT1 - G0006" and a partner's STIX "APT1" arrive as four objects with four ids.
:func:`decide` links each collected object to a canonical entity by the first rule that
holds, strongest evidence first:

1. ``member`` — its id is a record the gazetteer resolved into an entity with another id
   (the galaxy's APT28 into ATT&CK's; a revoked ATT&CK object into its replacement);
   An ATT&CK object deprecated without a replacement (``retired``) joins the one live
   entity of its kind and name, if there is one (the MISP galaxy's CostaRicto);
2. ``attack-id`` — it carries an ATT&CK id (a ``mitre-attack`` external reference, or a
   "Name - G0006" suffix as MISP's ATT&CK galaxies write it) that one entity of its kind has;
3. ``name`` — its name (or the name before such a suffix) is a listed name or alias of
   exactly one gazetteer entity *of its kind* (actors with actors, malware and tools with
   software, campaigns with campaigns), so "Turla" the malware never joins Turla the group;
4. ``same-name`` — objects no gazetteer entity claims, of one kind and one name key
   ("Mimikatz"/"mimikatz"), join the oldest of them;
5. ``place`` — a ``location`` that is not a GeoNames place (a partner's STIX location, or a
   country an older entities stage made from the MISP galaxy) joins the GeoNames place its
   whole name resolves to (:func:`place_links`), within the country it states, if any.

Names that are ambiguous within a kind, generic ("Unknown", "RAT") or shorter than three
characters link nothing. A pair an analyst took back (``allsource aliases undo``) is never
linked again. :func:`link_collected` stores the decisions (:mod:`allsource.store.links`:
statements with their evidence, ``canonical_id``, relationships and mentions moved onto the
canonical entity), releases links no rule supports any more, creates a canonical entity that
no collector stored, and gives each canonical entity the union of what its linked objects say
(``x_allsource_merged``: names, external references, descriptions, first/last seen) — only
from objects whose marking is no stricter than the entity's own, so a TLP:RED partner object
adds nothing a CLEAR reader of the entity would see.

It runs at the end of ``allsource process`` whenever the pipeline has the entities stage,
also when no document was due, so processing an existing store applies it to what is already
stored. Cost: one pass over the stored entity objects (thousands, not the documents).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from allsource.model.records import StixObject
from allsource.model.resolution import ResolvedEntity
from allsource.process.aliases import GENERIC, alias_key
from allsource.process.entities import Gazetteer, entity_object
from allsource.process.gazetteer import KINDS
from allsource.process.geocode import Geocoder
from allsource.process.stages.places import location_object
from allsource.store import links as store_links
from allsource.store.links import Candidate, Link

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["KIND_OF_TYPE", "LinkResult", "attack_ids", "decide", "link_collected", "link_store",
           "merged", "place_links"]

#: STIX types of collected entity objects → the gazetteer kind they may join.
KIND_OF_TYPE: Mapping[str, str] = {"intrusion-set": "actor", "threat-actor": "actor",
                                   "malware": "software", "tool": "software",
                                   "campaign": "campaign"}
_ATTACK_SUFFIX = re.compile(r"^(?P<name>.+?)\s+[-–]\s+(?P<id>[GSC]\d{4})\s*$")
_ATTACK_ID = re.compile(r"^[GSC]\d{4}$")
#: Link rules whose names are matched against gazetteer entities (derived forms are not).
_NAME_RULES = frozenset({"name", "alias", "attack-id", "value", "analyst"})
_MAX_MERGED = 200


@dataclass(slots=True)
class LinkResult:
    linked: int = 0
    moved: int = 0
    released: int = 0
    created: int = 0
    merged: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"linked": self.linked, "changed": self.moved, "released": self.released,
                "created": self.created, "merged_views": self.merged,
                "by_rule": dict(sorted(self.by_rule.items()))}


def attack_ids(stix: Mapping[str, Any], name: str) -> list[str]:
    """ATT&CK ids an object carries: its ``mitre-attack`` external references, or the
    suffix of a "Name - G0006" name."""
    found = [str(ref.get("external_id")) for ref in stix.get("external_references") or []
             if isinstance(ref, dict) and ref.get("source_name") == "mitre-attack"
             and _ATTACK_ID.match(str(ref.get("external_id") or ""))]
    suffix = _ATTACK_SUFFIX.match(name)
    if suffix:
        found.append(suffix.group("id"))
    return list(dict.fromkeys(found))


class _Index:
    """The gazetteer's entities by member id and by (kind, listed-name key)."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.canonical = {e.id for e in gazetteer.entities}
        self.member: dict[str, ResolvedEntity] = {}
        self.names: dict[tuple[str, str], dict[str, ResolvedEntity]] = defaultdict(dict)
        self.primary: dict[tuple[str, str], dict[str, ResolvedEntity]] = defaultdict(dict)
        for entity in gazetteer.entities:
            kind = KINDS.get(entity.type)
            for member in entity.member_ids:
                self.member[member] = entity
            if kind is None or all(x.rule == "deprecated" for x in entity.links):
                continue  # a retired ATT&CK object names nothing live
            self.primary[(kind, alias_key(entity.name))][entity.id] = entity
            for x in entity.links:
                if x.rule in _NAME_RULES:
                    self.names[(kind, alias_key(x.alias))][entity.id] = entity

    def by_name(self, kind: str, name: str, besides: str = "") -> ResolvedEntity | None:
        """The one entity of ``kind`` (other than ``besides``) whose canonical name this is,
        else the one entity of ``kind`` listing it at all; ``None`` when ambiguous."""
        key = (kind, alias_key(name))
        for table in (self.primary, self.names):
            found = {i: e for i, e in table.get(key, {}).items() if i != besides}
            if found:
                return next(iter(found.values())) if len(found) == 1 else None
        return None


def _usable(name: str) -> bool:
    key = alias_key(name)
    return len(key) >= 3 and key not in GENERIC and not key.replace(" ", "").isdigit()


def decide(candidates: Sequence[Candidate], gazetteer: Gazetteer,
           refused: Iterable[tuple[str, str]] = ()) -> list[Link]:
    """The link of every candidate that denotes another entity (rules in the module
    docstring); canonical entities and objects no rule links are left out."""
    index = _Index(gazetteer)
    never = set(refused)
    links: list[Link] = []
    unclaimed: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for c in candidates:
        kind = KIND_OF_TYPE.get(c.type)
        if kind is None or (c.id in index.canonical and not _retired(c.stix)):
            continue
        found = _gazetteer_link(c, kind, index)
        if found is not None:
            entity, rule, evidence = found
            if (c.id, entity.id) not in never:
                links.append(Link(c.id, c.name, entity.id, entity.name, entity.type, rule,
                                  evidence))
            continue
        if _usable(c.name):
            unclaimed[(kind, alias_key(c.name))].append(c)
    for group in unclaimed.values():
        if len(group) < 2:
            continue
        head = group[0]  # candidates come oldest first
        for c in group[1:]:
            if (c.id, head.id) not in never:
                links.append(Link(c.id, c.name, head.id, head.name, _entity_type(head),
                                  "same-name", f"collected {c.type} named {c.name!r}, like "
                                  f"the {head.type} {head.name!r} first stored"))
    return links


def _retired(stix: Mapping[str, Any]) -> bool:
    return bool(stix.get("x_mitre_deprecated") or stix.get("revoked"))


def _entity_type(c: Candidate) -> str:
    return {"intrusion-set": "threat-actor"}.get(c.type, c.type)


def _gazetteer_link(c: Candidate, kind: str, index: _Index
                    ) -> tuple[ResolvedEntity, str, str] | None:
    member = index.member.get(c.id)
    if member is not None and member.id != c.id:
        return member, "member", f"the gazetteer resolves record {c.id} into {member.name}"
    if member is not None and _retired(c.stix):
        # ATT&CK deprecated it without a replacement: the one live entity of its kind and
        # name (the MISP galaxy's, say) is where its reporting now belongs
        live = index.by_name(kind, c.name, besides=c.id)
        if live is not None:
            return live, "retired", (f"ATT&CK retired {c.type} {c.name!r}; {live.name} is "
                                     f"the one live {kind} of that name")
        return None
    for attack_id in attack_ids(c.stix, c.name):
        entity = index.by_name(kind, attack_id)
        if entity is not None:
            return entity, "attack-id", f"ATT&CK id {attack_id} on collected {c.type} {c.name!r}"
    suffix = _ATTACK_SUFFIX.match(c.name)
    for name in (c.name, suffix.group("name") if suffix else ""):
        if name and _usable(name):
            entity = index.by_name(kind, name)
            if entity is not None:
                return entity, "name", (f"collected {c.type} {c.name!r} is a listed name of "
                                        f"one {kind} entity only")
    return None


def merged(canonical: Candidate, members: Sequence[Candidate]) -> dict[str, Any]:
    """What the linked ``members`` add to the ``canonical`` entity: names, external
    references, descriptions, first/last seen and their ids — from members whose marking is
    no stricter than the entity's (the rest are linked, but add nothing visible)."""
    own = canonical.stix
    visible = [m for m in members if m.marking.combine(canonical.marking) == canonical.marking]
    if not visible:
        return {}
    known = {alias_key(canonical.name)} | {
        alias_key(a) for a in (own.get("aliases") or []) + (own.get("x_mitre_aliases") or [])
        if isinstance(a, str)}
    names: list[str] = []
    refs: list[dict[str, Any]] = []
    seen_refs = {_ref_key(r) for r in own.get("external_references") or [] if isinstance(r, dict)}
    descriptions: list[dict[str, str]] = []
    first: list[str] = []
    last: list[str] = []
    for m in visible:
        suffix = _ATTACK_SUFFIX.match(m.name)
        for name in [suffix.group("name") if suffix else m.name,
                     *(a for a in m.stix.get("aliases") or [] if isinstance(a, str))]:
            if _usable(name) and alias_key(name) not in known:
                known.add(alias_key(name))
                names.append(name)
        for ref in m.stix.get("external_references") or []:
            if isinstance(ref, dict) and _ref_key(ref) not in seen_refs:
                seen_refs.add(_ref_key(ref))
                refs.append({k: v for k, v in ref.items()
                             if k in ("source_name", "external_id", "url", "description")})
        text = m.stix.get("description")
        if isinstance(text, str) and text.strip() and text != own.get("description"):
            descriptions.append({"object_id": m.id, "description": text[:4000]})
        for key, bucket in (("first_seen", first), ("last_seen", last)):
            if isinstance(m.stix.get(key), str):
                bucket.append(m.stix[key])
    out: dict[str, Any] = {"objects": [m.id for m in visible][:_MAX_MERGED]}
    if names:
        out["names"] = names[:_MAX_MERGED]
    if refs:
        out["external_references"] = refs[:_MAX_MERGED]
    if descriptions:
        out["descriptions"] = descriptions[:20]
    if first:
        out["first_seen"] = min(first)
    if last:
        out["last_seen"] = max(last)
    return out


def _ref_key(ref: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(ref.get("source_name") or ""), str(ref.get("external_id") or ""),
            str(ref.get("url") or ""))


def place_links(candidates: Sequence[Candidate], geocoder: Geocoder,
                refused: Iterable[tuple[str, str]] = ()) -> tuple[list[Link], list[StixObject]]:
    """Links of ``location`` objects that are not GeoNames places (a collector's, or an
    entities-stage location of an older store) to the GeoNames place their whole name
    resolves to — when the object states a country, only a place in it — and the place
    objects to create (rule ``place``)."""
    never = set(refused)
    links: list[Link] = []
    places: dict[str, StixObject] = {}
    for c in candidates:
        if c.type != "location" or c.stix.get("x_allsource_geonameid") or not _usable(c.name):
            continue
        found = geocoder.find(c.name.strip())
        if len(found) != 1 or (found[0].start, found[0].end) != (0, len(c.name.strip())):
            continue
        place = found[0]
        country = str(c.stix.get("country") or "").upper()
        if country and country != place.country_code:
            continue
        obj = location_object(place)
        if obj.id == c.id or (c.id, obj.id) in never:
            continue
        places[obj.id] = obj
        links.append(Link(c.id, c.name, obj.id, place.name, "location", "place",
                          f"location {c.name!r} is the GeoNames {place.kind} {place.name} "
                          f"({place.country_code}, geonameid {place.geonameid})"))
    return links, list(places.values())


def link_collected(store: SqlStore, gazetteer: Gazetteer,
                   geocoder: Geocoder | None = None) -> LinkResult:
    """Decide, store and apply the links of every stored entity object (see the module
    docstring); with a ``geocoder``, locations join their GeoNames place too. Idempotent: a
    second pass with nothing new changes nothing."""
    result = LinkResult()
    pool = store_links.candidates(store, KIND_OF_TYPE)
    refused = store_links.refused(store)
    links = decide(pool, gazetteer, refused)
    created: list[StixObject] = []
    if geocoder is not None:
        locations = store_links.candidates(store, ["location"])
        more, created = place_links(locations, geocoder, refused)
        links += more
        pool += locations
    chosen = {x.object_id: x.entity_id for x in links}
    stored = {c.id for c in pool}
    stale = [oid for oid, to in store_links.linked(store).items()
             if oid in stored and chosen.get(oid) != to]
    result.released = store_links.release(store, stale)
    by_id = {e.id: e for e in gazetteer.entities}
    missing = sorted({x.entity_id for x in links if x.entity_id not in stored})
    result.created = store_links.ensure_objects(
        store, [entity_object(by_id[i]) for i in missing if i in by_id]
        + [x for x in created if x.id in missing])
    result.moved = store_links.link(store, links)
    result.linked = len(links)
    for x in links:
        result.by_rule[x.rule] = result.by_rule.get(x.rule, 0) + 1
    store_links.settle(store)  # relationships and mentions follow, new ones and old
    result.merged = _merge_views(store)
    return result


def link_store(store: SqlStore) -> LinkResult:
    """:func:`link_collected` with the gazetteer as the store's analysts left it (their alias
    statements applied; the gazetteer's own statements recorded on the way)."""
    from allsource.process.entities import store_gazetteer
    from allsource.process.geocode import default_geocoder

    return link_collected(store, store_gazetteer(store)[0], default_geocoder())


def _merge_views(store: SqlStore) -> int:
    pool = {c.id: c for c in store_links.candidates(store, KIND_OF_TYPE)}
    members: dict[str, list[Candidate]] = defaultdict(list)
    for c in pool.values():
        if c.canonical_id:
            members[c.canonical_id].append(c)
    views = {cid: merged(pool[cid], group) for cid, group in members.items() if cid in pool}
    # entities whose last link was released lose their merged view
    views.update({cid: {} for cid, c in pool.items()
                  if cid not in views and "x_allsource_merged" in c.stix})
    return store_links.set_merged(store, views)
