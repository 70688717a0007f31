"""The MISP collector on the seven real CIRCL events in shared/data/misp (PyMISP test files):
event files, folders, local and HTTP feeds, observables, indicators, galaxies, markings, bad
input."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pluggy
import pytest

from allsource import hookspecs
from allsource.collect import misp as misp_module
from allsource.collect.base import CollectContext
from allsource.collect.misp import MispCollector
from allsource.collect.misp_galaxy_map import entity_id
from allsource.collect.runner import run_source
from allsource.config import Settings
from allsource.errors import InputError
from allsource.model.ids import minted_id
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Checkpoint, Collected, Document, Item, Rejected, Source
from allsource.model.types import observable
from allsource.plugins import collectors
from allsource.store.blobs import BlobStore
from allsource.store.sql import SqlStore

OWNER = Audience.owner()
FALLCHILL = "to_delete2.json"


def _source(location: Path | str, **kw: Any) -> Source:
    return Source(name="misp-test", kind="misp", location=str(location), **kw)


def _items(ctx: CollectContext, location: Path | str, checkpoint: dict[str, Any] | None = None,
           **kw: Any) -> list[Item]:
    return list(MispCollector(_source(location, **kw), ctx).collect(checkpoint or {}))


def _one(ctx: CollectContext, location: Path | str, **kw: Any) -> Collected:
    collected = [i for i in _items(ctx, location, **kw) if isinstance(i, Collected)]
    assert len(collected) == 1
    return collected[0]


def _event(path: Path) -> dict[str, Any]:
    event: dict[str, Any] = orjson.loads(path.read_bytes())["Event"]
    return event


def _write_event(path: Path, event: dict[str, Any]) -> Path:
    path.write_bytes(orjson.dumps({"Event": event}))
    return path


def _doc_id(event: dict[str, Any]) -> str:
    """The document ID of an event: derived from its uuid and timestamp alone."""
    key = {"misp_event": event["uuid"], "timestamp": event["timestamp"]}
    return Document.build(kind="misp-event", title="", text="", key=key).id


def _by_type(item: Collected, stix_type: str) -> dict[str, dict[str, Any]]:
    return {o.name: o.stix for o in item.objects if o.type == stix_type}


def _run(store: SqlStore, ctx: CollectContext, source: Source) -> Any:
    if store.get_source(source.name) is None:
        store.add_source(source)
    return run_source(store, source, ctx, collector_cls=MispCollector)


def test_registers_through_the_plugin_hook() -> None:
    pm = pluggy.PluginManager("allsource")
    pm.add_hookspecs(hookspecs)
    pm.register(misp_module)
    assert collectors(pm)["misp"] is MispCollector


def test_folder_of_real_events_into_store_then_rerun_is_empty(store: SqlStore,
                                                              ctx: CollectContext,
                                                              samples: Path) -> None:
    source = _source(samples / "misp")
    first = _run(store, ctx, source)
    assert first.status == "ok", first.errors
    assert (first.counts.new, first.counts.quarantined) == (7, 0)
    assert first.counts.objects > 500 and first.counts.relationships > 400
    state = store.get_checkpoint(source.id)
    uuids = {_event(p)["uuid"]: _event(p)["timestamp"] for p in (samples / "misp").glob("*.json")}
    assert state == {"events": uuids}

    event = _event(samples / "misp" / FALLCHILL)
    view = store.get(_doc_id(event), OWNER)
    assert view is not None
    assert view["title"] == event["info"]
    assert view["kind"] == "misp-event" and "tlp:white" in view["labels"]
    assert view["meta"]["orgc"] == "CIRCL"
    ip = observable("ipv4", "125.212.132.222")
    assert ip is not None and ip.id in {o["id"] for o in view["objects"]}
    assert {o["extractor"] for o in view["objects"]} == {"misp"}

    again = _run(store, ctx, source)
    assert (again.counts.items, again.counts.new) == (0, 0)
    assert store.count("documents") == 7


def test_fallchill_observables_indicators_and_entities(ctx: CollectContext,
                                                       samples: Path) -> None:
    path = samples / "misp" / FALLCHILL
    event = _event(path)
    item = _one(ctx, path)
    doc = item.document

    assert doc.title == "OSINT - HIDDEN COBRA – North Korean Remote Administration Tool: FALLCHILL"
    assert doc.id == _doc_id(event)  # identity is the event's uuid + timestamp, not its text
    assert "This joint Technical Alert (TA) is the result of analytic efforts" in doc.text
    assert "https://www.us-cert.gov/ncas/alerts/TA17-318A" in doc.meta["references"]
    assert doc.published_at is not None and doc.published_at.date().isoformat() == "2017-11-14"

    ips = {a["value"] for a in event["Attribute"] if a["type"] == "ip-dst"}
    ips |= {a["value"].split("|")[0] for a in event["Attribute"] if a["type"] == "ip-dst|port"}
    ips |= {a["value"] for o in event["Object"] for a in o["Attribute"] if a["type"] == "ip-dst"}
    assert set(_by_type(item, "ipv4-addr")) == ips
    md5 = _by_type(item, "file")["1216da2b3d6e64075e8434be1058de06"]
    assert md5["hashes"] == {"MD5": "1216da2b3d6e64075e8434be1058de06"}

    port_attr = next(a for a in event["Attribute"] if a["value"] == "125.212.132.222|443")
    indicator = next(o for o in item.objects if o.id == minted_id("indicator", port_attr["uuid"]))
    assert indicator.stix["pattern"] == ("[network-traffic:dst_ref.value = '125.212.132.222' "
                                         "AND network-traffic:dst_port = 443]")
    assert indicator.stix["pattern_type"] == "stix"
    assert indicator.stix["valid_from"].startswith("20")
    rel = next(r for r in item.relationships if r.source_ref == indicator.id)
    assert (rel.relationship_type, rel.target_ref) == ("based-on", ip_id("125.212.132.222"))
    # every to_ids attribute of an IOC type (top level and in objects) is an indicator
    attrs = event["Attribute"] + [a for o in event["Object"] for a in o["Attribute"]]
    ioc_types = {"ip-dst", "ip-dst|port", "md5", "sha1", "sha256", "filename"}
    n_ids = sum(1 for a in attrs if a["to_ids"] and a["type"] in ioc_types)
    assert n_ids > 100
    assert doc.meta["indicator_count"] == n_ids == sum(o.type == "indicator" for o in item.objects)

    actor = _by_type(item, "intrusion-set")["Lazarus Group"]
    assert actor["id"] == entity_id("threat-actor", "Lazarus Group")
    rat = _by_type(item, "malware")["FALLCHILL"]
    assert rat["is_family"] is True and rat["malware_types"] == ["remote-access-trojan"]
    # both an actor and its malware are here, yet no relationship is invented between them
    assert {r.relationship_type for r in item.relationships} == {"based-on"}
    assert {m.object_id for m in item.mentions} == ({o.id for o in item.objects}
                                                  | {r.id for r in item.relationships})
    assert {m.extractor for m in item.mentions} == {"misp"}


def ip_id(value: str) -> str:
    obj = observable("ipv4", value)
    assert obj is not None
    return obj.id


def test_galaxy_blocks_become_entities_with_aliases(ctx: CollectContext, samples: Path) -> None:
    item = _one(ctx, samples / "misp" / "galaxy_1.json")
    apt1 = _by_type(item, "intrusion-set")["APT1 - G0006"]
    assert {"Comment Crew", "Comment Panda"} <= set(apt1["aliases"])
    assert {"source_name": "mitre-attack", "external_id": "G0006"} in apt1["external_references"]
    assert _by_type(item, "malware")["BACKSPACE - S0031"]["aliases"] == ["BACKSPACE", "Lecna"]
    # a cluster attached to an attribute inside an object
    technique = _by_type(item, "attack-pattern")["Account Manipulation - T1098"]
    assert technique["x_allsource_misp_meta"]["external_id"] == ["T1098"]
    guideline = _by_type(item, "x-allsource-galaxy-cluster")["Leak of confidential information"]
    assert guideline["x_allsource_galaxy_type"] == "guidelines"
    text = f"{item.document.title}\n{item.document.text}"  # spans index title, newline, text
    spans = {m.object_id: (m.start, m.end) for m in item.mentions if m.start is not None}
    start, end = spans[apt1["id"]]
    assert text[start:end] == "APT1 - G0006"
    assert "is a Chinese threat group" in text


def test_japanese_event_survives_with_its_distribution(store: SqlStore, ctx: CollectContext,
                                                       samples: Path) -> None:
    source = _source(samples / "misp" / "japanese_test.json", marking=Marking(tlp=TLP.AMBER))
    result = _run(store, ctx, source)
    assert (result.status, result.counts.new) == ("ok", 1)
    view = store.get(_doc_id(_event(samples / "misp" / "japanese_test.json")), OWNER)
    assert view is not None
    assert view["title"] == "Japanese Lorem Ipsum 条イ音態ぞゃご法説イシ技"
    assert "条イ音態ぞゃご法説イシ技位ーイ能目門初ヱ変整ごげ" in view["text"]
    assert "This is a contextual comment 条イ音態ぞゃご法説イシ技" in view["text"]
    # no tlp tag: the source default; distribution 1: this community only
    assert view["marking"]["tlp"] == "TLP:AMBER"
    assert view["marking"]["releasability"] == ["community"]
    assert entity_id("mitre-intrusion-set", "APT32 - G0050") in {o["id"] for o in view["objects"]}


def test_html_in_fields_is_stored_as_plain_text(ctx: CollectContext, samples: Path) -> None:
    item = _one(ctx, samples / "misp" / "HTML_event.json", marking=Marking(tlp=TLP.AMBER))
    text = item.document.text
    assert "Your documents, photos, databases and other important files have been encrypted!" \
        in text
    assert "Download and install the «Tor Browser» from https://www.torproject.org/" in text
    for markup in ("<html", "<div", "<h4", "<br", "<input", "&laquo;", "&nbsp;"):
        assert markup not in text
    # tlp:white (TLP 1.0) is CLEAR, and the input's TLP wins over the source default
    assert item.document.marking.tlp == TLP.CLEAR
    assert "1GCaWA685Nj2PqqG7P2ZBACYZB8ZtpQuQ9" in {
        o.name for o in item.objects if o.type == "x-allsource-cryptocurrency-wallet"}
    sha256 = "a5ff5f861bbb1ac7c6fd44f303f735fac01273ce2ae43a8acb683076192fcfcc"
    patterns = {o.stix["pattern"] for o in item.objects if o.type == "indicator"}
    assert f"[file:name = 'a5ff5f.exe' AND file:hashes.'SHA-256' = '{sha256}']" in patterns
    # the url attribute "decrypttozxybarc.onion" has no scheme: the url type refuses it
    assert item.document.meta["rejected_values"] == 1
    assert "decrypttozxybarc.onion" in {o.name for o in item.objects if o.type == "domain-name"}


def test_sightings_are_counted(ctx: CollectContext, samples: Path) -> None:
    path = samples / "misp" / "sighting_1.json"
    kinds = [s["type"] for a in _event(path)["Attribute"] for s in a.get("Sighting", [])]
    item = _one(ctx, path)
    assert item.document.meta["sightings"] == {
        "sighting": kinds.count("0"), "false-positive": kinds.count("1"),
        "expiration": kinds.count("2")}
    assert item.document.labels == ["PasteBin: MALWAREMESSIAGH", 'misp-galaxy:banker="Gozi"']
    assert "Banking trojan delivered primarily via email" in item.document.text


def test_tlp_tags_and_distribution_become_markings(ctx: CollectContext, samples: Path,
                                                   tmp_path: Path) -> None:
    event = _event(samples / "misp" / "sighting_1.json")
    event["Tag"].append({"name": "tlp:green"})
    event["distribution"] = "3"
    first, second = event["Attribute"][0], event["Attribute"][1]
    first["Tag"] = [{"name": "tlp:amber+strict"}]
    first["distribution"] = "0"
    second["distribution"] = "4"
    event["SharingGroup"] = {"name": "unused"}  # the group is named on the attribute level
    second["SharingGroup"] = {"name": "FIRST members"}
    item = _one(ctx, _write_event(tmp_path / "event.json", event))

    assert item.document.marking == Marking(tlp=TLP.GREEN)
    markings = {o.name: o.marking for o in item.objects if o.type == "domain-name"}
    assert markings[first["value"]] == Marking(tlp=TLP.AMBER_STRICT,
                                               releasability=frozenset({"organisation"}))
    assert markings[second["value"]] == Marking(
        tlp=TLP.GREEN, releasability=frozenset({"sharing-group:FIRST members"}))
    assert markings[event["Attribute"][2]["value"]] == Marking(tlp=TLP.GREEN)
    indicator = next(o for o in item.objects if o.id == minted_id("indicator", first["uuid"]))
    assert indicator.marking.tlp == TLP.AMBER_STRICT


def test_broken_attribute_is_skipped_and_noted(ctx: CollectContext, samples: Path,
                                               tmp_path: Path) -> None:
    event = _event(samples / "misp" / "sighting_1.json")
    broken = event["Attribute"][1].pop("value")
    event["Attribute"].append("not an attribute")
    item = _one(ctx, _write_event(tmp_path / "event.json", event))
    assert item.document.meta["skipped_attributes"] == [
        "Attribute[1]: no value", "Attribute[5]: not a JSON object"]
    domains = set(_by_type(item, "domain-name"))
    assert broken not in domains
    assert event["Attribute"][0]["value"] in domains


def test_garbage_and_non_events_are_quarantined(store: SqlStore, ctx: CollectContext,
                                                tmp_path: Path, samples: Path) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "a.json").write_bytes((samples / "misp" / "sighting_1.json").read_bytes())
    (folder / "b.json").write_bytes(b"\x00\x01\x02 definitely not json \xff")
    (folder / "c.json").write_bytes(b'{"name": "a JSON file without any event"}')
    result = _run(store, ctx, _source(folder))
    assert result.status == "ok"
    assert (result.counts.new, result.counts.quarantined) == (1, 2)
    reasons = sorted(q["reason"] for q in store.list_quarantine())
    assert "input is binary" in reasons[0] and "no MISP event found" in reasons[1]
    with pytest.raises(InputError, match="not valid JSON"):
        list(MispCollector(_source(folder), ctx).reparse(b"{oops", "b.json"))


def test_event_over_the_item_cap_is_quarantined(settings: Settings, samples: Path) -> None:
    small = settings.model_copy(update={"max_item_bytes": 20_000})
    ctx = CollectContext(settings=small, blobs=BlobStore(small.blob_dir))
    items = _items(ctx, samples / "misp" / "long_event.json")
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert len(rejected) == 1 and "over the 20000-byte item cap" in rejected[0].reason
    assert not [i for i in items if isinstance(i, Collected)]


def test_reparse_gives_the_same_document(ctx: CollectContext, samples: Path) -> None:
    path = samples / "misp" / "japanese_test.json"
    collected = _one(ctx, path)
    again = list(MispCollector(_source(path), ctx).reparse(path.read_bytes(), str(path)))
    assert len(again) == 1 and isinstance(again[0], Collected)
    assert again[0].document.id == collected.document.id


def _feed(samples: Path, folder: Path) -> dict[str, Any]:
    """A MISP feed (manifest.json + <uuid>.json) built from the real sample events."""
    folder.mkdir(parents=True)
    manifest: dict[str, Any] = {}
    for path in sorted((samples / "misp").glob("*.json")):
        event = _event(path)
        _write_event(folder / f"{event['uuid']}.json", event)
        manifest[event["uuid"]] = {k: event.get(k) for k in
                                   ("info", "timestamp", "Orgc", "Tag", "date", "analysis",
                                    "threat_level_id")}
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest))
    return manifest


class _Recorder(SimpleHTTPRequestHandler):
    requested: list[str]

    def do_GET(self) -> None:
        self.requested.append(self.path)
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feed_server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    root = tmp_path / "www"
    root.mkdir()
    requested: list[str] = []
    handler = type("Handler", (_Recorder,), {"requested": requested})
    srv = ThreadingHTTPServer(("127.0.0.1", 0),
                              functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", root, requested
    srv.shutdown()
    srv.server_close()


def test_feed_over_http_fetches_only_new_and_changed_events(
        store: SqlStore, ctx: CollectContext, samples: Path,
        feed_server: tuple[str, Path, list[str]]) -> None:
    base, root, requested = feed_server
    manifest = _feed(samples, root / "feed")
    source = _source(f"{base}/feed/", allow_private=True)

    first = _run(store, ctx, source)
    assert first.status == "ok", first.errors
    assert first.counts.new == 7
    assert sorted(requested) == sorted(["/feed/manifest.json"] +
                                       [f"/feed/{u}.json" for u in manifest])
    state = store.get_checkpoint(source.id)["events"]
    assert state == {u: m["timestamp"] for u, m in manifest.items()}
    japanese = "5c7cdc3b-2f40-4dca-8200-276c0a00020f"
    view = store.get(_doc_id(_event(root / "feed" / f"{japanese}.json")), OWNER)
    assert view is not None and view["url"] == f"{base}/feed/{japanese}.json"

    # the publisher edits one event: only that one is fetched again
    requested.clear()
    event = _event(root / "feed" / f"{japanese}.json")
    event["timestamp"] = str(int(event["timestamp"]) + 60)
    event["info"] += " (updated)"
    _write_event(root / "feed" / f"{japanese}.json", event)
    manifest[japanese]["timestamp"] = event["timestamp"]
    (root / "feed" / "manifest.json").write_bytes(orjson.dumps(manifest))
    second = _run(store, ctx, source)
    assert requested == ["/feed/manifest.json", f"/feed/{japanese}.json"]
    assert (second.counts.new, store.count("documents")) == (1, 8)

    requested.clear()
    third = _run(store, ctx, source)
    assert (requested, third.counts.items) == (["/feed/manifest.json"], 0)


def test_feed_on_loopback_is_refused_unless_allowed(store: SqlStore, ctx: CollectContext,
                                                    samples: Path,
                                                    feed_server: tuple[str, Path, list[str]]
                                                    ) -> None:
    base, root, requested = feed_server
    _feed(samples, root / "feed")
    result = _run(store, ctx, _source(f"{base}/feed/manifest.json"))
    assert result.status == "failed"
    assert "non-public address" in result.errors[0] and requested == []


def test_local_feed_ignores_manifest_keys_that_are_not_uuids(ctx: CollectContext,
                                                             samples: Path,
                                                             tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    manifest = _feed(samples, folder)
    (tmp_path / "secret.json").write_bytes((samples / "misp" / "sighting_1.json").read_bytes())
    manifest["../secret"] = {"timestamp": "1"}
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest))
    items = _items(ctx, folder)
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert len(rejected) == 1 and "not an event UUID" in rejected[0].reason
    assert len([i for i in items if isinstance(i, Collected)]) == 7
    checkpoint = [i for i in items if isinstance(i, Checkpoint)][-1].state
    assert "../secret" not in checkpoint["events"]
    assert not [i for i in _items(ctx, folder, checkpoint) if isinstance(i, Collected)]


def test_local_feed_with_a_missing_and_a_broken_event_file(ctx: CollectContext, samples: Path,
                                                          tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    manifest = _feed(samples, folder)
    missing, broken = sorted(manifest)[:2]
    (folder / f"{missing}.json").unlink()
    (folder / f"{broken}.json").write_bytes(b'{"Event": {"info": "truncated')
    items = _items(ctx, folder)
    reasons = {i.ref: i.reason for i in items if isinstance(i, Rejected)}
    assert len(reasons) == 2
    assert "cannot read" in reasons[f"{folder}/{missing}.json"]
    assert "not valid JSON" in reasons[f"{folder}/{broken}.json"]
    assert len([i for i in items if isinstance(i, Collected)]) == 5
    # the broken file is not fetched again until the feed changes it; the missing one is
    state = [i for i in items if isinstance(i, Checkpoint)][-1].state["events"]
    assert broken in state and missing not in state


def test_detect(samples: Path, tmp_path: Path) -> None:
    path = samples / "misp" / "galaxy_1.json"
    assert MispCollector.detect(str(path), path.read_bytes()[:4096]) == 95
    assert MispCollector.detect(str(samples / "misp"), b"") == 70
    _feed(samples, tmp_path / "feed")
    assert MispCollector.detect(str(tmp_path / "feed"), b"") == 90
    assert MispCollector.detect("https://feeds.example/misp/manifest.json", b"") == 90
    assert MispCollector.detect("notes.json", b'{"name": "x", "values": []}') == 0
    assert MispCollector.detect("page.html", b"<html><body>Event</body></html>") == 0
