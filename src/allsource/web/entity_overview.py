"""The entity page's overview: what the stored knowledge says about one entity, by name.

An entity page used to print storage: relationships as ``intrusion-set--… targets
location--…`` rows, aliases as a table, every mention at once. This module reads the same
rows and shapes them for a person, as one reader may see them:

* **facts** from the entity's STIX as the reader is shown it
  (:func:`allsource.store.derived.shown_stix` — cut to what identifies the object when the
  reader may not read its first proposal): descriptions, one per source (its own, then the
  linked objects' from ``x_allsource_merged``), external references, aliases, first/last
  seen, sponsor, victims and sectors targeted (MISP galaxy ``meta``);
* **relationships** grouped by type and direction and by the other end's kind, one row per
  other end with its name, how many relationships and readable reports stand behind it, and
  the claim's Admiralty credibility as this reader sees it
  (:mod:`allsource.verify.audience`: the stored figure when they may read all it rests on,
  else recomputed from what they may read). Only relationships visible to the reader whose
  both ends are visible to them are read (:func:`allsource.store.derived.visible`,
  :func:`~allsource.store.derived.ends_visible`), so no hidden name, id or count is shown;
* **techniques**: the ``uses`` ends that are ATT&CK techniques, by tactic, with their
  evidence counts (the matrix);
* **mentions**: the readable documents that mention the entity, a page at a time, with the
  total — counted in SQL over readable evidence only.

Every read is bounded: at most :data:`MAX_RELATIONSHIPS` relationships, claim grades for
those only, and one page of mentions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from allsource.model.markings import Audience, Marking, can_release
from allsource.store import derived
from allsource.store import schema as t
from allsource.store.sql import aware, chunks
from allsource.verify.audience import ReaderGrades, readable_grade
from allsource.verify.evidence import RELATION_PREFIX

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

#: relationships of one entity read for its page (the rest are counted, not listed)
MAX_RELATIONSHIPS = 2000
#: claims whose stored grade the reader may not read, recomputed for one page at most
MAX_REGRADED = 40
MENTIONS_PAGE = 20
#: ATT&CK Enterprise tactics in matrix order
TACTICS = ("reconnaissance", "resource-development", "initial-access", "execution",
           "persistence", "privilege-escalation", "defense-evasion", "credential-access",
           "discovery", "lateral-movement", "collection", "command-and-control",
           "exfiltration", "impact")
#: how the other end of a relationship is called in a group heading
KIND_LABELS = {
    "attack-pattern": "techniques", "malware": "malware", "tool": "tools",
    "intrusion-set": "intrusion sets", "threat-actor": "threat actors",
    "campaign": "campaigns", "location": "places", "identity": "organisations and sectors",
    "vulnerability": "vulnerabilities", "indicator": "indicators",
    "course-of-action": "mitigations", "x-mitre-data-component": "data components",
    "infrastructure": "infrastructure", "report": "reports", "url": "URLs",
    "domain-name": "domains", "ipv4-addr": "IP addresses", "ipv6-addr": "IP addresses",
    "file": "files", "email-addr": "email addresses", "x-mitre-data-source": "data sources"}
CREDIBILITY_MEANINGS = {1: "confirmed", 2: "probably true", 3: "possibly true",
                        4: "doubtful", 5: "improbable", 6: "cannot be judged"}


@dataclass(frozen=True, slots=True)
class Description:
    source: str
    text: str


@dataclass(frozen=True, slots=True)
class Reference:
    source: str
    label: str
    url: str | None  # http(s) only


@dataclass(slots=True)
class Facts:
    descriptions: list[Description] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    first_seen: str | None = None
    last_seen: str | None = None
    sponsor: list[str] = field(default_factory=list)
    victims: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    attack_id: str | None = None


@dataclass(slots=True)
class Link:
    """One other end of a group: its name and what stands behind the link."""

    id: str
    name: str
    type: str
    relationships: int = 0
    reports: int = 0
    credibility: int | None = None
    attack_id: str | None = None
    tactics: tuple[str, ...] = ()

    @property
    def meaning(self) -> str:
        return CREDIBILITY_MEANINGS.get(self.credibility or 0, "not graded")


@dataclass(slots=True)
class Group:
    """Relationships of one type, direction and other-end kind (``uses · malware``;
    incoming: ``campaigns · attributed to APT28``)."""

    label: str
    links: list[Link]

    @property
    def techniques(self) -> bool:
        """Whether every other end is an ATT&CK technique (the matrix shows them too)."""
        return all(link.type == "attack-pattern" for link in self.links)

    @property
    def relationships(self) -> int:
        return sum(link.relationships for link in self.links)


@dataclass(slots=True)
class Relations:
    groups: list[Group]
    techniques: list[Link]
    total: int            # visible relationships, all of them (may exceed what was read)
    linked_ids: set[str]  # every other end shown in a group

    def matrix(self) -> list[tuple[str, list[Link]]]:
        """Techniques by tactic in ATT&CK order (a technique of two tactics is in both);
        techniques without a known tactic come last, under "other"."""
        columns: dict[str, list[Link]] = defaultdict(list)
        for tech in self.techniques:
            for tactic in tech.tactics or ("other",):
                columns[tactic].append(tech)
        order = [x for x in TACTICS if x in columns] + sorted(
            x for x in columns if x not in TACTICS)
        return [(x, sorted(columns[x], key=lambda link: (link.attack_id or "~", link.name)))
                for x in order]


@dataclass(frozen=True, slots=True)
class MentionRow:
    document_id: str
    title: str
    kind: str
    when: datetime | None
    dated: bool  # False: ``when`` is the collection time (the document has no report date)
    source: str
    spans: int


@dataclass(frozen=True, slots=True)
class Mentions:
    rows: list[MentionRow]
    total: int
    page: int
    pages: int


# --- facts ---------------------------------------------------------------------------------

def _web_url(value: object) -> str | None:
    text = str(value or "").strip()
    return text if text.lower().startswith(("http://", "https://")) else None


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int | float) and str(v).strip()]
    return []


def _source_label(stix: Mapping[str, Any]) -> str:
    galaxy = stix.get("x_allsource_misp_galaxy")
    if isinstance(galaxy, dict) and galaxy.get("type"):
        return f"MISP galaxy ({galaxy['type']})"
    for ref in stix.get("external_references") or []:
        if isinstance(ref, dict) and ref.get("source_name") in ("mitre-attack", "mitre-ics-attack",
                                                                 "mitre-mobile-attack"):
            return "MITRE ATT&CK"
    for ref in stix.get("external_references") or []:
        if isinstance(ref, dict) and isinstance(ref.get("source_name"), str):
            return str(ref["source_name"])
    return "collected STIX"


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.casefold().strip()
        if key and key not in seen:
            seen.add(key)
            out.append(item.strip())
    return out


def facts(store: SqlStore, stix: Mapping[str, Any] | None, name: str,
          audience: Audience) -> Facts:
    """What the entity's shown STIX says, in a person's terms. ``stix`` is the STIX the
    reader is shown (already cut for them); descriptions of linked objects are labelled
    by the objects' own source, read only for objects visible to the reader."""
    out = Facts()
    if not stix:
        return out
    merged = _mapping(stix.get("x_allsource_merged"))
    if isinstance(stix.get("description"), str) and stix["description"].strip():
        out.descriptions.append(Description(_source_label(stix), stix["description"]))
    member_ids = [str(d.get("object_id")) for d in merged.get("descriptions") or []
                  if isinstance(d, dict)] + [str(x) for x in merged.get("objects") or []]
    members = _members(store, member_ids, audience)
    labels = {k: _source_label(v) for k, v in members.items()}
    for d in merged.get("descriptions") or []:
        if (isinstance(d, dict) and isinstance(d.get("description"), str)
                and str(d.get("object_id")) in labels):
            out.descriptions.append(Description(labels[str(d["object_id"])],
                                                d["description"]))
    seen_urls: set[str] = set()
    for ref in [*(stix.get("external_references") or []),
                *(merged.get("external_references") or [])]:
        if not isinstance(ref, dict):
            continue
        url = _web_url(ref.get("url"))
        if ref.get("source_name") in ("mitre-attack", "mitre-ics-attack",
                                      "mitre-mobile-attack") and ref.get("external_id"):
            out.attack_id = out.attack_id or str(ref["external_id"])
        if url in seen_urls:
            continue
        if url:
            seen_urls.add(url)
        label = str(ref.get("external_id") or ref.get("description") or url or "")
        if label:
            out.references.append(Reference(str(ref.get("source_name") or ""), label, url))
    # the entity's own MISP galaxy meta, then that of the linked objects the reader may see
    metas = [_mapping(stix.get("x_allsource_misp_meta")),
             *(_mapping(m.get("x_allsource_misp_meta")) for m in members.values())]
    meta = {k: [x for one in metas for x in _strings(one.get(k))]
            for k in ("refs", "cfr-suspected-state-sponsor", "cfr-suspected-victims",
                      "cfr-target-category", "target-category")}
    for ref in _strings(meta.get("refs")):
        url = _web_url(ref)
        if url and url not in seen_urls:
            seen_urls.add(url)
            out.references.append(Reference("MISP galaxy", url, url))
    out.aliases = [a for a in _dedupe([*_strings(stix.get("aliases")),
                                       *_strings(stix.get("x_mitre_aliases")),
                                       *_strings(merged.get("names"))])
                   if a.casefold() != name.casefold()]
    firsts = [x for x in (stix.get("first_seen"), merged.get("first_seen")) if isinstance(x, str)]
    lasts = [x for x in (stix.get("last_seen"), merged.get("last_seen")) if isinstance(x, str)]
    out.first_seen = min(firsts) if firsts else None
    out.last_seen = max(lasts) if lasts else None
    out.sponsor = _dedupe([*_strings(meta.get("cfr-suspected-state-sponsor")),
                           *_strings(stix.get("x_allsource_sponsor"))])
    out.victims = _dedupe(_strings(meta.get("cfr-suspected-victims")))
    out.sectors = _dedupe([*_strings(meta.get("cfr-target-category")),
                           *_strings(meta.get("target-category"))])
    return out


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _members(store: SqlStore, ids: Sequence[str], audience: Audience
             ) -> dict[str, Mapping[str, Any]]:
    """The STIX, as shown to the reader, of the linked objects among ``ids`` they may see."""
    if not ids:
        return {}
    o = t.objects
    out: dict[str, Mapping[str, Any]] = {}
    with store.engine.connect() as conn:
        for part in chunks(sorted(set(ids))):
            rows = conn.execute(sa.select(o.c.id, o.c.stix, *_marks(o))
                                .where(o.c.id.in_(list(part)),
                                       derived.visible(store, o, audience))).all()
            shown = derived.visible_ids(store, conn, o, [r.id for r in rows], audience)
            for r in rows:
                if r.id in shown and isinstance(r.stix, dict):
                    out[r.id] = derived.shown_stix(
                        r.stix, Marking.from_columns(dict(r._mapping)), audience) or {}
    return out


