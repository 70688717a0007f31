"""The galaxy collector on the real MISP galaxies shipped by the pymispgalaxies package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pluggy
import pytest

from allsource import hookspecs
from allsource.collect import galaxy as galaxy_module
from allsource.collect.base import CollectContext
from allsource.collect.galaxy import GalaxyCollector, clusters_dir
from allsource.collect.misp import MispCollector
from allsource.collect.misp_galaxy_map import (
    cluster_entity,
    entity_id,
    remote_admin_product,
    stix_type_of,
)
from allsource.collect.runner import run_source
from allsource.errors import InputError
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Item, Rejected, Source
from allsource.plugins import collectors
from allsource.store.sql import SqlStore

OWNER = Audience.owner()


def _file(name: str) -> Path:
    folder = clusters_dir()
    assert folder is not None, "pymispgalaxies is a dependency of allsource"
    return folder / f"{name}.json"


def _galaxy(name: str) -> dict[str, Any]:
    galaxy: dict[str, Any] = orjson.loads(_file(name).read_bytes())
    return galaxy


def _source(location: str | Path, **kw: Any) -> Source:
    return Source(name="galaxy-test", kind="galaxy", location=str(location), **kw)


def _items(ctx: CollectContext, location: str | Path,
           checkpoint: dict[str, Any] | None = None, **kw: Any) -> list[Item]:
    return list(GalaxyCollector(_source(location, **kw), ctx).collect(checkpoint or {}))


def _entities(items: list[Item]) -> dict[str, dict[str, Any]]:
    return {i.objects[0].name: i.objects[0].stix for i in items if isinstance(i, Collected)}


def _run(store: SqlStore, ctx: CollectContext, source: Source) -> Any:
    if store.get_source(source.name) is None:
        store.add_source(source)
    return run_source(store, source, ctx, collector_cls=GalaxyCollector)


def test_registers_through_the_plugin_hook() -> None:
    pm = pluggy.PluginManager("allsource")
    pm.add_hookspecs(hookspecs)
    pm.register(galaxy_module)
    assert collectors(pm)["galaxy"] is GalaxyCollector


def test_threat_actor_galaxy_into_store_then_rerun_is_empty(store: SqlStore,
                                                            ctx: CollectContext) -> None:
    real = _galaxy("threat-actor")
    source = _source("threat-actor")
    first = _run(store, ctx, source)
    assert first.status == "ok", first.errors
    assert first.counts.new == len(real["values"]) == store.count("documents")
    assert first.counts.objects == len({v["value"] for v in real["values"]})
    assert first.counts.quarantined == 0
    assert store.get_checkpoint(source.id)["version"] == real["version"]

    apt28 = store.get(entity_id("threat-actor", "APT28"), OWNER)
    assert apt28 is not None
    assert apt28["type"] == "intrusion-set"
    assert {"Fancy Bear", "Sofacy", "Sednit"} <= set(apt28["stix"]["aliases"])
    assert apt28["stix"]["x_allsource_misp_meta"]["country"] == "RU"
    assert apt28["marking"]["tlp"] == "TLP:CLEAR"
    [prov] = apt28["provenance"]
    assert prov["extractor"] == "galaxy" and prov["title"] == "APT28"
    doc = store.get(prov["document_id"], OWNER)
    assert doc is not None and doc["kind"] == "intrusion-set"
    assert doc["url"] == "https://attack.mitre.org/groups/G0007/"
    assert "Fancy Bear" in doc["text"] and "country: RU" in doc["text"]

    again = _run(store, ctx, source)
    assert (again.status, again.counts.items, again.counts.new) == ("ok", 0, 0)


def test_changed_file_gives_only_the_changed_cluster_as_new(store: SqlStore,
                                                            ctx: CollectContext,
                                                            tmp_path: Path) -> None:
    sector = _galaxy("sector")
    path = tmp_path / "sector.json"
    path.write_bytes(orjson.dumps(sector))
    source = _source(path, marking=Marking(tlp=TLP.GREEN))
    assert _run(store, ctx, source).counts.new == len(sector["values"])

    sector["version"] += 1
    sector["values"][0]["description"] = "Sector not known (edited)"
    path.write_bytes(orjson.dumps(sector))
    second = _run(store, ctx, source)
    assert (second.counts.new, second.counts.duplicates) == (1, len(sector["values"]) - 1)
    name = sector["values"][0]["value"]
    entity = store.get(entity_id("sector", name), OWNER)
    assert entity is not None and entity["marking"]["tlp"] == "TLP:GREEN"


def test_cluster_types_map_to_stix(ctx: CollectContext) -> None:
    sectors = _entities(_items(ctx, "sector"))
    assert sectors["Energy"]["type"] == "identity"
    assert sectors["Energy"]["identity_class"] == "class"
    countries = _entities(_items(ctx, "country"))
    assert countries["france"]["type"] == "location" and countries["france"]["country"] == "FR"
    regions = _entities(_items(ctx, "region"))
    assert regions["150 - Europe"]["region"] == "europe"
    ransomware = _entities(_items(ctx, "ransomware"))
    wannacry = next(v for k, v in ransomware.items() if k.startswith("WannaCry"))
    assert wannacry["type"] == "malware" and wannacry["is_family"] is True
    assert wannacry["malware_types"] == ["ransomware"]
    tools = _entities(_items(ctx, "tool"))
    assert tools["PlugX"]["type"] == "tool" and "Korplug" in tools["PlugX"]["aliases"]
    techniques = _entities(_items(ctx, "mitre-attack-pattern"))
    technique = next(v for v in techniques.values()
                     if {"source_name": "mitre-attack", "external_id": "T1566"}
                     in v.get("external_references", []))
    assert technique["type"] == "attack-pattern"


PRODUCT = ("Acme Desk is a free remote desktop program that you can run portably or install "
           "like a regular program for support sessions.")


@pytest.mark.parametrize(("value", "description", "product"), [
    ("Acme Desk", PRODUCT, True),
    ("Acme Desk", "A remote control program.", False),  # too short to vouch for anything
    ("Acme Desk", PRODUCT + " Criminals use it to steal credentials.", False),
    ("Acme Desk", PRODUCT.replace("free", "free RAT-like"), False),
    ("AcmeRAT", PRODUCT, False),
    ("Acme Desk", "Acme Desk is a full-featured remote administration trojan written in C++ "
                  "and sold on underground forums since 2016.", False),
])
def test_remote_admin_product(value: str, description: str, product: bool) -> None:
    assert remote_admin_product(value, description) is product


def test_a_remote_desktop_product_in_the_rat_galaxy_is_a_tool(ctx: CollectContext) -> None:
    rats = _entities(_items(ctx, "rat"))
    for name in ("TeamViewer", "AnyDesk", "Windows Remote Desktop"):
        assert rats[name]["type"] == "tool", name
        assert rats[name]["tool_types"] == ["remote-access"]
        assert rats[name]["id"] == entity_id("rat", name)
    for name in ("NJRat", "PoisonIvy", "DarkComet", "Back Orifice"):
        assert rats[name]["type"] == "malware", name
        assert rats[name]["malware_types"] == ["remote-access-trojan"]
    # a bare tag carries no description: the installed galaxy's decides, so one id
    tag = cluster_entity("rat", {"value": "TeamViewer"}, Marking())
    assert tag is not None and tag.id == rats["TeamViewer"]["id"] and tag.type == "tool"
    # a cluster the installed galaxy does not know is judged by its own description
    unknown = cluster_entity("rat", {"value": "Acme Desk", "description": PRODUCT}, Marking())
    assert unknown is not None and unknown.type == "tool"
    assert stix_type_of("rat", "Acme Desk") == "malware"  # nothing to go on: the galaxy's type
    assert stix_type_of("tool", "Acme Desk", "trojan") == "tool"


def test_unmapped_galaxy_keeps_its_clusters_as_custom_objects(ctx: CollectContext) -> None:
    items = _items(ctx, "tea-matrix")
    real = _galaxy("tea-matrix")
    entities = _entities(items)
    assert len(entities) == len(real["values"])
    assert {e["type"] for e in entities.values()} == {"x-allsource-galaxy-cluster"}
    assert {e["x_allsource_galaxy_type"] for e in entities.values()} == {real["type"]}


def test_broken_cluster_and_garbage_file_are_quarantined(store: SqlStore, ctx: CollectContext,
                                                         tmp_path: Path) -> None:
    sector = _galaxy("sector")
    sector["values"][3] = {"uuid": "00000000-0000-4000-8000-000000000000", "description": "x"}
    path = tmp_path / "sector.json"
    path.write_bytes(orjson.dumps(sector))
    result = _run(store, ctx, _source(path))
    assert (result.counts.new, result.counts.quarantined) == (len(sector["values"]) - 1, 1)
    [entry] = store.list_quarantine()
    assert entry["item_ref"] == "sector#cluster3" and "no value" in entry["reason"]

    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b'{"values": "not a list"}')
    items = _items(ctx, garbage)
    assert len(items) == 1 and isinstance(items[0], Rejected)
    assert "not a MISP galaxy cluster file" in items[0].reason
    with pytest.raises(InputError, match="not valid JSON"):
        list(GalaxyCollector(_source(garbage), ctx).reparse(b"\x00garbage", str(garbage)))


def test_reparse_of_a_quarantined_cluster(ctx: CollectContext) -> None:
    cluster = next(v for v in _galaxy("threat-actor")["values"] if v["value"] == "APT28")
    items = list(GalaxyCollector(_source("threat-actor"), ctx).reparse(
        orjson.dumps(cluster), "threat-actor#cluster12"))
    assert len(items) == 1 and isinstance(items[0], Collected)
    assert items[0].objects[0].id == entity_id("threat-actor", "APT28")


def test_unknown_galaxy_name_fails_with_a_clear_error(store: SqlStore,
                                                      ctx: CollectContext) -> None:
    result = _run(store, ctx, _source("no-such-galaxy"))
    assert result.status == "failed"
    assert "no galaxy named 'no-such-galaxy'" in result.errors[0]
    assert "threat-actor" in result.errors[0]
    traversal = _run(store, ctx, _source("../clusters/threat-actor"))
    assert traversal.status == "failed" and "no galaxy named" in traversal.errors[0]


def test_misp_event_and_galaxy_share_entity_ids(ctx: CollectContext, samples: Path) -> None:
    event = list(MispCollector(Source(name="m", kind="misp",
                                      location=str(samples / "misp" / "to_delete2.json")),
                               ctx).collect({}))
    event_ids = {o.id for i in event if isinstance(i, Collected) for o in i.objects}
    galaxy_ids = {i.objects[0].id for i in _items(ctx, "threat-actor")
                  if isinstance(i, Collected) and i.document.title == "Lazarus Group"}
    assert galaxy_ids and galaxy_ids <= event_ids


def test_detect() -> None:
    head = _file("sector").read_bytes()[:4096]
    assert GalaxyCollector.detect(str(_file("sector")), head) == 85
    assert GalaxyCollector.detect("threat-actor", b"") == 80
    assert GalaxyCollector.detect("not-a-galaxy", b"") == 0
    assert GalaxyCollector.detect("/tmp", b"") == 0
