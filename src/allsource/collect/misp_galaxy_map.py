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

One galaxy mixes both: the ``rat`` galaxy lists remote-access trojans next to commercial
remote-desktop products (TeamViewer, AnyDesk, Windows Remote Desktop). STIX calls legitimate
software that attackers also use a ``tool``, and typing TeamViewer as malware would flow into
grades, alerts and partners' feeds. :func:`stix_type_of` decides per cluster, from its
description (:func:`remote_admin_product`): a description that presents the software as a
remote access, desktop, control or support program, is long enough for the absence of
malicious vocabulary to mean something, and says nothing malicious, makes a ``tool`` (with
``tool_types: ["remote-access"]``). A bare tag carries no description: the installed galaxy's
description of the same value decides, so a tag and the galaxy file still give one object.

Identity: ``minted_id(stix_type, "<galaxy type>:<value>")``. The same cluster seen in an event
(block or tag) and in the galaxy file is therefore one object. Synonyms go to ``aliases`` where
STIX defines that property and to ``x_allsource_aliases`` elsewhere; the cluster's ``meta`` is
kept whole under ``x_allsource_misp_meta``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import orjson

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


#: Galaxies whose clusters may be legitimate remote-administration products.
_REMOTE_ADMIN_GALAXIES = frozenset({"rat"})
_PRODUCT = re.compile(r"\bremote[ -](?:access|desktop|control|support)\b"
                      r"|\bVirtual Network Computing\b|\b\w*VNC\b", re.IGNORECASE)
_MALICIOUS = re.compile(
    r"\b(?:trojan\w*|malware|malicious\w*|backdoor\w*|attack\w*|hack\w*|steal\w*|keylog\w*"
    r"|criminal\w*|threat\w*|exploit\w*|infect\w*|bot(?:net)?s?|ransom\w*|victim\w*"
    r"|adversar\w*|espionage|surveillance\w*|stealth\w*|undetect\w*|spy\w*|evade\w*|evasion"
    r"|covert\w*|payload\w*|persist\w*|c2|command[- ]and[- ]control|firewall\w*|antivirus"
    r"|fud|crypter\w*|skid\w*)\b", re.IGNORECASE)
#: "RAT" in capitals, dotted, or as the end of a word ("NJRat", "jRAT"): a trojan's own word.
_RAT = re.compile(r"\bR\.?A\.?T\b|RAT\b|rat\b")
#: Fewer words than this say too little for the absence of malicious vocabulary to count.
MIN_PRODUCT_WORDS = 12


def remote_admin_product(value: str, description: str) -> bool:
    """Whether a remote-access cluster reads as a legitimate product (see the module
    docstring): presented as remote access/desktop/control/support software or VNC, in at
    least :data:`MIN_PRODUCT_WORDS` words, with no malicious vocabulary and no "RAT"."""
    return (len(description.split()) >= MIN_PRODUCT_WORDS
            and _PRODUCT.search(description) is not None
            and _MALICIOUS.search(description) is None
            and _RAT.search(description) is None and _RAT.search(value) is None)


@lru_cache(maxsize=8)
def _installed_descriptions(galaxy_type: str) -> Mapping[str, str]:
    """Value → description of the installed galaxy's clusters (empty without the package)."""
    folder = clusters_dir()
    path = folder / f"{galaxy_type}.json" if folder is not None else None
    if path is None or not path.is_file():
        return {}
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return {}
    out: dict[str, str] = {}
    for cluster in data.get("values", []) if isinstance(data, dict) else []:
        value, text = cluster.get("value"), cluster.get("description")
        if isinstance(value, str) and isinstance(text, str):
            out.setdefault(value.strip(), text)
    return out


def stix_type_of(galaxy_type: str, value: str, description: object = None) -> str:
    """The STIX type of one cluster: :func:`stix_type_for` its galaxy, except a legitimate
    remote-administration product listed in a trojan galaxy, which is a ``tool``. The
    installed galaxy's description of ``value`` wins over the one given, so every form of a
    cluster (galaxy file, event block, bare tag) gets one type and one id."""
    stix_type = stix_type_for(galaxy_type)
    galaxy_type = galaxy_type.strip()
    if galaxy_type not in _REMOTE_ADMIN_GALAXIES:
        return stix_type
    text = _installed_descriptions(galaxy_type).get(value.strip())
    if text is None:
        text = description if isinstance(description, str) else ""
    return "tool" if remote_admin_product(value.strip(), text) else stix_type


def entity_id(galaxy_type: str, value: str, description: object = None) -> str:
    return minted_id(stix_type_of(galaxy_type, value, description),
                     f"{galaxy_type.strip()}:{value.strip()}")


def former_ids(galaxy_type: str, value: str, description: object = None) -> tuple[str, ...]:
    """Ids this cluster had before :func:`stix_type_of` retyped it (stores built earlier hold
    objects under them; the gazetteer lists them as members so they link to the new one)."""
    old = minted_id(stix_type_for(galaxy_type), f"{galaxy_type.strip()}:{value.strip()}")
    return () if old == entity_id(galaxy_type, value, description) else (old,)


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
    if stix_type == "tool" and galaxy_type in _REMOTE_ADMIN_GALAXIES:
        return {"tool_types": ["remote-access"]}
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
    description = cluster.get("description")
    stix_type = stix_type_of(galaxy_type, value, description)
    meta = cluster_meta(cluster)
    stix: dict[str, Any] = {"type": stix_type, "spec_version": "2.1",
                            "id": entity_id(galaxy_type, value, description), "name": value}
    stix.update(_type_properties(stix_type, galaxy_type, value, meta))
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
