"""STIX data markings → our :class:`~allsource.model.markings.Marking`.

A STIX object names its handling markings by reference (``object_marking_refs``). A reference
is resolved to a TLP level in this order:

1. a well-known marking-definition id — the four TLP 1.0 definitions that STIX 2.1 predefines
   (the ``TLP_WHITE/GREEN/AMBER/RED`` constants of the ``stix2`` library) and the five TLP 2.0
   definitions published with the OASIS TLP 2.0 extension (CLEAR, GREEN, AMBER, AMBER+STRICT,
   RED). A well-known id wins over whatever a bundle says it means;
2. a marking-definition object of the same bundle (or TAXII collection): the TLP 2.0 extension
   property ``tlp_2_0``, a ``definition_type`` of ``"tlp"`` with ``definition.tlp``, or a name
   such as ``"TLP:AMBER"``;
3. anything else — statement markings (copyright, terms of use), unknown ids — says nothing
   about TLP and is ignored.

The object gets the *most restrictive* TLP among its references. Other dimensions of the
marking (classification, compartments, releasability) are not expressed in STIX, so they come
from the default (the source's marking); an object with no TLP reference gets the default as is.

Granular markings mark parts of an object, but we store, index and release whole objects, so
:func:`marking_refs` counts their references as if they marked the whole object: a TLP:RED
description inside an otherwise unmarked indicator makes the indicator TLP:RED. That errs on
the restrictive side and never releases a marked part to a reader who may not see it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from allsource.model.markings import TLP, Marking

__all__ = ["TLP1_DEFINITIONS", "TLP1_IDS", "TLP2_EXTENSION_ID", "TLP2_IDS", "TLP_IDS",
           "marking_from_refs", "marking_refs", "tlp1_definition", "tlp_of_definition",
           "tlp_of_ref"]

#: STIX 2.1 predefined TLP 1.0 marking definitions (section 7.2.1.4), by id.
TLP1_IDS: dict[str, TLP] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": TLP.CLEAR,  # TLP:WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": TLP.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": TLP.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": TLP.RED,
}
#: TLP 2.0 marking definitions of the OASIS TLP 2.0 extension, by id.
TLP2_IDS: dict[str, TLP] = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": TLP.CLEAR,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": TLP.GREEN,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": TLP.AMBER,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": TLP.AMBER_STRICT,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": TLP.RED,
}
TLP_IDS: dict[str, TLP] = {**TLP1_IDS, **TLP2_IDS}
TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

_TLP1_COLOURS = {TLP.CLEAR: "white", TLP.GREEN: "green", TLP.AMBER: "amber", TLP.RED: "red"}
#: The canonical STIX 2.1 form of each predefined TLP 1.0 definition (what ``stix2`` emits).
TLP1_DEFINITIONS: dict[str, dict[str, Any]] = {
    ref: {"type": "marking-definition", "spec_version": "2.1", "id": ref,
          "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp",
          "name": "TLP:" + _TLP1_COLOURS[tlp].upper(),
          "definition": {"tlp": _TLP1_COLOURS[tlp]}}
    for ref, tlp in TLP1_IDS.items()
}

_TLP_NAME = re.compile(r"^\s*TLP\s*:\s*(\S.*?)\s*$", re.IGNORECASE)


def _parse(text: object) -> TLP | None:
    if not isinstance(text, str):
        return None
    try:
        return TLP.parse(text)
    except ValueError:
        return None


def tlp_of_definition(definition: Mapping[str, Any]) -> TLP | None:
    """The TLP level a marking-definition object expresses, or ``None`` (e.g. a statement)."""
    known = TLP_IDS.get(str(definition.get("id", "")))
    if known is not None:
        return known
    extensions = definition.get("extensions")
    if isinstance(extensions, Mapping):
        ext = extensions.get(TLP2_EXTENSION_ID)
        if isinstance(ext, Mapping) and (level := _parse(ext.get("tlp_2_0"))) is not None:
            return level
    body = definition.get("definition")
    if (definition.get("definition_type") == "tlp" and isinstance(body, Mapping)
            and (level := _parse(body.get("tlp"))) is not None):
        return level
    name = definition.get("name")
    match = _TLP_NAME.match(name) if isinstance(name, str) else None
    return _parse(match.group(1)) if match else None


def tlp_of_ref(ref: str, definitions: Mapping[str, Mapping[str, Any]]) -> TLP | None:
    """The TLP level of one marking reference, using ``definitions`` (id → object) for
    references that are not well-known."""
    known = TLP_IDS.get(ref)
    if known is not None:
        return known
    definition = definitions.get(ref)
    return tlp_of_definition(definition) if definition is not None else None


def marking_refs(obj: Mapping[str, Any]) -> list[str]:
    """Every marking-definition id an object refers to: ``object_marking_refs`` and the
    ``marking_ref`` of each granular marking (applied to the whole object, see above)."""
    refs = obj.get("object_marking_refs")
    found = [r for r in refs if isinstance(r, str)] if isinstance(refs, list) else []
    granular = obj.get("granular_markings")
    for item in granular if isinstance(granular, list) else ():
        if isinstance(item, Mapping) and isinstance(item.get("marking_ref"), str):
            found.append(item["marking_ref"])
    return found


def marking_from_refs(refs: Iterable[object] | None,
                      definitions: Mapping[str, Mapping[str, Any]],
                      default: Marking) -> Marking:
    """Our marking for an object with ``object_marking_refs`` = ``refs``.

    The most restrictive TLP among the references replaces the default's TLP; with no TLP
    reference at all (none, only statements, only unknown ids) the default applies unchanged.
    """
    levels = [level for ref in refs or () if isinstance(ref, str)
              and (level := tlp_of_ref(ref, definitions)) is not None]
    if not levels:
        return default
    return replace(default, tlp=max(levels))


def tlp1_definition(ref: str) -> dict[str, Any] | None:
    """A fresh copy of the canonical STIX 2.1 object for a predefined TLP 1.0 id, else ``None``."""
    found = TLP1_DEFINITIONS.get(ref)
    if found is None:
        return None
    return {**found, "definition": dict(found["definition"])}
