"""Collector for MISP galaxies: the threat actors, malware families, tools, sectors, countries
… that the MISP project curates (45,000+ clusters).

Location: a galaxy name (``threat-actor``, ``ransomware``, ``malpedia``, ``tool``, ``sector`` …)
read from the cluster files the installed ``pymispgalaxies`` package ships
(``pymispgalaxies/data/misp-galaxy/clusters/<name>.json``), or a path or http(s) URL of such a
cluster file. The JSON is parsed with orjson under the input size cap; the package is only
located, never imported.

Each cluster becomes a document (kind = the STIX type it maps to, e.g. ``intrusion-set``; title
= its value; text = description, synonyms and meta such as country or attribution; URL = its
first reference) with one entity built by :mod:`allsource.collect.misp_galaxy_map` — the same
object, under the same ID, that the ``misp`` collector makes for a cluster attached to an event.
Galaxies are public: everything gets the source's default marking (CLEAR unless configured).

Checkpoint: ``{"sha256": …, "version": …}`` of the cluster file; an unchanged file yields
nothing. A changed file is read whole; unchanged clusters are then duplicates (their document
key hashes the cluster's content), changed ones new documents.

Rebuilding maps a kept cluster file again, cluster by cluster, through the same path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import orjson

from allsource.collect.base import Collector, StoredItem, is_url
from allsource.collect.misp_galaxy_map import (
    cluster_entity,
    cluster_refs,
    cluster_text,
    clusters_dir,
)
from allsource.errors import InputError, SourceError
from allsource.hookspecs import hookimpl
from allsource.model.ids import canonical_json, sha256_hex
from allsource.model.records import (
    Checkpoint,
    Collected,
    Document,
    Item,
    Mention,
    Rejected,
    StixObject,
)

EXTRACTOR = "galaxy"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CLUSTER_REF = "#cluster"


def galaxy_names() -> list[str]:
    folder = clusters_dir()
    return sorted(p.stem for p in folder.glob("*.json")) if folder else []


def parse_galaxy(data: bytes) -> dict[str, Any]:
    """A cluster file as a dict with a ``type`` and a ``values`` list; else :class:`InputError`."""
    try:
        galaxy = orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc}); expected a MISP galaxy cluster file") from None
    if (not isinstance(galaxy, dict) or not isinstance(galaxy.get("values"), list)
            or not isinstance(galaxy.get("type"), str) or not galaxy["type"].strip()):
        raise InputError('not a MISP galaxy cluster file: expected an object with "type" and '
                         '"values"')
    return galaxy


class GalaxyCollector(Collector):
    name: ClassVar[str] = "galaxy"
    description: ClassVar[str] = ("MISP galaxy clusters (threat actors, malware, tools, sectors "
                                  "…) from pymispgalaxies or a cluster JSON file")
    default_schedule: ClassVar[int] = 7 * 24 * 3600

    @classmethod
    def detect(cls, location: str, head: bytes) -> int:
        if not is_url(location) and not Path(location).expanduser().exists():
            return 80 if location in galaxy_names() else 0
        start = head[:4096]
        if start.lstrip().startswith(b"{") and b'"values"' in start and b'"category"' in start:
            return 85
        return 0

    def collect(self, checkpoint: dict[str, Any]) -> Iterator[Item]:
        data, ref = self._read()
        sha = sha256_hex(data)
        if checkpoint.get("sha256") == sha:
            return
        try:
            galaxy = parse_galaxy(data)
        except InputError as exc:
            yield Rejected(f"{ref}: {exc}", data, ref)
            return
        yield from self._clusters(galaxy, data)
        yield Checkpoint({"sha256": sha, "version": galaxy.get("version"),
                          "clusters": len(galaxy["values"])})

    def reparse(self, raw: bytes, ref: str) -> Iterator[Item]:
        """A whole quarantined cluster file, or one cluster quarantined as ``<type>#cluster<i>``."""
        if _CLUSTER_REF in ref:
            try:
                cluster = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"quarantined cluster is not valid JSON ({exc})") from None
            galaxy_type, _, index = ref.rpartition(_CLUSTER_REF)
            galaxy = {"type": galaxy_type, "values": [cluster]}
            yield from self._clusters(galaxy, raw, first=int(index) if index.isdigit() else 0)
            return
        yield from self._clusters(parse_galaxy(raw), raw)

    def rebuild(self, raw: bytes, stored: Sequence[StoredItem]
                ) -> Iterator[Collected | Rejected]:
        yield from self._clusters(parse_galaxy(raw), raw)

    def _read(self) -> tuple[bytes, str]:
        location = self.source.location.strip()
        if is_url(location) or Path(location).expanduser().is_file():
            return self.ctx.read(self.source, location), location
        folder = clusters_dir()
        if folder is None:
            raise SourceError("the pymispgalaxies package is not installed; give a cluster "
                              "file path instead of a galaxy name")
        path = folder / f"{location}.json"
        if not _NAME.match(location) or not path.is_file():
            raise SourceError(f"no galaxy named {location!r}; known: "
                              f"{', '.join(galaxy_names())}")
        return self.ctx.read(self.source, str(path)), location

    def _clusters(self, galaxy: Mapping[str, Any], data: bytes, first: int = 0
                  ) -> Iterator[Collected | Rejected]:
        galaxy_type = str(galaxy["type"]).strip()
        sha: str | None = None
        for i, cluster in enumerate(galaxy["values"], start=first):
            ref = f"{galaxy_type}{_CLUSTER_REF}{i}"
            raw = orjson.dumps(cluster)
            problem = self._problem(cluster, raw)
            entity = None if problem else cluster_entity(galaxy_type, cluster, self.marking)
            if entity is None:
                yield Rejected(f"{ref}: {problem or 'cluster has no value (name)'}", raw, ref)
                continue
            sha = sha or self.ctx.keep_blob(data)
            yield self._collected(galaxy, cluster, entity, sha)

    def _problem(self, cluster: object, raw: bytes) -> str | None:
        cap = self.ctx.settings.max_item_bytes
        if len(raw) > cap:
            return f"cluster is {len(raw)} bytes, over the {cap}-byte item cap"
        if not isinstance(cluster, Mapping):
            return "cluster is not a JSON object"
        return None

    def _collected(self, galaxy: Mapping[str, Any], cluster: Mapping[str, Any],
                   entity: StixObject, sha: str) -> Collected:
        galaxy_type = str(galaxy["type"]).strip()
        uuid = str(cluster.get("uuid") or "")
        meta: dict[str, Any] = {"galaxy": galaxy_type, "galaxy_name": galaxy.get("name"),
                                "galaxy_version": galaxy.get("version"),
                                "cluster_uuid": uuid or None, "related": cluster.get("related")}
        refs = cluster_refs(cluster)
        doc = Document.build(
            kind=entity.type, title=entity.name, text=cluster_text(cluster) or entity.name,
            url=refs[0] if refs else None,
            key={"misp_galaxy": galaxy_type, "cluster": uuid or entity.name,
                 "content": sha256_hex(canonical_json(cluster))},
            blob_sha256=sha, blob_ref=f"cluster:{uuid or entity.name}",
            labels=[f'misp-galaxy:{galaxy_type}="{entity.name}"'],
            meta={k: v for k, v in meta.items() if v is not None}, marking=self.marking)
        return Collected(doc, [entity], [], [Mention(entity.id, EXTRACTOR)])


@hookimpl
def register_collectors() -> list[type[Collector]]:
    return [GalaxyCollector]
