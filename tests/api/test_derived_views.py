"""Derived views over the API as a reader sees them (leaks 1, 2 and 4 of issue 10), on both
backends: stories named, sized and matched by readable members only, a story known only by
its first readable member (any other ID answers as a missing one), grades without hidden
reports, objects through readable mentions, and watchlists marked at their creator's
ceiling."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from allsource.engine.inline import InlineEngine
from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Document, Mention, Source, StixObject
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from tests.api.conftest import World

V = "/api/v1"
# hand-written for this test: long enough for the near-duplicate index to match its copy
GRID = ("Operators of a regional power grid reported that a wiper disabled the control "
        "servers of three substations overnight. Engineers restored manual control within "
        "hours, but the billing systems stayed offline for two days while the company "
        "rebuilt them from backups. Investigators found the wiper had been staged weeks "
        "earlier through a compromised remote maintenance account used by a contractor.")
IP = "ipv4-addr--7a3c1e3e-0d0a-5b8e-9d0f-1f2e3d4c5b6a"


def _red_founded_story(world: World) -> tuple[Document, Document]:
    src = Source("secret-desk", "rss", "https://secret.example/feed")
    world.store.add_source(src)
    red = Document.build(kind="article", title="Grid wiper (closed source)", text=GRID,
                         published_at=datetime(2024, 3, 1, tzinfo=UTC),
                         marking=Marking(tlp=TLP.RED))
    world.store.write_batch(src, [Collected(red)], [], None)
    clear = Document.build(kind="article", title="Grid wiper (wire)",
                           text="WIRE — " + GRID + " More from our desk.",
                           published_at=datetime(2024, 3, 2, tzinfo=UTC))
    world.store.write_batch(src, [Collected(clear)], [], None)
    pipeline = build_pipeline(["stories"], store=world.store)
    process_store(world.store, pipeline, InlineEngine(pipeline))
    return red, clear


def test_a_reader_never_meets_a_hidden_story_member(world: World) -> None:
    red, clear = _red_founded_story(world)
    c, reader = world.client, world.reader
    doc = c.get(f"{V}/documents/{clear.id}", headers=reader).json()
    body = orjson.dumps(doc).decode()
    assert red.id not in body
    assert doc["story"]["id"] == doc["story"]["canonical_document_id"] == clear.id
    assert doc["story"]["documents"] == 1 and doc["story"]["matched_id"] is None

    hidden = c.get(f"{V}/stories/{red.id}", headers=reader)
    missing = c.get(f"{V}/stories/x-allsource-document--00000000-0000-5000-8000-"
                    "000000000000", headers=reader)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["code"] == missing.json()["error"]["code"]
    story = c.get(f"{V}/stories/{clear.id}", headers=reader).json()
    assert (story["size"], [m["document_id"] for m in story["members"]]) == (1, [clear.id])
    listed = c.get(f"{V}/stories?limit=100", headers=reader).json()["items"]
    assert red.id not in orjson.dumps(listed).decode()
    assert [s["size"] for s in listed if s["id"] == clear.id] == [1]
    hits = c.get(f"{V}/search", params={"q": "substations"}, headers=reader).json()
    assert red.id not in orjson.dumps(hits).decode()
    assert [g["story_documents"] for g in hits["items"] if g["best"]["id"] == clear.id] == [1]

    # the admin may read the RED founder: the story as stored
    admin = c.get(f"{V}/stories/{red.id}", headers=world.admin).json()
    assert admin["size"] == 2

    # the web page says the same
    token = reader["Authorization"].removeprefix("Bearer ")
    assert c.post("/login", data={"token": token}, follow_redirects=False).status_code == 303
    page = c.get(f"/documents/{clear.id}")
    assert page.status_code == 200 and "1 document(s) in this story" in page.text
    assert red.id not in page.text


def test_an_object_seen_in_a_red_and_a_clear_document(world: World) -> None:
    src = Source("obs", "rss", "https://obs.example/feed")
    world.store.add_source(src)
    red = Document.build(kind="report", title="r", text="198.51.100.9",
                         marking=Marking(tlp=TLP.RED))
    clear = Document.build(kind="report", title="c", text="seen 198.51.100.9")
    ip = {"type": "ipv4-addr", "id": IP, "value": "198.51.100.9"}
    world.store.write_batch(src, [Collected(red, [StixObject(
        IP, "ipv4-addr", "198.51.100.9", ip, Marking(tlp=TLP.RED))], [], [Mention(IP, "t")])],
        [], None)
    world.store.write_batch(src, [Collected(clear, [StixObject(
        IP, "ipv4-addr", "198.51.100.9", ip)], [], [Mention(IP, "t")])], [], None)
    seen = world.client.get(f"{V}/observables/{IP}", headers=world.reader).json()
    assert [p["document_id"] for p in seen["provenance"]] == [clear.id]
    assert seen["marking"]["tlp"] == "TLP:CLEAR"
    # first seen: when the CLEAR report came, not when the RED one first proposed it
    owner = world.client.get(f"{V}/observables/{IP}", headers=world.admin).json()
    assert seen["created_at"] > owner["created_at"]
    listed = world.client.get(f"{V}/observables?limit=100", headers=world.reader).json()
    assert IP in [o["id"] for o in listed["items"]]


def test_a_watchlist_defaults_to_its_creators_ceiling(world: World) -> None:
    made = world.client.post(f"{V}/watchlists", json={"name": "pir", "keywords": ["grid"]},
                             headers=world.admin)
    assert made.status_code == 201
    assert made.json()["marking"]["tlp"] != "TLP:CLEAR"
    assert world.client.get(f"{V}/watchlists/pir", headers=world.reader).status_code == 404


def test_a_reader_grade_names_no_hidden_report(world: World) -> None:
    """Leak 1 of issue 10, over the API and the web page's "Why this grade": a CLEAR report
    confirmed only by TLP:RED reports is "possibly true" (one origin) for a reader, and
    neither the RED documents' IDs nor their outlets appear."""
    from allsource.verify.run import verify_store
    from tests.verify.test_audience import RED_OUTLETS
    from tests.verify.test_verify_store import INDEPENDENT, ORIGINAL, WHEN, _process

    def add(outlet: str, text: str, marking: Marking) -> Document:
        src = Source(outlet, "rss", f"https://{outlet}/feed")
        world.store.add_source(src)
        doc = Document.build(kind="article", title=f"{outlet} on CHOPSTICK", text=text,
                             url=f"https://{outlet}/chopstick", published_at=WHEN,
                             marking=marking)
        world.store.write_batch(src, [Collected(doc)], [], None)
        return doc

    clear = add("first.example", ORIGINAL, Marking())
    red = [add(o, text, Marking(tlp=TLP.RED)) for o, text in zip(RED_OUTLETS, INDEPENDENT,
                                                                    strict=True)]
    _process(world.store)
    verify_store(world.store)

    def hidden_in(text: str) -> list[str]:
        return [x for d, o in zip(red, RED_OUTLETS, strict=True) for x in (d.id, o)
                if x in text]

    grade = world.client.get(f"{V}/documents/{clear.id}", headers=world.reader).json()["grade"]
    assert grade is not None and hidden_in(orjson.dumps(grade).decode()) == []
    uses = [c for c in grade["explanation"]["claims"] if c["key"].startswith("rel:uses:")]
    assert uses and all(c["independent_origins"] == 1 for c in uses)
    owner = world.client.get(f"{V}/documents/{clear.id}", headers=world.admin).json()["grade"]
    assert hidden_in(orjson.dumps(owner).decode())  # the admin reads everything

    token = world.reader["Authorization"].removeprefix("Bearer ")
    assert world.client.post("/login", data={"token": token},
                             follow_redirects=False).status_code == 303
    page = world.client.get(f"/documents/{clear.id}")
    assert page.status_code == 200 and "Why this grade" in page.text
    assert hidden_in(page.text) == []
