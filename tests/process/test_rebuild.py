"""Rebuilding documents from their kept raw blobs (``allsource process --rebuild``), on both
store backends: a parser fix reaches stored documents and everything derived from them, and the
store ends up as a fresh collect + process with the fixed parser would leave it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from allsource.collect import extract_text, feedtext, file_records, stix
from allsource.collect.base import CannotRebuild, CollectContext, Collector
from allsource.collect.extract_text import Extracted, first_line
from allsource.collect.htmltext import normalize_space
from allsource.collect.runner import run_source
from allsource.config import Settings
from allsource.engine.inline import InlineEngine
from allsource.model.markings import TLP, TLP2_MARKING_IDS, Audience, Marking
from allsource.model.records import Item, Source
from allsource.plugins import collectors
from allsource.process.pipeline import build_pipeline
from allsource.process.rebuild import RebuildResult, rebuild_documents
from allsource.process.runner import process_store
from allsource.store import crypto, open_store
from allsource.store import schema as t
from allsource.store.blobs import BlobStore
from allsource.store.embeddings import MARKINGS, versions
from allsource.store.query import SearchQuery
from allsource.store.sql import SqlStore

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
OWNER = Audience.owner()
TABLES = ("documents", "sightings", "objects", "relationships", "mentions", "annotations",
          "story_members", "stories", "lsh_bands", "minhash_signatures", "quarantine")


def _sources() -> list[Source]:
    return [Source(name="feed", kind="rss", location=str(FIXTURES / "rss/site/feed.xml"),
                   config={"fulltext": "never"}),
            Source(name="files", kind="files", location=str(FIXTURES / "files")),
            Source(name="stix", kind="stix", location=str(FIXTURES / "stix"))]


def _collect(store: SqlStore, settings: Settings, sources: list[Source]) -> None:
    for src in sources:
        if store.get_source(src.name) is None:
            store.add_source(src)
        result = run_source(store, src, CollectContext(settings=settings, blobs=store.blobs))
        assert result.status == "ok", result.errors


def _process(store: SqlStore, source_ids: tuple[str, ...] = ()) -> int:
    pipeline = build_pipeline(store=store)
    result = process_store(store, pipeline, InlineEngine(pipeline), source_ids=source_ids)
    assert result.failures == 0
    return result.documents


def _rebuild(store: SqlStore, settings: Settings, *names: str) -> RebuildResult:
    ids = [src.id for name in names if (src := store.get_source(name)) is not None]
    result = rebuild_documents(store, settings, ids)
    _process(store, tuple(ids))
    return result


# -- the parser bugs a fix removes --------------------------------------------------------------

def _regex_html_to_text(markup: str) -> str:
    """An "old" HTML cleaner: tags cut out by a regex, so script bodies and link targets stay."""
    text = re.sub(r'<a\s+href="([^"]*)"[^>]*>', r" \1 ", markup)
    return normalize_space(re.sub(r"<[^>]+>", " ", text))


@contextmanager
def _buggy_parsers() -> Iterator[None]:
    """Collect with three bugs: feed HTML cleaned by a regex, Markdown titles keeping their
    ``#``, STIX descriptions cut at 40 characters."""
    markdown, body = extract_text.markdown, stix._body

    def old_markdown(data: bytes, name: str) -> Extracted:
        got = markdown(data, name)
        return Extracted(first_line(got.text), got.text, got.media_type)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(feedtext, "html_to_text", _regex_html_to_text)
        mp.setitem(extract_text.EXTRACTORS, ".md", old_markdown)
        mp.setattr(stix, "_body", lambda obj: body(obj)[:40])
        yield


# -- comparing stores ---------------------------------------------------------------------------

