"""Derived objects are seen through their evidence, one mention at a time (issue 10): an
entity seen in a TLP:CLEAR and a TLP:RED document is visible to a CLEAR reader with the
CLEAR mention only. Both backends."""

from __future__ import annotations

import orjson
import pytest

from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Mention, Relationship, Source, StixObject
from allsource.store.sql import SqlStore

CLEAR_READER = Audience(max_tlp=TLP.CLEAR)
RED = Marking(tlp=TLP.RED)
IP = "ipv4-addr--5a3c1e3e-0d0a-5b8e-9d0f-1f2e3d4c5b6a"
ACTOR = "intrusion-set--0d0a5b8e-5a3c-4e3e-9d0f-1f2e3d4c5b6a"
SECRET_ONLY = "domain-name--9d0f1f2e-3d4c-5b6a-5a3c-1e3e0d0a5b8e"
USES = "relationship--1f2e3d4c-5b6a-4a3c-9e3e-0d0a5b8e9d0f"


def _obj(oid: str, kind: str, name: str, marking: Marking, **extra: str) -> StixObject:
    return StixObject(oid, kind, name, {"type": kind, "id": oid, "name": name, **extra},
                      marking)


@pytest.fixture
def docs(store: SqlStore) -> tuple[Document, Document]:
    return fill(store)


def fill(store: SqlStore) -> tuple[Document, Document]:
    """A RED report naming an address, an actor and a domain (and that the actor uses the
    address), then a CLEAR report naming the address; returns (red, clear)."""
    src = Source("feed", "rss", "https://feed.example/rss")
    store.add_source(src)
    red = Document.build(kind="report", title="Red", text="198.51.100.7 used by APT-X",
                         marking=RED)
    clear = Document.build(kind="article", title="Clear", text="seen: 198.51.100.7")
    # the RED report proposes the address first, with a description of its own
    red_item = Collected(
        red, [_obj(IP, "ipv4-addr", "198.51.100.7", RED, description="red context"),
              _obj(ACTOR, "intrusion-set", "APT-X", RED),
              _obj(SECRET_ONLY, "domain-name", "secret.example", RED)],
        [Relationship(USES, "uses", ACTOR, IP, {"type": "relationship", "id": USES}, RED)],
        [Mention(IP, "test", 0, 12), Mention(ACTOR, "test", 21, 26),
         Mention(SECRET_ONLY, "test"), Mention(USES, "test")])
    clear_item = Collected(clear, [_obj(IP, "ipv4-addr", "198.51.100.7", Marking())], [],
                           [Mention(IP, "test", 6, 18)])
    store.write_batch(src, [red_item], [], None)
    store.write_batch(src, [clear_item], [], None)
    return red, clear


def test_the_object_shows_only_readable_evidence(store: SqlStore,
                                                 docs: tuple[Document, Document]) -> None:
    red, clear = docs
    view = store.get(IP, CLEAR_READER)
    assert view is not None
    assert [p["document_id"] for p in view["provenance"]] == [clear.id]
    assert view["relationships"] == []
    assert view["marking"]["tlp"] == "TLP:CLEAR"
    assert "description" not in view["stix"]  # the RED proposal's content
    assert red.id not in orjson.dumps(view).decode()

    owner = store.get(IP, Audience.owner())
    assert owner is not None
    assert {p["document_id"] for p in owner["provenance"]} == {red.id, clear.id}
    assert [r["id"] for r in owner["relationships"]] == [USES]
    assert owner["stix"]["description"] == "red context"


def test_objects_of_hidden_evidence_only_do_not_exist(store: SqlStore,
                                                      docs: tuple[Document, Document]
                                                      ) -> None:
    for oid in (ACTOR, SECRET_ONLY, USES):
        assert store.get(oid, CLEAR_READER) is None
        assert store.get(oid, Audience.owner()) is not None
    stats = store.stats(CLEAR_READER)
    assert (stats["objects"], stats["relationships"]) == (1, 0)
    assert (store.stats(Audience.owner())["objects"],
            store.stats(Audience.owner())["relationships"]) == (3, 1)


def test_a_document_lists_the_objects_of_its_readable_mentions(
        store: SqlStore, docs: tuple[Document, Document]) -> None:
    _, clear = docs
    view = store.get(clear.id, CLEAR_READER)
    assert view is not None
    assert [o["id"] for o in view["objects"]] == [IP]


def test_an_object_marked_above_its_document_stays_hidden(store: SqlStore) -> None:
    """A collected object's own marking travels into its mention: a RED object inside a
    CLEAR document is not visible through that document."""
    src = Source("bundle", "stix", "x")
    store.add_source(src)
    doc = Document.build(kind="report", title="Clear bundle", text="objects")
    store.write_batch(src, [Collected(doc, [_obj(SECRET_ONLY, "domain-name", "s", RED)], [],
                                      [Mention(SECRET_ONLY, "test")])], [], None)
    assert store.get(SECRET_ONLY, CLEAR_READER) is None
    view = store.get(doc.id, CLEAR_READER)
    assert view is not None and view["objects"] == []


def test_an_unmentioned_object_follows_its_own_marking(store: SqlStore) -> None:
    with store.engine.begin() as conn:
        from allsource.store import schema as t
        from allsource.store.sql import utc_now

        for oid, marking in ((ACTOR, Marking()), (SECRET_ONLY, RED)):
            conn.execute(t.objects.insert().values(
                id=oid, type="x", name=oid, stix={"id": oid}, created_at=utc_now(),
                **marking.to_columns()))
    assert store.get(ACTOR, CLEAR_READER) is not None
    assert store.get(SECRET_ONLY, CLEAR_READER) is None