def _marks(table: Any) -> list[Any]:
    return [table.c.tlp, table.c.classification, table.c.compartments, table.c.releasability]


# --- relationships -------------------------------------------------------------------------

def relations(store: SqlStore, entity_id: str, entity_name: str,
              audience: Audience) -> Relations:
    """The entity's relationships as this reader may see them, grouped (see the module
    docstring)."""
    r = t.relationships
    touches = sa.or_(r.c.source_ref == entity_id, r.c.target_ref == entity_id)
    shown_rel = sa.and_(touches, derived.visible(store, r, audience),
                        derived.ends_visible(store, r, audience))
    with store.engine.connect() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(r).where(shown_rel)
                                 ).scalar_one())
        rows = conn.execute(sa.select(r.c.id, r.c.relationship_type, r.c.source_ref,
                                      r.c.target_ref).where(shown_rel)
                            .order_by(r.c.id).limit(MAX_RELATIONSHIPS)).all()
        keep = derived.visible_ids(store, conn, r, [x.id for x in rows], audience)
        rows = [x for x in rows if x.id in keep]
        others = {x.target_ref if x.source_ref == entity_id else x.source_ref for x in rows}
        others.discard(entity_id)
        ends = _visible_objects(store, conn, sorted(others), audience)
        reports = _report_counts(store, conn, [x.id for x in rows], audience)
        grades = _credibility(store, conn, [_claim_key(x) for x in rows], audience)
    groups: dict[str, dict[str, Link]] = defaultdict(dict)
    techniques: dict[str, Link] = {}
    for x in rows:
        outgoing = x.source_ref == entity_id
        other = x.target_ref if outgoing else x.source_ref
        if other == entity_id or other not in ends:
            continue
        end = ends[other]
        kind = KIND_LABELS.get(end["type"], end["type"].replace("-", " "))
        verb = x.relationship_type.replace("-", " ")
        label = f"{verb} · {kind}" if outgoing else f"{kind} · {verb} {entity_name}"
        link = groups[label].get(other)
        if link is None:
            link = groups[label][other] = Link(other, end["name"], end["type"],
                                               attack_id=end["attack_id"],
                                               tactics=end["tactics"])
        link.relationships += 1
        link.reports += reports.get(x.id, 0)
        cred = grades.get(_claim_key(x))
        if cred is not None:
            link.credibility = cred if link.credibility is None else min(link.credibility, cred)
        if outgoing and x.relationship_type == "uses" and end["type"] == "attack-pattern":
            techniques[other] = link
    ordered = [Group(label, sorted(links.values(), key=lambda k: (-k.reports, k.name.casefold())))
               for label, links in groups.items()]
    ordered.sort(key=lambda g: (-len(g.links), g.label))
    linked = {link.id for g in ordered for link in g.links}
    return Relations(ordered, list(techniques.values()), total, linked)