def snapshot(store: SqlStore) -> dict[str, Any]:
    """Everything a store holds, keyed so that two stores compare by content: a document by
    its blob and place in it (its id may differ), stories as sets of documents."""
    with store.engine.connect() as conn:
        docs = conn.execute(sa.select(t.documents)).all()
        key = {d.id: (d.blob_sha256, d.blob_ref) for d in docs}
        names = {s.id: s.name for s in conn.execute(sa.select(t.sources))}
        out: dict[str, Any] = {"counts": {}}
        out["documents"] = {key[d.id]: (d.kind, d.title, d.text, d.url, d.content_hash,
                                        d.labels, d.meta, d.tlp, d.published_at)
                            for d in docs}
        out["sightings"] = {(key[s.document_id], names[s.source_id])
                            for s in conn.execute(sa.select(t.sightings))}
        out["objects"] = {(o.id, o.type, o.name, o.tlp)
                          for o in conn.execute(sa.select(t.objects))}
        out["relationships"] = {(r.id, r.relationship_type, r.source_ref, r.target_ref, r.tlp)
                                for r in conn.execute(sa.select(t.relationships))}
        out["mentions"] = {(m.object_id, key[m.document_id], m.extractor, m.span_start,
                            m.span_end) for m in conn.execute(sa.select(t.mentions))}
        out["annotations"] = {(key[a.document_id], a.stage, a.version):
                              orjson.dumps(a.data, option=orjson.OPT_SORT_KEYS)
                              for a in conn.execute(sa.select(t.stage_annotations))
                              if a.stage != "stories"}
        stories: dict[str, set[Any]] = {}
        for m in conn.execute(sa.select(t.story_members)):
            stories.setdefault(m.story_id, set()).add(key[m.document_id])
        out["stories"] = {frozenset(members) for members in stories.values()}
        out["canonical"] = {key[s.canonical_document_id]
                            for s in conn.execute(sa.select(t.stories))}
        out["quarantine"] = {(q.blob_sha256, q.item_ref, q.reason, q.status)
                             for q in conn.execute(sa.select(t.quarantine))}
    out["counts"] = {table: store.count(table) for table in TABLES}
    return out


@pytest.fixture
def fresh(tmp_path: Path, settings: Settings) -> Iterator[SqlStore]:
    """A second, empty store (SQLite) for a collect + process with the fixed parsers."""
    other = open_store(settings.model_copy(update={
        "database_url": f"sqlite:///{tmp_path / 'fresh.db'}", "blob_dir": tmp_path / "fresh"}))
    yield other
    other.close()


# -- tests ----------------------------------------------------------------------------------------

def test_a_parser_fix_reaches_stored_documents_as_a_fresh_collect_would(
        store: SqlStore, settings: Settings, fresh: SqlStore) -> None:
    with _buggy_parsers():
        _collect(store, settings, _sources())
    _process(store)
    before = {d: store.get(d, OWNER) for d in store.document_ids()}
    [dos_id] = [d for d, v in before.items() if v and v["title"] == "Modify Parameter (T0836)"]
    assert "alert(" in before[dos_id]["text"]  # type: ignore[index]
    leaked = {o["id"] for o in before[dos_id]["objects"]  # type: ignore[index]
              if "attack.mitre.org" in o["name"]}
    assert leaked  # the link target became an observable

    result = _rebuild(store, settings, "feed", "files", "stix")
    assert (result.documents, result.missing_blobs, result.not_rederived, result.unsupported,
            result.quarantined) == (len(before), 0, 0, 0, 0)
    assert 3 <= result.changed < len(before)
    assert set(store.document_ids()) == set(before)  # same ids, new content
    after = store.get(dos_id, OWNER)
    assert after is not None and "alert(" not in after["text"]
    assert not leaked & {o["id"] for o in after["objects"]}
    assert all(store.get(o, OWNER) is None for o in leaked)  # nothing else proposed them

    _collect(fresh, settings, _sources())
    _process(fresh)
    rebuilt = snapshot(store)
    assert rebuilt == snapshot(fresh)

    again = _rebuild(store, settings, "feed", "files", "stix")
    assert (again.documents, again.changed) == (len(before), 0)
    assert snapshot(store) == rebuilt


