"""MISP markings: ``tlp:*`` tags and ``distribution`` as a :class:`Marking`.

* TLP: the ``tlp:*`` tags of an event, object or attribute (TLP 1.0 ``white`` reads as CLEAR;
  the most restrictive wins if there are several). An event without one takes the source
  default's TLP.
* Releasability from ``distribution``: 0 ``organisation``, 1 ``community``,
  2 ``connected-communities``, 3 (all communities) none, 4 ``sharing-group:<name or id>``,
  5 inherit. An event without one keeps the source default's.
* An object's or attribute's own marking is combined with its parent's
  (:meth:`Marking.combine`): never less restrictive than the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from allsource.model.markings import TLP, Marking

_DISTRIBUTION = {"0": "organisation", "1": "community", "2": "connected-communities"}


def tag_names(container: Mapping[str, Any]) -> list[str]:
    tags = container.get("Tag")
    if not isinstance(tags, list):
        return []
    names = (t.get("name") if isinstance(t, Mapping) else t for t in tags)
    return [n.strip() for n in names if isinstance(n, str) and n.strip()]


def _tlp(tags: list[str]) -> TLP | None:
    levels: list[TLP] = []
    for tag in tags:
        if tag.lower().startswith("tlp:"):
            try:
                levels.append(TLP.parse(tag))
            except ValueError:
                continue
    return max(levels, default=None)


def _releasability(item: Mapping[str, Any]) -> frozenset[str] | None:
    """Releasability from MISP ``distribution``; ``None`` when absent or inherited."""
    dist = str(item.get("distribution", "")).strip()
    if dist in _DISTRIBUTION:
        return frozenset({_DISTRIBUTION[dist]})
    if dist == "3":
        return frozenset()
    if dist == "4":
        group = item.get("SharingGroup")
        name = group.get("name") if isinstance(group, Mapping) else None
        return frozenset({f"sharing-group:{name or item.get('sharing_group_id') or 'unknown'}"})
    return None


def event_marking(event: Mapping[str, Any], default: Marking) -> Marking:
    """The event's marking: its TLP tag and distribution, else the source default's."""
    rel, tlp = _releasability(event), _tlp(tag_names(event))
    return Marking(tlp=default.tlp if tlp is None else tlp,  # TLP.CLEAR is falsy
                   classification=default.classification, compartments=default.compartments,
                   releasability=default.releasability if rel is None else rel)


def element_marking(element: Mapping[str, Any], parent: Marking) -> Marking:
    """An object's or attribute's own TLP tag and distribution, combined with its parent's."""
    rel, tlp = _releasability(element), _tlp(tag_names(element))
    own = Marking(tlp=TLP.CLEAR if tlp is None else tlp,
                  releasability=frozenset() if rel is None else rel)
    return own.combine(parent)