def _claim_key(row: Any) -> str:
    return f"{RELATION_PREFIX}{row.relationship_type}:{row.source_ref}:{row.target_ref}"


def _visible_objects(store: SqlStore, conn: sa.Connection, ids: Sequence[str],
                     audience: Audience) -> dict[str, dict[str, Any]]:
    """id → name, type, ATT&CK id and tactics of the objects among ``ids`` the reader may
    see (their STIX as shown to the reader)."""
    o = t.objects
    out: dict[str, dict[str, Any]] = {}
    for part in chunks(list(ids)):
        rows = conn.execute(sa.select(o.c.id, o.c.type, o.c.name, o.c.stix, *_marks(o))
                            .where(o.c.id.in_(list(part)),
                                   derived.visible(store, o, audience))).all()
        shown = derived.visible_ids(store, conn, o, [x.id for x in rows], audience)
        for x in rows:
            if x.id not in shown:
                continue
            stix = derived.shown_stix(x.stix if isinstance(x.stix, dict) else {},
                                      Marking.from_columns(dict(x._mapping)), audience) or {}
            out[x.id] = {"type": x.type, "name": x.name, "attack_id": _attack_id(stix),
                         "tactics": tuple(
                             str(p.get("phase_name")) for p in stix.get("kill_chain_phases") or []
                             if isinstance(p, dict) and p.get("phase_name"))}
    return out