def test_a_document_shows_hits_of_readable_watchlists_only(store: SqlStore,
                                                           docs: tuple[Document, Document]
                                                           ) -> None:
    from allsource.assess import watchlists as wl
    from allsource.store import schema as t
    from allsource.store.sql import utc_now

    _, clear = docs
    wl.save_watchlist(store, "closed PIR")  # the operator's: TLP:RED
    wl.save_watchlist(store, "open PIR", marking=Marking())
    hits = [{"watchlist": "closed PIR", "term": "198.51.100.7"},
            {"watchlist": "open PIR", "term": "seen"}]
    with store.engine.begin() as conn:
        conn.execute(t.stage_annotations.insert().values(
            document_id=clear.id, stage="watchlist", version="1", updated_at=utc_now(),
            data={"hits": hits, "watchlists": ["closed PIR", "open PIR"]}))
    seen = store.get(clear.id, CLEAR_READER)
    assert seen is not None
    note = seen["annotations"]["watchlist"]
    assert (note["watchlists"], note["hits"]) == (["open PIR"], hits[1:])
    owner = store.get(clear.id, Audience.owner())
    assert owner is not None and owner["annotations"]["watchlist"]["hits"] == hits


def _hub_with(store: SqlStore, n: int) -> str:
    """An actor that uses ``n`` addresses, all in one CLEAR report; returns the actor's id."""
    src = Source(f"hub{n}", "rss", f"https://hub{n}.example/rss")
    store.add_source(src)
    hub = f"intrusion-set--{n:08d}-0000-4000-8000-000000000000"
    ips = [f"ipv4-addr--{i:08d}-0000-4000-8000-{n:012d}" for i in range(n)]
    rels = [Relationship(f"relationship--{i:08d}-0000-4000-8000-{n:012d}", "uses", hub, ip,
                         {"type": "relationship"}, Marking()) for i, ip in enumerate(ips)]
    doc = Document.build(kind="report", title=f"Hub {n}", text="a hub report")
    store.write_batch(src, [Collected(
        doc, [_obj(hub, "intrusion-set", f"Hub {n}", Marking()),
              *(_obj(ip, "ipv4-addr", ip, Marking()) for ip in ips)], rels,
        [Mention(hub, "test"), *(Mention(ip, "test") for ip in ips),
         *(Mention(r.id, "test") for r in rels)])], [], None)
    return hub


def test_the_owners_view_of_an_object_costs_the_same_whatever_its_relationships(
        store: SqlStore) -> None:
    from tests.statements import statements

    sent = {}
    for n in (3, 40):
        hub = _hub_with(store, n)
        with statements(store) as seen:
            owner = store.get(hub, Audience.owner())
        sent[n] = len(seen)
        assert owner is not None and len(owner["relationships"]) == n
        # a restricted reader still gets each listed relationship re-checked, and the same
        # list here (every piece of evidence is CLEAR)
        reader = store.get(hub, CLEAR_READER)
        assert reader is not None
        assert [r["id"] for r in reader["relationships"]] == [
            r["id"] for r in owner["relationships"]]
    assert sent[40] == sent[3]


def test_a_restricted_readers_view_costs_the_same_whatever_its_relationships(
        store: SqlStore) -> None:
    """The listed relationships are re-checked in one batch, not one statement each."""
    from tests.statements import statements

    sent = {}
    for n in (3, 40):
        hub = _hub_with(store, n)
        with statements(store) as seen:
            reader = store.get(hub, CLEAR_READER)
        sent[n] = len(seen)
        assert reader is not None and len(reader["relationships"]) == n
    assert sent[40] == sent[3]


def test_the_batched_recheck_matches_the_one_row_recheck(
        store: SqlStore, docs: tuple[Document, Document]) -> None:
    """``reader_markings`` over many rows answers as ``reader_marking`` row by row: visible
    through readable evidence only, hidden when every mention is unreadable, an unmentioned
    object by its own marking, a missing id absent — for a restricted, a RED and the owner's
    audience."""
    from allsource.store import derived
    from allsource.store import schema as t

    src = Source("refs", "rss", "https://refs.example/rss")
    store.add_source(src)
    plain, secret = (f"attack-pattern--{i:08d}-0000-4000-8000-000000000000" for i in (1, 2))
    store.write_batch(src, [Collected(
        Document.build(kind="report", title="refs", text="no mentions here"),
        [_obj(plain, "attack-pattern", "Plain", Marking()),
         _obj(secret, "attack-pattern", "Secret", RED)], [], [])], [], None)
    ids = [IP, ACTOR, SECRET_ONLY, plain, secret, "tool--missing"]
    for audience in (CLEAR_READER, Audience(max_tlp=TLP.RED), Audience.owner()):
        with store.engine.connect() as conn:
            batched = derived.reader_markings(store, conn, t.objects, ids, audience)
            one_by_one = {i: derived.reader_marking(store, conn, t.objects, i, audience)
                          for i in ids}
            rels = derived.reader_markings(store, conn, t.relationships, [USES], audience)
            rel = derived.reader_marking(store, conn, t.relationships, USES, audience)
        assert batched == {i: m for i, m in one_by_one.items() if m is not None}
        assert rels == ({USES: rel} if rel is not None else {})
    with store.engine.connect() as conn:
        assert set(derived.reader_markings(store, conn, t.objects, ids, CLEAR_READER)) == {
            IP, plain}
