"""The value-type protocol and registry."""

from __future__ import annotations

from typing import Any, ClassVar

from allsource.model.ids import minted_id, sco_id
from allsource.model.markings import Marking
from allsource.model.records import StixObject

REGISTRY: dict[str, ValueType] = {}


class ValueType:
    """A kind of value (ip, domain, hash …): cleans it and maps it to a STIX 2.1 object."""

    name: ClassVar[str]
    stix_type: ClassVar[str]  # SCO type, or an SDO type for non-observables (vulnerability)
    max_length: ClassVar[int] = 2048

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "name" in cls.__dict__:
            REGISTRY[cls.name] = cls()

    def clean(self, value: str) -> str | None:
        """Return the normalized value, or ``None`` if ``value`` is not of this type."""
        value = value.strip()
        if not value or len(value) > self.max_length:
            return None
        return self._clean(value)

    def _clean(self, value: str) -> str | None:
        raise NotImplementedError

    def stix(self, value: str) -> dict[str, Any]:
        """The STIX 2.1 object for an already-cleaned value (deterministic ID)."""
        props: dict[str, Any] = {"value": value}
        return {"type": self.stix_type, "spec_version": "2.1",
                "id": sco_id(self.stix_type, props), **props}


def get_type(name: str) -> ValueType:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown value type {name!r}; known: {known}") from None


def clean(type_name: str, value: str) -> str | None:
    return get_type(type_name).clean(value)


def observable(type_name: str, value: str, marking: Marking | None = None) -> StixObject | None:
    """Clean ``value`` as ``type_name`` and return it as a stored object, or ``None`` if junk."""
    vt = get_type(type_name)
    cleaned = vt.clean(value)
    if cleaned is None:
        return None
    stix = vt.stix(cleaned)
    stix.setdefault("x_allsource_value_type", vt.name)
    return StixObject(id=stix["id"], type=stix["type"], name=cleaned, stix=stix,
                      marking=marking or Marking())


def minted(stix_type: str, key: str) -> str:
    return minted_id(stix_type, key)