def _attack_id(stix: Mapping[str, Any]) -> str | None:
    for ref in stix.get("external_references") or []:
        if isinstance(ref, dict) and str(ref.get("source_name", "")).startswith("mitre-") \
                and ref.get("external_id"):
            return str(ref["external_id"])
    return None


def _report_counts(store: SqlStore, conn: sa.Connection, rel_ids: Sequence[str],
                   audience: Audience) -> dict[str, int]:
    """Relationship id → readable documents that report it (its readable mentions)."""
    m, d = t.mentions, t.documents
    out: dict[str, int] = {}
    for part in chunks(list(rel_ids)):
        rows = conn.execute(
            sa.select(m.c.object_id, m.c.document_id, *derived.evidence_columns())
            .join(d, d.c.id == m.c.document_id)
            .where(m.c.object_id.in_(list(part)), derived.readable_evidence(store, audience)))
        seen: set[tuple[str, str]] = set()
        for row in rows:
            if (row.object_id, row.document_id) in seen or not derived.evidence_ok(row, audience):
                continue
            seen.add((row.object_id, row.document_id))
            out[row.object_id] = out.get(row.object_id, 0) + 1
    return out


def _credibility(store: SqlStore, conn: sa.Connection, keys: Sequence[str],
                 audience: Audience) -> dict[str, int]:
    """Claim key → Admiralty credibility as the reader sees it: the stored claim grade
    where they may read all it rests on (the most independently reported event and value,
    as :meth:`ReaderGrades.claim_credibility` picks), else recomputed from what they may
    read — for at most :data:`MAX_REGRADED` keys (the others show no figure)."""
    g = t.claim_grades
    best: dict[str, tuple[int, int]] = {}
    hidden: list[str] = []
    for part in chunks(sorted(set(keys))):
        for row in conn.execute(sa.select(g.c.key, g.c.credibility, g.c.independent,
                                          *_marks(g)).where(g.c.key.in_(list(part)))):
            if not readable_grade(row, audience):
                hidden.append(row.key)
                continue
            rank = (-int(row.independent), int(row.credibility))
            if row.key not in best or rank < best[row.key]:
                best[row.key] = rank
    out = {k: cred for k, (_, cred) in best.items()}
    regrade = ReaderGrades(store, conn, audience)
    for key in sorted(set(hidden) - set(out))[:MAX_REGRADED]:
        found = regrade.claim_credibility(key, None)
        if found is not None:
            out[key] = found
    # a key with a readable and a hidden row: the reader's figure is the recomputed one
    for key in sorted(set(hidden) & set(best))[:MAX_REGRADED]:
        found = regrade.claim_credibility(key, None)
        if found is None:
            out.pop(key, None)
        else:
            out[key] = found
    return out


