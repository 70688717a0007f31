"""The runner: no input stops more than its own item or its own source.

The hostile inputs are authored here; the real collectors read them from files or a mock
transport. A bad item is quarantined with its reason, the other items of its batch are stored,
and a source whose collector breaks fails alone."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allsource.collect.base import CollectContext, Collector
from allsource.collect.runner import _describe, run_source
from allsource.config import Settings
from allsource.model.records import Collected, Document, Item, Source
from allsource.plugins import get_collector
from allsource.store.sql import SqlStore


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"a": value}
    return value


def _doc(title: str, **meta: Any) -> Collected:
    return Collected(Document.build(kind="file", title=title, text=f"The text of {title}.",
                                    meta=meta))


class _Unstorable(Collector):
    """Yields a good item, one whose metadata the store's JSON encoder refuses, a good one."""

    name = "unstorable"

    def collect(self, checkpoint: dict[str, Any]) -> Iterator[Item]:
        yield _doc("first")
        yield _doc("too deep", nested=_deep(300))
        yield _doc("last")


class _Breaks(Collector):
    """Yields one item, then fails as a parser bug would."""

    name = "breaks"

    def collect(self, checkpoint: dict[str, Any]) -> Iterator[Item]:
        yield _doc("before the bug")
        raise TypeError("unhashable type: 'list'")


def test_an_unstorable_item_is_quarantined_and_its_batch_stored(
        store: SqlStore, ctx: CollectContext) -> None:
    source = Source("odd", "files", "nowhere")
    store.add_source(source)
    result = run_source(store, source, ctx, collector_cls=_Unstorable)
    assert result.status == "ok"
    assert (result.counts.new, result.counts.quarantined) == (2, 1)
    [entry] = store.list_quarantine("open")
    assert entry["reason"].startswith(f"cannot store {entry['item_ref']}: TypeError")
    # named by its reference, never by its title or text (the quarantine is not sealed)
    assert "too deep" not in entry["reason"] and "The text of" not in entry["reason"]
    assert store.count("documents") == 2


def test_a_statement_error_is_described_without_its_parameters() -> None:
    exc = sa.exc.StatementError("bind failed", "INSERT INTO documents (text) VALUES (?)",
                                {"text": "words of a protected report"}, ValueError("bad"))
    assert "words of a protected report" in str(exc)
    assert _describe(exc) == "ValueError: bad"
    assert _describe(KeyError()) == "KeyError"


def test_a_collector_bug_fails_its_source_only(store: SqlStore, ctx: CollectContext) -> None:
    broken, fine = Source("broken", "files", "nowhere"), Source("fine", "files", "nowhere")
    store.add_source(broken)
    store.add_source(fine)
    failed = run_source(store, broken, ctx, collector_cls=_Breaks)
    assert failed.status == "failed" and "TypeError" in failed.errors[0]
    assert failed.counts.new == 1  # what came before the bug is kept
    assert run_source(store, fine, ctx, collector_cls=_Unstorable).status == "ok"
    assert "TypeError" in store.source_status(broken.id)["last_status"]


def _bundle(*objects: dict[str, Any]) -> bytes:
    return json.dumps({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
                       "objects": list(objects)}).encode()


GOOD_INDICATOR = {
    "type": "indicator", "spec_version": "2.1",
    "id": "indicator--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z", "name": "good",
    "description": "A resolver used by the actor.", "pattern": "[ipv4-addr:value = '9.9.9.9']",
    "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"}
