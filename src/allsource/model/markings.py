"""Markings: TLP 2.0, classification level, compartments and releasability.

Every stored object carries a :class:`Marking`. Objects derived from several inputs get the
*most restrictive* combination of their inputs (:meth:`Marking.combine`): the highest TLP and
classification, the union of compartments, and the intersection of releasability. Release is
decided in exactly one place, :func:`can_release`, which export, TAXII, enrichment and the
store's read filter all call.

TLP is an :class:`~enum.IntEnum` so ordering is numeric (CLEAR < GREEN < AMBER <
AMBER+STRICT < RED), never string order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import IntEnum


class TLP(IntEnum):
    """Traffic Light Protocol 2.0. TLP 1.0 WHITE is read as CLEAR."""

    CLEAR = 0
    GREEN = 1
    AMBER = 2
    AMBER_STRICT = 3
    RED = 4

    @classmethod
    def parse(cls, text: str) -> TLP:
        """Parse ``"TLP:AMBER+STRICT"``, ``"amber+strict"``, ``"white"``, ``"tlp:clear"`` …"""
        key = text.strip().lower().removeprefix("tlp:").strip()
        key = key.replace("+", "_").replace("-", "_").replace(" ", "_")
        if key == "white":
            return cls.CLEAR
        try:
            return cls[key.upper()]
        except KeyError:
            raise ValueError(f"unknown TLP level {text!r}") from None

    @property
    def label(self) -> str:
        return "TLP:" + self.name.replace("_", "+")


class Classification(IntEnum):
    """Protective classification level (NATO-style ladder)."""

    UNCLASSIFIED = 0
    RESTRICTED = 1
    CONFIDENTIAL = 2
    SECRET = 3
    TOP_SECRET = 4

    @classmethod
    def parse(cls, text: str) -> Classification:
        key = text.strip().upper().replace(" ", "_").replace("-", "_")
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"unknown classification {text!r}") from None


@dataclass(frozen=True, slots=True)
class Marking:
    """The handling marking carried by every stored object.

    ``releasability`` is empty when the object is not restricted to named audiences; otherwise
    it lists who may receive it (e.g. ``{"community"}`` for a MISP event with distribution 1).
    """

    tlp: TLP = TLP.CLEAR
    classification: Classification = Classification.UNCLASSIFIED
    compartments: frozenset[str] = field(default_factory=frozenset)
    releasability: frozenset[str] = field(default_factory=frozenset)

    def combine(self, other: Marking) -> Marking:
        """The most restrictive marking that satisfies both ``self`` and ``other``."""
        if self.releasability and other.releasability:
            rel = self.releasability & other.releasability
            # Disjoint audiences: nobody named in both may receive it, so restrict to owner.
            releasability = rel if rel else frozenset({"owner"})
        else:
            releasability = self.releasability or other.releasability
        return Marking(
            tlp=max(self.tlp, other.tlp),
            classification=max(self.classification, other.classification),
            compartments=self.compartments | other.compartments,
            releasability=releasability,
        )

    def to_columns(self) -> dict[str, object]:
        """The marking as store columns (a fresh dict: callers add to it)."""
        return dict(_columns(self))

    @classmethod
    def from_columns(cls, row: dict[str, object]) -> Marking:
        return cls.of_values(row.get("tlp"), row.get("classification"),
                             row.get("compartments"), row.get("releasability"))

    @classmethod
    def of_values(cls, tlp: object, classification: object, compartments: object,
                  releasability: object) -> Marking:
        """The marking of four store column values. Stores hold few distinct markings and a
        page re-checks thousands of rows, so the parsed markings are kept (they are frozen,
        hence shareable): a row costs a dictionary lookup, not two enum conversions and two
        set constructions."""
        return _marking_of(int(tlp or 0), int(classification or 0),  # type: ignore[call-overload]
                           str(compartments or ""), str(releasability or ""))

    def as_dict(self) -> dict[str, object]:
        return {
            "tlp": self.tlp.label,
            "classification": self.classification.name,
            "compartments": sorted(self.compartments),
            "releasability": sorted(self.releasability),
        }


@dataclass(frozen=True, slots=True)
class Audience:
    """Who is reading: the highest TLP and classification they may see, their compartments and
    the releasability groups they belong to. ``Audience.owner()`` is the local operator, who
    may read everything stored on their own machine."""

    max_tlp: TLP = TLP.RED
    clearance: Classification = Classification.TOP_SECRET
    compartments: frozenset[str] = field(default_factory=frozenset)
    groups: frozenset[str] = field(default_factory=frozenset)
    unrestricted: bool = False

    @classmethod
    def owner(cls) -> Audience:
        return cls(unrestricted=True)


def can_release(marking: Marking, audience: Audience) -> bool:
    """The single release decision used by export, TAXII, enrichment and store reads."""
    if audience.unrestricted:
        return True
    if marking.tlp > audience.max_tlp or marking.classification > audience.clearance:
        return False
    if not marking.compartments <= audience.compartments:
        return False
    return not marking.releasability or bool(marking.releasability & audience.groups)


# STIX marking-definition IDs. TLP 2.0 per the OASIS TLP 2.0 extension (the same UUIDs as
# CACAO's marking-tlp objects); TLP 1.0 per STIX 2.1 section 7.2.1.4.
TLP2_MARKING_IDS: dict[TLP, str] = {
    TLP.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    TLP.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    TLP.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    TLP.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    TLP.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP1_MARKING_IDS: dict[TLP, str] = {
    TLP.CLEAR: "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    TLP.GREEN: "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    TLP.AMBER: "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    TLP.RED: "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}
TLP_BY_MARKING_ID: dict[str, TLP] = {
    **{v: k for k, v in TLP1_MARKING_IDS.items()},
    **{v: k for k, v in TLP2_MARKING_IDS.items()},
}


@functools.lru_cache(maxsize=1024)
def _columns(marking: Marking) -> tuple[tuple[str, object], ...]:
    """:meth:`Marking.to_columns`, computed once per distinct marking: ingest asks for every
    document's and mention's columns, and a store holds a handful of distinct markings."""
    return (("tlp", int(marking.tlp)), ("classification", int(marking.classification)),
            ("compartments", ",".join(sorted(marking.compartments))),
            ("releasability", ",".join(sorted(marking.releasability))))


@functools.lru_cache(maxsize=4096)
def _marking_of(tlp: int, classification: int, compartments: str,
                releasability: str) -> Marking:
    return Marking(tlp=TLP(tlp), classification=Classification(classification),
                   compartments=frozenset(c for c in compartments.split(",") if c),
                   releasability=frozenset(r for r in releasability.split(",") if r))
