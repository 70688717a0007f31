"""MISP events and a MISP feed of a selection (SQLite and PostgreSQL): PyMISP's MISPEvent
loads them, misp-stix converts them (and our STIX exports) without error, our own MISP
collector reads them back with their grades and sightings, and the feed reads as MISP
reads a feed (manifest, then each changed event, hashes for correlation)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
from pymisp import MISPEvent  # type: ignore[import-untyped]

from allsource.collect.misp_event import event_collected
from allsource.model.markings import Audience, Marking
from allsource.share.exports import export, export_feed
from allsource.share.misp_export import misp_events
from allsource.share.selection import select
from allsource.share.stix_bundle import export_bundle
from tests.share.conftest import CLEARED, READER, Native

OWNER = Audience.owner()


def _event(native: Native, audience: Audience = OWNER, **options: Any) -> dict[str, Any]:
    found = export(native.store, audience, "misp", **options)
    loaded: dict[str, Any] = orjson.loads(found.body)
    return loaded


def _values(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["value"]: a for a in event["Event"]["Attribute"]}


def test_event_loads_in_pymisp_with_attributes_tags_and_objects(native: Native) -> None:
    data = _event(native)
    event = MISPEvent()
    event.load(data)
    assert event.info and event.uuid == data["Event"]["uuid"]
    values = {a.value: a for a in event.attributes}
    assert values["203.0.113.45"].type == "ip-dst" and values["203.0.113.45"].to_ids
    assert values["invoice-portal.example.net"].type == "domain"
    assert values["CVE-2024-3400"].type == "vulnerability"
    assert not values["CVE-2024-3400"].to_ids  # a vulnerability is no detection indicator
    assert {o.name for o in event.objects} >= {"report", "file"}
    [file] = [o for o in event.objects if o.name == "file"]
    assert file.get_attributes_by_relation("sha256")[0].value.startswith("9f86d081")
    # the whole selection holds the AMBER report: the event is marked as its strictest part
    assert "tlp:amber" in {t.name for t in event.tags}


def test_sightings_and_grades_travel_and_come_back(graded: Native) -> None:
    data = _event(graded)
    ip = _values(data)["203.0.113.45"]
    assert {s["source"] for s in ip.get("Sighting", [])} >= {"desk-copy"}
    tags = {t["name"] for t in data["Event"]["Tag"]}
    assert any(t.startswith("admiralty-scale:information-credibility=") for t in tags)
    assert any(t.startswith("admiralty-scale:source-reliability=") for t in tags)
    back = event_collected(data["Event"], default_marking=Marking(), blob_sha256="0" * 64,
                           blob_ref="event")
    assert back.document.meta["sightings"]["sighting"] >= 1
    assert back.document.meta["admiralty"]["credibility"] in range(1, 7)
    assert {o.name for o in back.objects} >= {"203.0.113.45", "invoice-portal.example.net"}


def test_restricted_marking_tags_and_nothing_above_the_reader(native: Native) -> None:
    cleared = _event(native, CLEARED)
    tags = {t["name"] for t in cleared["Event"]["Tag"]}
    assert {"tlp:amber", 'allsource:classification="secret"', 'allsource:compartment="alpha"',
            'allsource:releasability="nato"'} <= tags
    assert cleared["Event"]["distribution"] == 0
    assert "192.0.2.77" in _values(cleared)
    shown = _event(native, READER)
    assert "tlp:clear" in {t["name"] for t in shown["Event"]["Tag"]}
    text = orjson.dumps(shown).decode()
    assert "192.0.2.77" not in text and "alpha" not in text and "restricted-desk" not in text


def test_misp_stix_converts_our_event_and_imports_our_bundle(native: Native) -> None:
    from misp_stix_converter import (  # type: ignore[import-untyped]
        ExternalSTIX2toMISPParser,
        MISPtoSTIX21Parser,
    )
    from stix2.parsing import parse  # type: ignore[import-untyped]

    to_stix = MISPtoSTIX21Parser()
    to_stix.parse_misp_event(_event(native))
    assert to_stix.errors == {} or not any(to_stix.errors.values()), to_stix.errors
    assert any(o.type == "indicator" for o in to_stix.stix_objects)
    bundle = export_bundle(native.store, select(native.store, CLEARED), CLEARED).bundle
    to_misp = ExternalSTIX2toMISPParser()
    to_misp.load_stix_bundle(parse(bundle, allow_custom=True))
    to_misp.parse_stix_bundle()
    assert not any(to_misp.errors.values()), to_misp.errors
    events = to_misp.misp_events if isinstance(to_misp.misp_events, list) \
        else [to_misp.misp_events]
    values = {a.value for e in events for a in e.attributes} | {
        a.value for e in events for o in e.objects for a in o.attributes}
    assert "203.0.113.45" in str(values) or any("203.0.113.45" in str(v) for v in values)


def _read_feed(folder: Path) -> dict[str, MISPEvent]:
    """What a MISP instance does with a feed: read the manifest, then each event it lists
    (checking the manifest's summary against the event), and the hashes for correlation."""
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    events = {}
    for uuid, summary in manifest.items():
        event = MISPEvent()
        event.load(orjson.loads((folder / f"{uuid}.json").read_bytes()))
        assert str(event.uuid) == uuid and event.info == summary["info"]
        assert str(int(event.timestamp.timestamp())) == summary["timestamp"]
        events[uuid] = event
    hashes = [line.split(",") for line in (folder / "hashes.csv").read_text().splitlines()]
    expected = {(hashlib.md5(str(a.value).encode()).hexdigest(), uuid)
                for uuid, e in events.items()
                for a in [*e.attributes, *(x for o in e.objects for x in o.attributes)]}
    assert {(h, u) for h, u in hashes} == expected
    return events


def test_feed_reads_as_misp_reads_a_feed(native: Native, tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    counts = export_feed(native.store, OWNER, folder)
    events = _read_feed(folder)
    assert counts["events"] == len(events) == 4  # one per report: sh-001..003, sh-r01
    first = next(e for e in events.values() if "lookalike" in e.info)
    assert "203.0.113.45" in {a.value for a in first.attributes}
    again = _read_feed(folder)
    assert {u: e.timestamp for u, e in again.items()} == {
        u: e.timestamp for u, e in events.items()}  # unchanged events keep their timestamp
    # a reader's feed never lists what they may not read; a narrower one drops the rest
    export_feed(native.store, READER, folder)
    narrowed = _read_feed(folder)
    assert set(narrowed) < set(events)
    assert not any("192.0.2.77" in p.read_text() for p in folder.iterdir())


def test_one_event_per_report_keeps_the_report_uuid(native: Native) -> None:
    bundle = export_bundle(native.store, select(native.store, OWNER), OWNER).bundle
    reports = {o["id"].partition("--")[2] for o in bundle["objects"] if o["type"] == "report"}
    events = misp_events(bundle, label="all", per_report=True)
    assert {e["Event"]["uuid"] for e in events} == reports