# --- mentions ------------------------------------------------------------------------------

def mentions(store: SqlStore, entity_id: str, audience: Audience,
             page: int = 1, size: int = MENTIONS_PAGE) -> Mentions:
    """One page of the readable documents mentioning the entity, newest first, with the
    number of readable mentions (spans) in each, and the total of such documents."""
    m, d = t.mentions, t.documents
    ok = sa.and_(m.c.object_id == entity_id, derived.readable_evidence(store, audience))
    when = sa.func.coalesce(d.c.published_at, d.c.collected_at)
    with store.engine.connect() as conn:
        total = int(conn.execute(
            sa.select(sa.func.count(sa.distinct(m.c.document_id)))
            .select_from(m.join(d, d.c.id == m.c.document_id)).where(ok)).scalar_one())
        pages = max(1, -(-total // size))
        page = min(max(1, page), pages)
        spans = sa.func.count(sa.distinct(m.c.span_start)).label("spans")
        rows = conn.execute(
            sa.select(d.c.id, d.c.title, d.c.kind, d.c.published_at, d.c.collected_at,
                      d.c.source_id, spans)
            .select_from(m.join(d, d.c.id == m.c.document_id)).where(ok)
            .group_by(d.c.id, d.c.title, d.c.kind, d.c.published_at, d.c.collected_at,
                      d.c.source_id)
            .order_by(when.desc(), d.c.id).limit(size).offset((page - 1) * size)).all()
        names = _source_names(conn, store, audience)
    out = [MentionRow(r.id, r.title or "", r.kind,
                      aware(r.published_at or r.collected_at), r.published_at is not None,
                      names.get(r.source_id, ""), int(r.spans)) for r in rows]
    return Mentions(out, total, page, pages)


def _source_names(conn: sa.Connection, store: SqlStore, audience: Audience) -> dict[str, str]:
    s = t.sources
    return {r.id: r.name for r in conn.execute(
        sa.select(s.c.id, s.c.name, *_marks(s)).where(store._readable(s, audience)))
        if can_release(Marking.from_columns(dict(r._mapping)), audience)}
