"""MISP galaxy clusters as STIX 2.1 entities — the one mapping shared by the ``misp`` and
``galaxy`` collectors.

A MISP *galaxy* is a typed list of *clusters* (``threat-actor``, ``malpedia``, ``sector`` …).
A cluster has a ``value`` (its name), a ``description`` and free-form ``meta`` (``synonyms``,
``refs``, ``country``, ``external_id`` …). Events carry clusters in two forms: full
``Galaxy``/``GalaxyCluster`` blocks, and bare tags ``misp-galaxy:<type>="<value>"``.

The galaxy type decides the STIX type (:func:`stix_type_for`): actor galaxies become
``intrusion-set``, malware families ``malware`` (``is_family: true``), ``tool`` galaxies ``tool``,
ATT&CK techniques ``attack-pattern``, sectors ``identity`` (``identity_class: "class"``),
countries and regions ``location``. Galaxies with no STIX counterpart keep their data as the
custom ``x-allsource-galaxy-cluster`` object, so nothing is dropped.

Identity: ``minted_id(stix_type, "<galaxy type>:<value>")``. The same cluster seen in an event
(block or tag) and in the galaxy file is therefore one object. Synonyms go to ``aliases`` where
STIX defines that property and to ``x_allsource_aliases`` elsewhere; the cluster's ``meta`` is
kept whole under ``x_allsource_misp_meta``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from allsource.model.ids import minted_id
from allsource.model.markings import Marking
from allsource.model.records import StixObject

CUSTOM_TYPE = "x-allsource-galaxy-cluster"

_EXACT: dict[str, str] = {
    "threat-actor": "intrusion-set", "360net-threat-actor": "intrusion-set",
    "microsoft-activity-group": "intrusion-set", "mitre-ics-groups": "intrusion-set",
    "groups": "intrusion-set",
    "malpedia": "malware", "ransomware": "malware", "rat": "malware", "botnet": "malware",
    "banker": "malware", "backdoor": "malware", "stealer": "malware", "android": "malware",
    "cryptominers": "malware", "exploit-kit": "malware", "mitre-ics-software": "malware",
    "tool": "tool",
    "mitre-ics-techniques": "attack-pattern", "technique": "attack-pattern",
    "disarm-techniques": "attack-pattern",
    "sector": "identity", "cert-eu-govsector": "identity", "naics": "identity",
    "NACE": "identity", "intelligence-agency": "identity", "surveillance-vendor": "identity",
    "producer": "identity",
    "country": "location", "region": "location",
    "campaigns": "campaign",
    "branded-vulnerability": "vulnerability",
}
# Families of galaxies named after the ATT&CK object type they hold (mitre-*, mitre-atlas-*).
_SUFFIX: tuple[tuple[str, str], ...] = (
    ("intrusion-set", "intrusion-set"), ("attack-pattern", "attack-pattern"),
    ("course-of-action", "course-of-action"), ("-malware", "malware"), ("-tool", "tool"),
)
_SECTOR_GALAXIES = frozenset({"sector", "cert-eu-govsector", "naics", "NACE"})
_MALWARE_TYPES = {"ransomware": "ransomware", "rat": "remote-access-trojan", "botnet": "bot",
                  "backdoor": "backdoor", "exploit-kit": "exploit-kit",
                  "cryptominers": "resource-exploitation", "stealer": "spyware"}
# STIX 2.1 SDOs that define an ``aliases`` property.
_HAS_ALIASES = frozenset({"intrusion-set", "malware", "tool", "attack-pattern", "campaign",
                          "threat-actor", "infrastructure"})
_GALAXY_TAG = re.compile(r'^misp-galaxy:([^=]+)="(.*)"$', re.DOTALL)


def clusters_dir() -> Path | None:
    """The ``clusters`` folder of the installed ``pymispgalaxies`` package, if any."""
    spec = find_spec("pymispgalaxies")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data/misp-galaxy/clusters"
    return folder if folder.is_dir() else None


def stix_type_for(galaxy_type: str) -> str:
    """The STIX type a cluster of ``galaxy_type`` maps to (custom type when there is none)."""
    if galaxy_type in _EXACT:
        return _EXACT[galaxy_type]
    for suffix, stix_type in _SUFFIX:
        if galaxy_type.endswith(suffix):
            return stix_type
    return CUSTOM_TYPE


def entity_id(galaxy_type: str, value: str) -> str:
    return minted_id(stix_type_for(galaxy_type), f"{galaxy_type.strip()}:{value.strip()}")


def parse_galaxy_tag(tag: str) -> tuple[str, str] | None:
    """``misp-galaxy:threat-actor="APT28"`` → ``("threat-actor", "APT28")``, else ``None``."""
    m = _GALAXY_TAG.match(tag.strip())
    if not m or not m.group(1).strip() or not m.group(2).strip():
        return None
    return m.group(1).strip(), m.group(2).strip()


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def cluster_meta(cluster: Mapping[str, Any]) -> dict[str, Any]:
    meta = cluster.get("meta")
    return dict(meta) if isinstance(meta, Mapping) else {}


def cluster_aliases(cluster: Mapping[str, Any]) -> list[str]:
    """The cluster's synonyms, without its own value and without exact repeats (spellings
    that differ in case, like "FANCY BEAR" and "Fancy Bear", are both kept)."""
    seen = {str(cluster.get("value", "")).strip()}
    aliases: list[str] = []
    for alias in _strings(cluster_meta(cluster).get("synonyms")):
        if alias.strip() not in seen:
            seen.add(alias.strip())
            aliases.append(alias.strip())
    return aliases


def cluster_refs(cluster: Mapping[str, Any]) -> list[str]:
    return [r.strip() for r in _strings(cluster_meta(cluster).get("refs"))
            if r.strip().startswith(("http://", "https://"))]


def cluster_text(cluster: Mapping[str, Any]) -> str:
    """Readable text for search: description, synonyms, then the other meta fields."""
    parts: list[str] = []
    description = cluster.get("description")
    if isinstance(description, str) and description.strip():
        parts.append(description.strip())
    aliases = cluster_aliases(cluster)
    if aliases:
        parts.append("Also known as: " + ", ".join(aliases))
    for key, value in sorted(cluster_meta(cluster).items()):
        if key in ("synonyms", "refs") or key.endswith("-refs"):
            continue
        values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        values = [v for v in values if v.strip()]
        if values:
            parts.append(f"{key}: {', '.join(values)}")
    return "\n".join(parts)


def _external_refs(galaxy_type: str, cluster: Mapping[str, Any]) -> list[dict[str, str]]:
    refs: list[dict[str, str]] = []
    if galaxy_type.startswith("mitre-"):
        refs += [{"source_name": "mitre-attack", "external_id": x}
                 for x in _strings(cluster_meta(cluster).get("external_id"))]
    refs += [{"source_name": f"misp-galaxy:{galaxy_type}", "url": u}
             for u in cluster_refs(cluster)]
    return refs


def _location(galaxy_type: str, value: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    iso = meta.get("ISO")
    if galaxy_type == "country" and isinstance(iso, str) and len(iso) == 2:
        return {"country": iso.upper()}
    if galaxy_type == "region":
        # "150 - Europe" → region "europe" (the STIX region vocabulary is open)
        name = value.split(" - ", 1)[-1]
        return {"region": re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")}
    return {}


def _type_properties(stix_type: str, galaxy_type: str, value: str,
                     meta: Mapping[str, Any]) -> dict[str, Any]:
    if stix_type == "malware":
        props: dict[str, Any] = {"is_family": True}
        if galaxy_type in _MALWARE_TYPES:
            props["malware_types"] = [_MALWARE_TYPES[galaxy_type]]
        return props
    if stix_type == "identity":
        return {"identity_class": "class" if galaxy_type in _SECTOR_GALAXIES
                else "organization"}
    if stix_type == "location":
        return _location(galaxy_type, value, meta)
    if stix_type == CUSTOM_TYPE:
        return {"x_allsource_galaxy_type": galaxy_type}
    return {}


def cluster_entity(galaxy_type: str, cluster: Mapping[str, Any],
                   marking: Marking) -> StixObject | None:
    """The STIX entity for one cluster, or ``None`` when the cluster has no value."""
    value = cluster.get("value")
    if not isinstance(value, str) or not value.strip() or not galaxy_type.strip():
        return None
    galaxy_type, value = galaxy_type.strip(), value.strip()
    stix_type = stix_type_for(galaxy_type)
    meta = cluster_meta(cluster)
    stix: dict[str, Any] = {"type": stix_type, "spec_version": "2.1",
                            "id": entity_id(galaxy_type, value), "name": value}
    stix.update(_type_properties(stix_type, galaxy_type, value, meta))
    description = cluster.get("description")
    if isinstance(description, str) and description.strip():
        stix["description"] = description.strip()
    aliases = cluster_aliases(cluster)
    if aliases:
        stix["aliases" if stix_type in _HAS_ALIASES else "x_allsource_aliases"] = aliases
    refs = _external_refs(galaxy_type, cluster)
    if refs:
        stix["external_references"] = refs
    galaxy: dict[str, Any] = {"type": galaxy_type}
    if isinstance(cluster.get("uuid"), str) and cluster["uuid"]:
        galaxy["cluster_uuid"] = cluster["uuid"]
    stix["x_allsource_misp_galaxy"] = galaxy
    if meta:
        stix["x_allsource_misp_meta"] = meta
    return StixObject(id=stix["id"], type=stix_type, name=value, stix=stix, marking=marking)