DEEP_INDICATOR = {**GOOD_INDICATOR, "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                  "name": "deep", "x_custom": _deep(300)}
FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Hostile links</title>
<item><title>Octal host</title><link>http://0177.0.0.1/x</link><description>Octal.</description></item>
<item><title>Broken IPv6</title><link>http://[::1/x</link><description>Bracket.</description></item>
<item><title>Bad IDNA</title><link>http://xn--abc/</link><description>IDNA.</description></item>
<item><title>Fine</title><link>http://news.example/fine</link><description>Fine.</description></item>
</channel></rss>"""
RNG = random.Random(10)

#: (collector, file name, bytes, documents the good part must still give)
HOSTILE: dict[str, tuple[str, str, bytes, int]] = {
    "stix deep custom property": ("stix", "deep.json", _bundle(DEEP_INDICATOR, GOOD_INDICATOR), 1),
    "stix 1000-deep bundle": ("stix", "deeper.json", b'{"type": "bundle", "objects": ['
                              + b"[" * 1000 + b"]" * 1000 + b"]}", 0),
    "rss unparseable links": ("rss", "links.xml", FEED, 4),
    "rss random bytes": ("rss", "noise.rss", RNG.randbytes(4096), 0),
    "files deep json": ("files", "deep.json", json.dumps(_deep(250)).encode(), 1),
    "files text with NULs": ("files", "nul.txt", b"A stray NUL\x00 where a ligature was. "
                             + b"More of the report. " * 100, 1),
    "files random bytes": ("files", "noise.bin", RNG.randbytes(4096), 0),
    "misp odd json": ("misp", "event.json", json.dumps({"Event": {"Attribute": [
        {"type": ["ip-dst"], "value": {"x": 1}}, _deep(200)]}}).encode(), 0),
    "gdelt random bytes": ("gdelt", "20240101.export.CSV", RNG.randbytes(4096), 0),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_inputs_never_stop_a_run(store: SqlStore, settings: Settings,
                                         tmp_path: Path, name: str) -> None:
    kind, file_name, data, at_least = HOSTILE[name]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / file_name).write_bytes(data)
    pages = httpx.MockTransport(lambda request: httpx.Response(200, text="<p>page</p>"))
    ctx = CollectContext(settings=settings, blobs=store.blobs, transport=pages,
                         resolver=lambda host: ["93.184.216.34"])
    source = Source(name, kind, str(folder / file_name), config={"fulltext": "always"}
                    if kind == "rss" else {})
    store.add_source(source)
    result = run_source(store, source, ctx, collector_cls=get_collector(kind))
    assert result.status in ("ok", "failed")
    assert result.counts.new >= at_least
    if result.status == "ok" and result.counts.new == at_least == 0:
        assert result.counts.quarantined >= 1  # nothing silently dropped
    # the next source still runs
    after = Source(name + " after", "files", str(folder / file_name))
    store.add_source(after)
    assert run_source(store, after, ctx, collector_cls=_Unstorable).status == "ok"


def test_unparseable_links_keep_their_feed_text(store: SqlStore, settings: Settings,
                                                tmp_path: Path) -> None:
    (tmp_path / "links.xml").write_bytes(FEED)
    ctx = CollectContext(settings=settings, blobs=store.blobs,
                         transport=httpx.MockTransport(lambda r: httpx.Response(200, text="x")),
                         resolver=lambda host: ["93.184.216.34"])
    source = Source("links", "rss", str(tmp_path / "links.xml"), config={"fulltext": "always"})
    docs = [i.document for i in get_collector("rss")(source, ctx).collect({})
            if isinstance(i, Collected)]
    notes = {d.title: d.meta.get("fulltext", "") for d in docs}
    for title in ("Octal host", "Broken IPv6", "Bad IDNA"):
        assert "invalid URL" in notes[title], notes[title]


def test_a_source_location_httpx_cannot_parse_is_quarantined(
        store: SqlStore, ctx: CollectContext) -> None:
    for kind in ("rss", "stix", "misp", "taxii"):
        source = Source(f"octal {kind}", kind, "http://0177.0.0.1/x")
        store.add_source(source)
        result = run_source(store, source, ctx)
        assert result.status in ("ok", "failed")
        reported = " ".join(result.errors) + " ".join(
            q["reason"] for q in store.list_quarantine("open", source.id))
        assert "0177.0.0.1" in reported, (kind, reported)


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "id", "objects", "Event", "Attribute", "value", "x_a"]),
        inner, max_size=4),
    max_leaves=30)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["files", "stix", "rss", "misp", "gdelt"]),
       suffix=st.sampled_from([".json", ".xml", ".csv", ".txt", ".jsonl", ".pdf"]),
       data=st.binary(max_size=2048) | _JSONISH.map(lambda v: json.dumps(v).encode()))
def test_random_inputs_never_raise_out_of_a_run(store: SqlStore, ctx: CollectContext,
                                                tmp_path: Path, kind: str, suffix: str,
                                                data: bytes) -> None:
    path = tmp_path / f"input{suffix}"
    path.write_bytes(data)
    source = Source(f"fuzz-{len(store.list_sources())}", kind, str(path))
    store.add_source(source)
    result = run_source(store, source, ctx, collector_cls=get_collector(kind))
    assert result.status in ("ok", "failed")
    assert result.counts.items == result.counts.new + result.counts.duplicates + (
        result.counts.quarantined)
