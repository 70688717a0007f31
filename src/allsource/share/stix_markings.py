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

The object gets the *most restrictive* TLP among its references. The other dimensions of the
marking (classification, compartments, releasability) have no STIX vocabulary, so allsource
writes them as a marking definition carrying its own registered extension
(:data:`MARKING_EXTENSION_ID`, a property extension of ``marking-definition``, defined by
:func:`marking_extension_definition`; the TLP 2.0 extension works the same way). A reference
to such a definition is combined with the default (the source's marking): classification the
higher, compartments the union, releasability the intersection
(:meth:`~allsource.model.markings.Marking.combine`), so what allsource exported comes back
with the marking it left with, and a partner's definition can only restrict. An object with
no reference that says anything gets the default as is.

Granular markings mark parts of an object, but we store, index and release whole objects, so
:func:`marking_refs` counts their references as if they marked the whole object: a TLP:RED
description inside an otherwise unmarked indicator makes the indicator TLP:RED. That errs on
the restrictive side and never releases a marked part to a reader who may not see it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from allsource.model.markings import TLP, Classification, Marking

__all__ = ["MARKING_EXTENSION_ID", "PRODUCER_ID", "TLP1_DEFINITIONS", "TLP1_IDS",
           "TLP2_DEFINITIONS", "TLP2_EXTENSION_ID", "TLP2_IDS", "TLP_IDS", "marking_definition",
           "marking_extension_definition", "marking_from_refs", "marking_of_definition",
           "marking_refs", "producer_identity", "stable_uuid4", "tlp1_definition",
           "tlp_of_definition", "tlp_of_ref"]

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

#: allsource's extension: a marking's classification, compartments and releasability, and
#: the grade and provenance of what allsource exports (a property extension)
MARKING_EXTENSION_ID = "extension-definition--3b9e2a4c-5f0d-4c8e-9a41-6d2f1c0b7e55"
#: the identity that defines it (and produces allsource's exports)
PRODUCER_ID = "identity--0c1a5b52-2d7e-4a3b-8f61-5a1de0c9f7a2"
_NAMESPACE = uuid.UUID("7b3f6d1e-9c2a-4e85-b0f4-2a6c8d91e3f7")
_TLP2_CREATED = "2022-10-01T00:00:00.000Z"
#: the TLP 2.0 marking definitions as the OASIS TLP 2.0 extension publishes them
TLP2_DEFINITIONS: dict[str, dict[str, Any]] = {
    ref: {"type": "marking-definition", "spec_version": "2.1", "id": ref,
          "created": _TLP2_CREATED,
          "name": tlp.label, "extensions": {TLP2_EXTENSION_ID: {
              "extension_type": "property-extension",
              "tlp_2_0": tlp.label.removeprefix("TLP:").lower()}}}
    for ref, tlp in TLP2_IDS.items()
}

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

    The most restrictive TLP among the references replaces the default's TLP; an allsource
    marking definition among them is combined with it (see the module docstring); with
    neither (no reference, only statements, only unknown ids) the default applies unchanged.
    """
    strings = [ref for ref in refs or () if isinstance(ref, str)]
    levels = [level for ref in strings if (level := tlp_of_ref(ref, definitions)) is not None]
    found = default if not levels else replace(default, tlp=max(levels))
    for ref in strings:
        definition = definitions.get(ref)
        extra = marking_of_definition(definition) if definition is not None else None
        if extra is not None:
            found = found.combine(extra)
    return found


def _labels(values: object) -> frozenset[str]:
    if not isinstance(values, list):
        return frozenset()
    return frozenset(v for v in values if isinstance(v, str) and v and "," not in v
                     and len(v) <= 80)


def marking_of_definition(definition: Mapping[str, Any]) -> Marking | None:
    """The classification, compartments and releasability an allsource marking definition
    carries (TLP:CLEAR: the TLP travels in its own definition), or ``None``."""
    extensions = definition.get("extensions")
    ext = extensions.get(MARKING_EXTENSION_ID) if isinstance(extensions, Mapping) else None
    if not isinstance(ext, Mapping):
        return None
    level = ext.get("classification")
    try:
        classification = Classification.parse(level) if isinstance(level, str) \
            else Classification.UNCLASSIFIED
    except ValueError:
        # a level we do not know cannot be honoured: refuse to guess it lower than the top
        classification = Classification.TOP_SECRET
    return Marking(classification=classification, compartments=_labels(ext.get("compartments")),
                   releasability=_labels(ext.get("releasability")))


def stable_uuid4(namespace: uuid.UUID, key: str) -> uuid.UUID:
    """A UUID in version-4 form that is the same for the same key (a UUIDv5's bits with the
    version set to 4): STIX 2.1 asks v4 of domain-object ids, an export wants stable ones."""
    return uuid.UUID(bytes=uuid.uuid5(namespace, key).bytes, version=4)


def marking_definition(marking: Marking) -> dict[str, Any] | None:
    """The allsource marking definition of ``marking``'s classification, compartments and
    releasability (a stable id per combination), or ``None`` when they say nothing
    (unclassified, no compartment, releasable to all)."""
    if (marking.classification == Classification.UNCLASSIFIED and not marking.compartments
            and not marking.releasability):
        return None
    key = "|".join([marking.classification.name, ",".join(sorted(marking.compartments)),
                    ",".join(sorted(marking.releasability))])
    parts = [marking.classification.name.replace("_", " ")]
    if marking.compartments:
        parts.append("/".join(sorted(marking.compartments)))
    if marking.releasability:
        parts.append("REL TO " + ", ".join(sorted(marking.releasability)))
    return {"type": "marking-definition", "spec_version": "2.1",
            "id": f"marking-definition--{stable_uuid4(_NAMESPACE, key)}",
            "created": "2026-01-01T00:00:00.000Z", "created_by_ref": PRODUCER_ID,
            "name": "allsource: " + " // ".join(parts),
            # STIX allows no empty list: an absent list is an empty one
            "extensions": {MARKING_EXTENSION_ID: {
                "extension_type": "property-extension",
                "classification": marking.classification.name.lower(),
                **({"compartments": sorted(marking.compartments)} if marking.compartments
                   else {}),
                **({"releasability": sorted(marking.releasability)} if marking.releasability
                   else {})}}}


def marking_extension_definition() -> dict[str, Any]:
    """The registered extension definition of allsource's marking extension."""
    return {"type": "extension-definition", "spec_version": "2.1",
            "id": MARKING_EXTENSION_ID, "created_by_ref": PRODUCER_ID,
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": "allsource marking, grade and provenance",
            "description": "Protective classification, compartments and releasability of an "
                           "allsource marking next to its TLP 2.0 marking; the Admiralty "
                           "grade and provenance of exported reports and indicators.",
            "schema": "A property extension. On a marking-definition: classification (one "
                      "of unclassified, restricted, confidential, secret, top_secret), "
                      "compartments (list of names; a reader must hold every one) and "
                      "releasability (list of group names; empty means releasable to all, "
                      "otherwise to members of at least one). On a report: document_id and "
                      "kind (the allsource document it was exported from), source (the "
                      "name of the source that collected it), admiralty (reliability letter "
                      "A-F and credibility digit 1-6, e.g. B2), reliability, credibility. On "
                      "an indicator: observable (the id of the observable it was made from).",
            "version": "1.0.0", "extension_types": ["property-extension"]}


def producer_identity() -> dict[str, Any]:
    """The identity that defines allsource's extension and produces its exports."""
    return {"type": "identity", "spec_version": "2.1", "id": PRODUCER_ID,
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": "allsource", "identity_class": "system"}


def tlp1_definition(ref: str) -> dict[str, Any] | None:
    """A fresh copy of the canonical STIX 2.1 object for a predefined TLP 1.0 id, else ``None``."""
    found = TLP1_DEFINITIONS.get(ref)
    if found is None:
        return None
    return {**found, "definition": dict(found["definition"])}
