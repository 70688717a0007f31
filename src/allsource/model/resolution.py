"""What alias resolution decides, as plain data: resolved entities, the statements that link
their names, and analysts' corrections.

These types are shared by the gazetteer that resolves names (:mod:`allsource.process.gazetteer`)
and by the store that records the statements analysts read and undo
(:mod:`allsource.store.aliases`), so they live below both: the store never imports a stage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from allsource.model.ids import minted_id
from allsource.model.names import alias_key

__all__ = ["ANALYST", "STIX_TYPES", "AliasLink", "AnalystName", "Join", "Overrides", "Pair",
           "ResolvedEntity", "analyst_entry_id"]

#: The STIX type of each entity type (``x-allsource-entity`` for any other).
STIX_TYPES: Mapping[str, str] = {"threat-actor": "intrusion-set", "malware": "malware",
                                 "tool": "tool", "campaign": "campaign", "sector": "identity",
                                 "location": "location"}
#: Source label prefix of what analysts stated ("analyst alice").
ANALYST = "analyst"


@dataclass(frozen=True, slots=True)
class AliasLink:
    """A statement: ``alias`` denotes the entity ``entity_id`` (canonical), per ``source``.

    ``rule`` says why: ``name``/``alias``/``attack-id``/``value`` (the source lists it for its
    record ``member_id``; a ``value`` is a raw form, resolved but never matched),
    ``derived:…`` (shortened from a listed name), ``analyst`` (an analyst added the name),
    ``revoked-by`` (ATT&CK replaced ``member_id`` with ``other_id``), ``deprecated`` (a name
    of a record ATT&CK retired: resolved, never matched), or ``merge:<rule>``
    (``member_id`` was merged with ``other_id`` because of ``alias``; ``merge:analyst``: an
    analyst merged them)."""

    alias: str
    entity_id: str
    source: str
    rule: str
    member_id: str = ""
    other_id: str = ""


@dataclass(frozen=True, slots=True)
class ResolvedEntity:
    id: str
    type: str
    name: str
    aliases: list[str]
    member_ids: list[str]
    links: list[AliasLink]


@dataclass(frozen=True, slots=True)
class AnalystName:
    """A name an analyst placed: an entity of its own when ``join`` is empty (an alias taken away
    from an entity), else a name of the entity ``join`` (an analyst's merge)."""

    id: str
    type: str
    name: str
    source: str
    join: str = ""


def analyst_entry_id(entity_type: str, entity: str, alias: str, kind: str) -> str:
    """The id of an :class:`AnalystName` for ``alias`` split from (``kind="split"``) or added
    to (``"alias"``) the entity ``entity``: the same statement always gives the same id."""
    stix_type = STIX_TYPES.get(entity_type, "x-allsource-entity")
    return minted_id(stix_type, f"{ANALYST}-{kind}:{entity}|{alias_key(alias)}")


Pair = tuple[str, str]
Join = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class Overrides:
    """Analysts' corrections to alias resolution (see the module docstring). Hashable and
    canonical (sorted), so equal corrections give one cache file and one digest; plain JSON
    (:meth:`as_json`) travels to worker processes as a stage option."""

    separate: tuple[Pair, ...] = ()
    #: (member id, alias key)
    withdrawn: tuple[Pair, ...] = ()
    names: tuple[AnalystName, ...] = ()
    #: (canonical entity id, merged entity id, alias as the analyst wrote it, source)
    joins: tuple[Join, ...] = ()

    @classmethod
    def make(cls, separate: Iterable[Iterable[str]] = (), withdrawn: Iterable[Pair] = (),
             names: Iterable[AnalystName] = (), joins: Iterable[Join] = ()) -> Overrides:
        pairs = {tuple(sorted(p)) for p in separate}
        return cls(tuple(sorted((a, b) for a, b in pairs if a != b)),
                   tuple(sorted(set(withdrawn))), tuple(sorted(set(names), key=_name_order)),
                   tuple(sorted(set(joins))))

    @classmethod
    def of(cls, value: Overrides | Iterable[Pair] | None) -> Overrides:
        """``value`` itself, or ``separate`` pairs (the older form) as overrides."""
        if isinstance(value, Overrides):
            return value
        return cls.make(separate=value or ())

    def __bool__(self) -> bool:
        return bool(self.separate or self.withdrawn or self.names or self.joins)

    def as_json(self) -> dict[str, list[list[str]]]:
        return {"separate": [list(p) for p in self.separate],
                "withdrawn": [list(p) for p in self.withdrawn],
                "names": [[n.id, n.type, n.name, n.source, n.join] for n in self.names],
                "joins": [list(j) for j in self.joins]}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any] | None) -> Overrides:
        if not doc:
            return cls()
        return cls.make(
            separate=doc.get("separate", ()),
            withdrawn=[(a, b) for a, b in doc.get("withdrawn", ())],
            names=[AnalystName(*n) for n in doc.get("names", ())],
            joins=[(a, b, c, d) for a, b, c, d in doc.get("joins", ())])

    def digest(self) -> str:
        """A short fingerprint (what the entities stage adds to its version)."""
        return hashlib.sha256(orjson.dumps(self.as_json())).hexdigest()[:12]


def _name_order(name: AnalystName) -> tuple[str, ...]:
    return (name.id, name.join, name.name, name.type, name.source)