def _galaxy_cut(tmp_path: Path) -> Path:
    """The first clusters of the real threat-actor galaxy (pymispgalaxies), as a small file."""
    from allsource.collect.galaxy import clusters_dir

    folder = clusters_dir()
    assert folder is not None, "pymispgalaxies is a dependency of allsource"
    galaxy = orjson.loads((folder / "threat-actor.json").read_bytes())
    galaxy["values"] = galaxy["values"][:6]
    path = tmp_path / "threat-actor.json"
    path.write_bytes(orjson.dumps(galaxy))
    return path


@pytest.mark.parametrize("kind", ["rss", "files", "stix", "gdelt", "galaxy", "misp"])
def test_every_collector_rebuilds_exactly_what_it_collected(
        store: SqlStore, settings: Settings, tmp_path: Path, kind: str,
        request: pytest.FixtureRequest) -> None:
    location = {"rss": FIXTURES / "rss/site/feed.xml", "files": FIXTURES / "files",
                "stix": FIXTURES / "stix", "gdelt": FIXTURES / "gdelt"}.get(kind)
    if kind == "galaxy":
        location = _galaxy_cut(tmp_path)
    elif kind == "misp":
        location = request.getfixturevalue("samples") / "misp/japanese_test.json"
    _collect(store, settings, [Source(name=kind, kind=kind, location=str(location),
                                      config={"fulltext": "never"} if kind == "rss" else {})])
    _process(store)
    before = snapshot(store)
    assert before["counts"]["documents"] > 0

    result = _rebuild(store, settings, kind)
    assert (result.documents, result.changed, result.not_rebuilt, result.quarantined) == (
        before["counts"]["documents"], 0, 0, 0), result.messages
    assert snapshot(store) == before


def test_a_missing_blob_is_reported_and_its_documents_kept(
        store: SqlStore, settings: Settings) -> None:
    _collect(store, settings, _sources()[1:2])
    _process(store)
    records = [d for d in map(lambda i: store.get(i, OWNER), store.document_ids())
               if d is not None and d["blob_ref"].startswith("line:")]
    sha = records[0]["blob_sha256"]
    store.blobs.path(sha).unlink()

    result = _rebuild(store, settings, "files")
    assert result.missing_blobs == len(records) == 4
    assert result.documents == store.count("documents") - len(records)
    assert any(sha in m and "missing" in m for m in result.messages)
    for doc in records:  # kept as stored, with what processing found
        kept = store.get(doc["id"], OWNER)
        assert kept is not None and kept["text"] == doc["text"]
        assert kept["annotations"] == doc["annotations"]


def test_a_blob_that_no_longer_parses_is_quarantined_once_and_its_documents_kept(
        store: SqlStore, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    _collect(store, settings, _sources()[2:])
    _process(store)
    before = snapshot(store)

    def stricter(data: bytes, name: str) -> stix.ParsedBundle:
        raise stix.BundleError(f"{name}: STIX 2.0 bundles are no longer accepted", data)

    monkeypatch.setattr(stix, "parse_bundle", stricter)
    result = _rebuild(store, settings, "stix")
    assert (result.documents, result.quarantined) == (0, 2)  # two bundle files
    assert result.not_rederived == before["counts"]["documents"]
    reasons = {q["reason"] for q in store.list_quarantine()}
    assert reasons == {"using-marking-definitions.json: STIX 2.0 bundles are no longer "
                       "accepted", "using-granular-markings.json: STIX 2.0 bundles are no "
                       "longer accepted"}
    after = snapshot(store)
    assert {k: v for k, v in after.items() if k not in ("quarantine", "counts")} == {
        k: v for k, v in before.items() if k not in ("quarantine", "counts")}

    again = _rebuild(store, settings, "stix")
    assert again.quarantined == 0 and store.count("quarantine") == 2


def test_an_item_now_rejected_is_quarantined_and_its_document_kept(
        store: SqlStore, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    _collect(store, settings, _sources()[1:2])
    _process(store)
    quarantined = store.count("quarantine")
    record = file_records._record_document

    def stricter(obj: dict[str, Any], n: int, sha: str, marking: Marking) -> Any:
        return "line 2: no text key" if obj.get("id") == "rpt-002" else record(
            obj, n, sha, marking)

    monkeypatch.setattr(file_records, "_record_document", stricter)
    result = _rebuild(store, settings, "files")
    assert (result.not_rederived, result.quarantined) == (1, 1)
    assert any("'VPN appliance exploitation'" in m and "kept as stored" in m
               for m in result.messages)
    [kept] = [d for d in map(lambda i: store.get(i, OWNER), store.document_ids())
              if d is not None and d["title"] == "VPN appliance exploitation"]
    assert kept["annotations"]  # its derived data is left alone
    assert store.count("quarantine") == quarantined + 1
    assert _rebuild(store, settings, "files").quarantined == 0


def test_objects_another_document_mentions_survive(
        store: SqlStore, settings: Settings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, text in (("a", "Relay report\nC2 beacon to 198.51.100.7 every minute.\n"
                              "-- \nForwarded via 203.0.113.9\n"),
                       ("b", "Scanner log\nInbound scans from 198.51.100.7 on port 22.\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.txt").write_text(text, encoding="utf-8")
    _collect(store, settings, [Source(name=n, kind="files", location=str(tmp_path / n))
                               for n in ("a", "b")])
    _process(store)
    ips = {o["name"]: o["id"] for d in store.document_ids() if (v := store.get(d, OWNER))
           for o in v["objects"] if o["type"] == "ipv4-addr"}
    assert set(ips) == {"198.51.100.7", "203.0.113.9"}

    plain = extract_text.plain_text

    def without_signature(data: bytes, name: str) -> Extracted:
        got = plain(data, name)
        got.text = got.text.split("\n-- \n")[0]
        return got

    monkeypatch.setitem(extract_text.EXTRACTORS, ".txt", without_signature)
    result = _rebuild(store, settings, "a")
    assert (result.documents, result.changed) == (1, 1)
    shared = store.get(ips["198.51.100.7"], OWNER)
    assert shared is not None and len(shared["provenance"]) == 2  # still in both documents
    assert store.get(ips["203.0.113.9"], OWNER) is None  # only the signature had it


def test_markings_never_loosen(store: SqlStore, settings: Settings) -> None:
    src = Source(name="files", kind="files", location=str(FIXTURES / "files"),
                 marking=Marking(tlp=TLP.AMBER))
    _collect(store, settings, [src])

    def set_tlp(tlp: TLP) -> None:
        with store.engine.begin() as conn:
            conn.execute(t.sources.update().values(tlp=int(tlp)))

    def tlps() -> set[int]:
        with store.engine.connect() as conn:
            return set(conn.execute(sa.select(t.documents.c.tlp)).scalars())

    def markings_version() -> int:
        with store.engine.connect() as conn:
            return versions(conn, MARKINGS)[0]

    v0 = markings_version()
    set_tlp(TLP.CLEAR)  # the source's default is lowered: stored documents stay AMBER
    assert _rebuild(store, settings, "files").changed == 0
    assert tlps() == {int(TLP.AMBER)}
    assert markings_version() == v0  # nothing rewritten: in-memory markings stay valid
    set_tlp(TLP.RED)  # raised: they follow
    assert _rebuild(store, settings, "files").changed == store.count("documents")
    assert tlps() == {int(TLP.RED)}
    assert markings_version() > v0  # ... and copies of the old markings reload


def test_documents_of_a_removed_source_are_reported_not_rebuilt(
        store: SqlStore, settings: Settings) -> None:
    _collect(store, settings, _sources()[2:])
    store.remove_source("stix")
    result = rebuild_documents(store, settings)
    assert (result.documents, result.unsupported) == (0, store.count("documents"))
    assert any("no longer exists" in m for m in result.messages)



def test_every_built_in_collector_can_rebuild(settings: Settings) -> None:
    built_in = {name: cls for name, cls in collectors().items()
                if cls.__module__.startswith("allsource.")}
    assert {"rss", "stix", "taxii", "misp", "files", "gdelt", "galaxy"} <= set(built_in)
    assert all(cls.rebuild is not Collector.rebuild for cls in built_in.values())

    class Plain(Collector):  # a third-party collector that does not implement it
        name = "plain"

        def collect(self, checkpoint: dict[str, Any]) -> Iterator[Item]:
            return iter(())

    plain = Plain(Source(name="p", kind="plain", location="x"),
                  CollectContext.offline(settings, BlobStore(settings.blob_dir)))
    with pytest.raises(CannotRebuild, match="the plain collector cannot rebuild"):
        list(plain.rebuild(b"raw", []))


def test_a_mixed_bundle_rebuilds_to_the_same_part_documents(
        store: SqlStore, settings: Settings, tmp_path: Path) -> None:
    """A bundle whose objects carry different TLP markings is stored as its bundle document
    and part documents by marking (collect/stix.py), so a CLEAR reader sees its CLEAR
    objects; a rebuild finds every document again."""
    objects = [{"type": "ipv4-addr", "spec_version": "2.1",
                "id": f"ipv4-addr--00000000-0000-4000-8000-00000000000{n}",
                "value": f"198.51.100.{n}",
                **({"object_marking_refs": [TLP2_MARKING_IDS[tlp]]} if tlp is not None
                   else {})}
               for n, tlp in ((1, TLP.RED), (2, None), (3, TLP.CLEAR))]
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "mixed.json").write_bytes(orjson.dumps({
        "type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000009",
        "objects": objects}))
    _collect(store, settings, [Source(name="mixed", kind="stix", location=str(folder))])
    _process(store)
    before = snapshot(store)
    n = before["counts"]["documents"]
    assert n == 4  # the bundle document and a part per set of marking references
    clear = Audience(max_tlp=TLP.CLEAR)
    assert [store.get(o["id"], clear) is not None for o in objects] == [False, True, True]
    result = _rebuild(store, settings, "mixed")
    assert (result.documents, result.changed, result.not_rebuilt, result.quarantined) == (
        n, 0, 0, 0), result.messages
    assert snapshot(store) == before
    assert [store.get(o["id"], clear) is not None for o in objects] == [False, True, True]


def test_a_rebuild_on_an_encrypted_store_keeps_documents_sealed_and_indexed(
        sealed_store: SqlStore, settings: Settings) -> None:
    """Rebuilt documents are written sealed, as collected ones are, and the full-text index
    follows the new text: a word only the buggy parse had stops matching, one only the fix
    restores matches."""
    store = sealed_store
    with _buggy_parsers():
        _collect(store, settings, _sources())
    _process(store)

    def found(words: str) -> set[str]:
        return {h.id for h in store.search(SearchQuery(text=words, limit=100), OWNER).hits}

    [dos_id] = [d for d in store.document_ids()
                if (v := store.get(d, OWNER)) and v["title"] == "Modify Parameter (T0836)"]
    assert dos_id in found("alert")  # the buggy HTML cleaning kept a script's text
    result = _rebuild(store, settings, "feed", "files", "stix")
    assert result.changed >= 3
    assert dos_id not in found("alert")
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT title, text FROM documents").all()
    assert rows and all(crypto.is_token(r.title) and crypto.is_token(r.text) for r in rows)
    for doc_id in store.document_ids():
        doc = store.get(doc_id, OWNER)
        assert doc is not None
        word = max(re.findall(r"[A-Za-z]{6,}", doc["text"]) or [""], key=len)
        if word:
            assert doc_id in found(word), (doc_id, word)
