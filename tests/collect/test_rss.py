"""The RSS/Atom collector: real sample feeds (feedparser's test corpus in the shared data
folder), a local HTTP server for conditional GET and article full text, and hostile inputs."""

from __future__ import annotations

import shutil
import struct
import threading
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from allsource.collect import rss
from allsource.collect.base import CollectContext, StoredItem
from allsource.collect.htmltext import html_to_text
from allsource.collect.rss import RssCollector, parse_feed, register_collectors
from allsource.collect.runner import run_source
from allsource.config import Settings
from allsource.errors import FetchError, InputError, SourceError
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Checkpoint, Collected, Document, Rejected, Source
from allsource.process.rebuild import rebuild_documents
from allsource.store.sql import SqlStore

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rss"
SITE = FIXTURES / "site"
OWNER = Audience.owner()


# -- a real local HTTP server ---------------------------------------------------------------

class Site:
    """Serves ``routes`` on 127.0.0.1 with ETag/Last-Modified and 304s; logs every request."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.version = 1
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append((self.path, dict(self.headers.items())))
                if self.path not in site.routes:
                    self.send_error(404)
                    return
                body, ctype = site.routes[self.path]
                etag = f'"v{site.version}-{zlib.crc32(body):x}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", formatdate(1744746000, usegmt=True))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def serve_site(self) -> None:
        self.routes["/feed.xml"] = ((SITE / "feed.xml").read_bytes(), "application/rss+xml")
        for page in (SITE / "articles").glob("*.html"):
            self.routes[f"/articles/{page.name}"] = (page.read_bytes(),
                                                     "text/html; charset=utf-8")

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


# -- helpers --------------------------------------------------------------------------------

def _source(location: str | Path, store: SqlStore | None = None, **kw: Any) -> Source:
    src = Source(name="feeds", kind="rss", location=str(location), **kw)
    if store is not None:
        store.add_source(src)
    return src


def _collect(ctx: CollectContext, src: Source, checkpoint: dict[str, Any] | None = None
             ) -> tuple[list[Document], list[Rejected], list[Checkpoint]]:
    docs, rejected, checkpoints = [], [], []
    for item in RssCollector(src, ctx).collect(checkpoint or {}):
        if isinstance(item, Collected):
            docs.append(item.document)
        elif isinstance(item, Rejected):
            rejected.append(item)
        else:
            checkpoints.append(item)
    return docs, rejected, checkpoints


def _stored(store: SqlStore) -> dict[str, dict[str, Any]]:
    views = (store.get(i, OWNER) for i in store.document_ids())
    return {v["title"]: v for v in views if v is not None}


def _png() -> bytes:
    """A real 1x1 PNG image (signature, IHDR, IDAT, IEND)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


# -- HTTP: full text, conditional GET, hostile addresses ----------------------------------

def test_http_feed_with_article_full_text_into_store(store: SqlStore, ctx: CollectContext,
                                                      site: Site) -> None:
    site.serve_site()
    src = _source(site.base + "/feed.xml", store, allow_private=True,
                  marking=Marking(tlp=TLP.GREEN))
    result = run_source(store, src, ctx, collector_cls=RssCollector)
    assert result.status == "ok", result.errors
    assert (result.counts.new, result.counts.quarantined) == (4, 0)
    docs = _stored(store)

    dos = docs["Denial of Service (T0814)"]
    # Only the article page has these sentences; the feed carries a one-line summary.
    assert "such as in the case of the BrickerBot malware" in dos["text"]
    assert "uncontrolled resource consumption" in dos["text"]
    assert "Subscribe to our newsletter" not in dos["text"]  # page boilerplate
    assert "analytics" not in dos["text"]  # page scripts
    assert dos["meta"]["fulltext"] == "fetched"
    assert dos["meta"]["summary"] == ("Adversaries may perform Denial-of-Service attacks to "
                                      "disrupt expected device functionality.")
    assert dos["url"] == site.base + "/articles/t0814.html"  # relative link resolved
    assert dos["published_at"].startswith("2025-04-15T19:58:10")
    assert dos["labels"] == ["ics", "impact"]
    assert dos["meta"]["author"] == "ICS notes desk"
    assert dos["meta"]["feed"] == "ICS technique notes"
    assert dos["meta"]["entry_id"] == "ics-notes:T0814"
    assert dos["meta"]["bozo"] is False
    assert dos["marking"]["tlp"] == "TLP:GREEN"
    assert dos["blob_ref"] == "entry:0"
    assert store.blobs.get(dos["blob_sha256"]) == (SITE / "feed.xml").read_bytes()

    sniff = docs["Wireless Sniffing (T0887)"]
    assert "700 MHz frequency during a regular test of the system" in sniff["text"]

    # content:encoded is long enough: no fetch, and its <script> does not reach the text.
    modify = docs["Modify Parameter (T0836)"]
    assert "total number of seconds to run that motor" in modify["text"]
    assert "alert" not in modify["text"] and "fulltext" not in modify["meta"]
    assert "/articles/t0836.html" not in site.paths()

    # A dead link keeps the summary and says why, without failing the run.
    role = docs["Role Identification (T0850)"]
    assert role["text"] == ("Adversaries may perform role identification of devices involved "
                            "with the control process.")
    assert role["meta"]["fulltext"].startswith("not fetched:")
    assert "404" in role["meta"]["fulltext"]


def test_rebuild_reads_kept_feed_and_article_pages_offline(
        store: SqlStore, settings: Settings, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    site.serve_site()
    src = _source(site.base + "/feed.xml", store, allow_private=True)
    ctx = CollectContext(settings=settings, blobs=store.blobs)
    assert run_source(store, src, ctx, collector_cls=RssCollector).status == "ok"
    dos = _stored(store)["Denial of Service (T0814)"]
    page = dos["meta"]["article"]  # the fetched page is kept, with what it was read as
    assert store.blobs.get(page["blob"]) == (SITE / "articles/t0814.html").read_bytes()
    assert page["url"] == site.base + "/articles/t0814.html"
    assert page["content_type"] == "text/html; charset=utf-8"
    assert dos["meta"]["http_headers"]["content-type"] == "application/rss+xml"
    site.requests.clear()

    result = rebuild_documents(store, settings, [src.id])
    assert (result.documents, result.changed, result.not_rebuilt) == (4, 0, 0)
    # a fix in article extraction reaches the stored text, from the kept pages only
    extract = rss.article_text
    monkeypatch.setattr(rss, "article_text", lambda *a: extract(*a) + "\n(re-extracted)")
    result = rebuild_documents(store, settings, [src.id])
    assert result.changed == 2  # the two fetched articles; the 404 and the long entry stay
    assert _stored(store)["Denial of Service (T0814)"]["text"].endswith("(re-extracted)")
    assert site.requests == []

    # an article fetched before pages were kept keeps its stored text
    offline = CollectContext.offline(settings, store.blobs)
    old = StoredItem("x", "entry:0", "Denial of Service (T0814)", "The article as stored.",
                     None, {"fulltext": "fetched", "input": src.location})
    items = RssCollector(src, offline).rebuild((SITE / "feed.xml").read_bytes(), [old])
    [first] = [i.document for i in items if isinstance(i, Collected)
               and i.document.blob_ref == "entry:0"]
    assert first.text == "The article as stored." and first.meta["fulltext"] == "fetched"
    assert first.meta["summary"].startswith("Adversaries may perform Denial-of-Service")
    with pytest.raises(FetchError, match="offline"):
        offline.fetch(src, site.base + "/feed.xml")
    assert site.requests == []


def test_conditional_get_and_seen_entries(store: SqlStore, ctx: CollectContext,
                                          site: Site) -> None:
    site.serve_site()
    src = _source(site.base + "/feed.xml", store, allow_private=True)
    first = run_source(store, src, ctx, collector_cls=RssCollector)
    assert first.counts.new == 4
    checkpoint = store.get_checkpoint(src.id)
    assert checkpoint["http"]["etag"].startswith('"v1-')
    assert checkpoint["http"]["last_modified"] == "Tue, 15 Apr 2025 19:40:00 GMT"
    assert len(checkpoint["seen"]) == 4

    # Unchanged feed: the server answers 304 and nothing else is requested.
    site.requests.clear()
    second = run_source(store, src, ctx, collector_cls=RssCollector)
    assert second.status == "ok"
    assert second.counts.items == 0
    assert site.paths() == ["/feed.xml"]
    assert site.requests[0][1]["If-None-Match"] == checkpoint["http"]["etag"]
    assert site.requests[0][1]["If-Modified-Since"] == "Tue, 15 Apr 2025 19:40:00 GMT"

    # Feed changes (one new entry): only the new entry is collected and fetched.
    feed = (SITE / "feed.xml").read_bytes().replace(b"</channel>", b"""
  <item><title>Denial of Service, revisited</title><link>articles/t0814.html?v=2</link>
  <guid isPermaLink="false">ics-notes:T0814-2</guid><description>Short note.</description>
  </item></channel>""")
    site.routes["/feed.xml"] = (feed, "application/rss+xml")
    site.version = 2
    site.requests.clear()
    third = run_source(store, src, ctx, collector_cls=RssCollector)
    assert (third.counts.items, third.counts.new) == (1, 1)
    assert site.paths() == ["/feed.xml", "/articles/t0814.html?v=2"]
    assert store.get_checkpoint(src.id)["http"]["etag"].startswith('"v2-')

    # collect({}) ignores the checkpoint: everything is read again (and is a duplicate).
    again = run_source(store, src, ctx, use_checkpoint=False, collector_cls=RssCollector)
    assert (again.counts.items, again.counts.duplicates) == (5, 5)


def test_feed_url_on_a_private_address_fails_the_run(store: SqlStore, ctx: CollectContext,
                                                      site: Site) -> None:
    site.serve_site()
    src = _source(site.base + "/feed.xml", store)  # allow_private defaults to False
    result = run_source(store, src, ctx, collector_cls=RssCollector)
    assert result.status == "failed"
    assert "non-public address 127.0.0.1" in result.errors[0]
    assert "--allow-private" in result.errors[0]
    assert site.requests == []
    assert store.count("documents") == 0


def test_article_links_to_private_addresses_are_not_fetched(settings: Settings,
                                                             ctx: CollectContext) -> None:
    feed = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Public news</title>
<item><title>Intranet</title><link>http://intranet.example/secret.html</link>
<description>Points at a private host.</description></item>
<item><title>Loopback</title><link>http://127.0.0.1:8080/admin</link>
<description>Points at loopback.</description></item>
<item><title>Metadata</title><link>http://169.254.169.254/latest/meta-data/</link>
<description>Points at a link-local address.</description></item>
</channel></rss>"""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=feed, headers={"Content-Type": "application/rss+xml"})

    addresses = {"news.example": ["93.184.215.14"], "intranet.example": ["10.20.30.40"]}
    guarded = CollectContext(settings=settings, blobs=ctx.blobs,
                             transport=httpx.MockTransport(handler),
                             resolver=lambda host: addresses[host])
    docs, rejected, _ = _collect(guarded, _source("http://news.example/feed.xml"))
    assert seen == ["http://news.example/feed.xml"]
    assert not rejected
    assert [d.text for d in docs] == ["Points at a private host.", "Points at loopback.",
                                      "Points at a link-local address."]
    for doc in docs:
        assert doc.meta["fulltext"].startswith("not fetched: refusing")
        assert "non-public address" in doc.meta["fulltext"]


def test_allow_private_covers_the_feed_host_only(settings: Settings, ctx: CollectContext
                                                ) -> None:
    feed = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Internal news</title>
<item><title>Same host</title><link>http://feeds.corp.example/a.html</link>
<description>On the feed's own host.</description></item>
<item><title>Other host</title><link>http://wiki.corp.example/secret.html</link>
<description>On another internal host.</description></item>
<item><title>Metadata</title><link>http://100.100.100.200/latest/meta-data/</link>
<description>A cloud metadata address.</description></item>
</channel></rss>"""
    page = b"<html><body><article><p>" + b"The full internal article text. " * 40 + (
        b"</p></article></body></html>")
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/feed.xml":
            return httpx.Response(200, content=feed,
                                  headers={"Content-Type": "application/rss+xml"})
        return httpx.Response(200, content=page, headers={"Content-Type": "text/html"})

    addresses = {"feeds.corp.example": ["10.1.1.1"], "wiki.corp.example": ["10.1.1.2"]}
    internal = CollectContext(settings=settings, blobs=ctx.blobs,
                              transport=httpx.MockTransport(handler),
                              resolver=lambda host: addresses[host])
    docs, rejected, _ = _collect(internal, _source("http://feeds.corp.example/feed.xml",
                                                   allow_private=True))
    assert not rejected
    assert seen == ["http://feeds.corp.example/feed.xml", "http://feeds.corp.example/a.html"]
    same, other, metadata = docs
    assert same.meta["fulltext"] == "fetched"
    assert "non-public address 10.1.1.2" in other.meta["fulltext"]
    assert "100.64.0.0/10" in metadata.meta["fulltext"]


def test_fulltext_modes(ctx: CollectContext, site: Site) -> None:
    site.serve_site()
    url = site.base + "/feed.xml"
    docs, _, _ = _collect(ctx, _source(url, allow_private=True, config={"fulltext": "never"}))
    assert site.paths() == ["/feed.xml"]
    assert all("fulltext" not in d.meta for d in docs)
    never_ids = [d.id for d in docs]

    site.requests.clear()
    docs, _, _ = _collect(ctx, _source(url, allow_private=True, config={"fulltext": "always"}))
    assert sorted(site.paths()) == ["/articles/t0814.html", "/articles/t0836.html",
                                    "/articles/t0850.html", "/articles/t0887.html",
                                    "/feed.xml"]
    # The identity is the feed entry, not the fetched page: same IDs with or without it.
    assert [d.id for d in docs] == never_ids
    # Re-reading one kept entry resolves its relative link against the feed URL again.
    again = list(RssCollector(_source(url, config={"fulltext": "never"}), ctx).reparse(
        site.routes["/feed.xml"][0], url + "#entry:1"))
    assert len(again) == 1 and isinstance(again[0], Collected)
    assert (again[0].document.id, again[0].document.url) == (
        never_ids[1], site.base + "/articles/t0887.html")

    with pytest.raises(SourceError, match="fulltext must be one of auto, always, never"):
        _collect(ctx, _source(url, allow_private=True, config={"fulltext": "yes"}))


# -- encodings ------------------------------------------------------------------------------

@pytest.mark.parametrize(("sample", "title", "text_start"), [
    ("illformed/chardet/koi8r.xml", "Как пережить новогоднюю ночь",
     "Наверное, единственное, во что сегодня можно верить безоговорочно"),
    ("illformed/chardet/euckr.xml", "EUC-KR 에서 TypeKey 한글닉네임 표시하기",
     "TypeKey 시스템이 UTF-8로 돌아가는데"),
    ("illformed/chardet/shiftjis.xml", "DrecomRSSに記事投稿が反映されない…",
     "色々調べてたら、MT3.2がRSS1.0をサポートしていないことが判明。"),
    ("illformed/chardet/gb2312.xml", "不归移民漫画系列：专业工作", ""),
    ("illformed/chardet/eucjp.xml", "ゲーム三昧な正月", "『SDガンダムGジェネレーションNEO』"),
    ("encoding/euc-kr-item.xml", "년", "년"),
])
def test_local_feeds_decode_to_unicode(samples: Path, ctx: CollectContext, sample: str,
                                       title: str, text_start: str) -> None:
    docs, rejected, _ = _collect(ctx, _source(samples / "feeds" / sample,
                                              config={"fulltext": "never"}))
    assert not rejected
    assert [d.title for d in docs] == [title]
    assert docs[0].text.startswith(text_start)
    assert docs[0].meta["bozo"] is False


def test_feed_titles_from_declared_and_detected_encodings(samples: Path) -> None:
    feeds = samples / "feeds"
    assert parse_feed((feeds / "encoding/euc-kr.xml").read_bytes()).feed.title == "년"
    assert parse_feed((feeds / "illformed/chardet/big5.xml").read_bytes()).feed.title.startswith(
        "我希望")
    assert parse_feed((feeds / "encoding/http_i18n.xml").read_bytes()).feed.title == (
        "Iñtërnâtiônàlizætiøn")
    for wide in ("utf-16le.xml", "utf-16be-autodetect.xml", "utf-32be-bom.xml"):
        parsed = parse_feed((feeds / "encoding" / wide).read_bytes())
        assert not parsed.bozo and parsed.version


def test_http_content_type_charset_is_honoured(samples: Path, ctx: CollectContext,
                                               site: Site) -> None:
    # The file declares iso-8859-1; its test header says windows-1252, which must win.
    sample = samples / "feeds/encoding/http_text_xml_charset_overrides_encoding_2.xml"
    site.routes["/feed.xml"] = (sample.read_bytes(), "text/xml; charset=windows-1252")
    docs, _, _ = _collect(ctx, _source(site.base + "/feed.xml", allow_private=True,
                                       config={"fulltext": "never"}))
    assert [(d.title, d.text) for d in docs] == [("Foo", "This is a £“test.”")]
    assert docs[0].meta["encoding"] == "windows-1252"
    local, _, _ = _collect(ctx, _source(sample, config={"fulltext": "never"}))
    assert local[0].meta["encoding"] == "iso-8859-1"


# -- quarantine -------------------------------------------------------------------------------

def test_malformed_inputs_are_quarantined_and_the_run_goes_on(
        store: SqlStore, ctx: CollectContext, samples: Path, tmp_path: Path) -> None:
    feeds = samples / "feeds"
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name in ("aaa_illformed.xml", "rss_empty_document.xml", "undeclared_namespace.xml"):
        shutil.copy(feeds / "illformed" / name, folder / name)
    shutil.copy(feeds / "wellformed/rss/entity_in_doctype.xml", folder / "entity_in_doctype.xml")
    shutil.copy(FIXTURES / "billion_laughs.xml", folder / "billion_laughs.xml")
    (folder / "billion_laughs_utf16.xml").write_bytes(
        (FIXTURES / "billion_laughs.xml").read_text().replace('"utf-8"', '"utf-16"')
        .encode("utf-16"))
    (folder / "image.rss").write_bytes(_png())
    (folder / "zeros.xml").write_bytes(bytes(4096))
    shutil.copy(feeds / "encoding/euc-kr-item.xml", folder / "good.xml")
    (folder / "notes.txt").write_text("not a feed file name: ignored")

    src = _source(folder, store, config={"fulltext": "never"})
    result = run_source(store, src, ctx, collector_cls=RssCollector)
    assert result.status == "ok"
    assert (result.counts.new, result.counts.quarantined) == (1, 8)
    reasons = {Path(q["item_ref"]).name: q["reason"] for q in store.list_quarantine()}
    assert reasons["aaa_illformed.xml"] == "not a feed: unclosed token at line 7, column 0"
    assert reasons["rss_empty_document.xml"].startswith("not a feed: no element found")
    assert reasons["undeclared_namespace.xml"].startswith("not a feed: unbound prefix")
    for name in ("entity_in_doctype.xml", "billion_laughs.xml", "billion_laughs_utf16.xml"):
        assert reasons[name].startswith("XML declares entities in a DTD"), name
    assert reasons["image.rss"] == "input is binary, not a feed"
    assert reasons["zeros.xml"] == "input is binary, not a feed"
    assert [d["title"] for d in _stored(store).values()] == ["년"]


def test_oversized_inputs_are_quarantined(ctx: CollectContext, site: Site) -> None:
    small = CollectContext(settings=ctx.settings.model_copy(update={"max_input_bytes": 1024}),
                           blobs=ctx.blobs)
    docs, rejected, _ = _collect(small, _source(SITE / "feed.xml"))
    assert not docs
    assert "over the 1024-byte input cap" in rejected[0].reason

    site.serve_site()
    docs, rejected, _ = _collect(small, _source(site.base + "/feed.xml", allow_private=True))
    assert not docs
    assert "1024-byte cap" in rejected[0].reason


def test_bozo_feed_with_entries_is_collected(samples: Path, ctx: CollectContext) -> None:
    sample = samples / "feeds/illformed/rss_item_link_corrupted_ampersands.xml"
    docs, rejected, _ = _collect(ctx, _source(sample, config={"fulltext": "never"}))
    assert not rejected
    assert [d.url for d in docs] == ["http://link/get?a=1&b=2"]
    assert docs[0].meta["bozo"] is True
    assert docs[0].meta["bozo_message"] == "unclosed token at line 13, column 0"


def test_empty_entries_are_rejected_with_a_reason(samples: Path, ctx: CollectContext) -> None:
    # feedparser's sample: an <item> holding only an image in its description.
    sample = samples / "feeds/encoding/euc-kr-attribute.xml"
    docs, rejected, _ = _collect(ctx, _source(sample))
    assert not docs
    assert rejected[0].reason == "entry 0 has no title, link or text: nothing to collect"
    assert rejected[0].ref == f"{sample}#entry:0"


# -- sanitisation ---------------------------------------------------------------------------

HOSTILE = ("location.href", "executeme", "alert(", "javascript:", "<script", "onclick",
           "onmouseover", "evil.css")


def test_hostile_html_never_reaches_document_text(samples: Path, ctx: CollectContext) -> None:
    folder = samples / "feeds/wellformed/sanitize"
    docs, _, _ = _collect(ctx, _source(folder, config={"fulltext": "never"}))
    assert len(docs) > 15
    for doc in docs:
        for field in (doc.title.lower(), doc.text.lower()):
            assert not any(bad in field for bad in HOSTILE), (doc.meta["input"], field)
    texts = {d.text for d in docs}
    assert "safe description" in texts  # entry_content_script.xml and friends
    # entry_content_crazy.xml: malformed <script> tags, commented-out script, inline handlers.
    assert "Did The Javascript Execute?\nI will execute here, too, if you mouse over me" in texts


def test_html_to_text_keeps_blocks_and_drops_code() -> None:
    html = ("<h1>Title</h1><p>One <b>bold</b> line.</p><script>evil()</script>"
            "<style>p{}</style><!-- hidden --><ul><li>a</li><li>b</li></ul>x<br>y")
    assert html_to_text(html) == "Title\nOne bold line.\na\nb\nx\ny"


# -- detect and reparse ---------------------------------------------------------------------

def test_registers_through_the_plugin_hook() -> None:
    assert register_collectors() == [RssCollector]
    assert RssCollector.name == "rss"


def test_detect(samples: Path, tmp_path: Path) -> None:
    feeds = samples / "feeds"
    for sample in ("wellformed/rss/item_title.xml", "wellformed/atom10/entry_title.xml",
                   "wellformed/rss/rss_version_090.xml", "encoding/utf-16le.xml",
                   "encoding/utf-32be-autodetect.xml"):
        path = feeds / sample
        assert RssCollector.detect(str(path), path.read_bytes()[:4096]) == 90, sample
    stix = samples / "stix/indicator-for-c2-ip-address.json"
    assert RssCollector.detect(str(stix), stix.read_bytes()[:4096]) == 0
    assert RssCollector.detect(str(feeds / "wellformed/rss"), b"") == 70
    assert RssCollector.detect(str(tmp_path), b"") == 0
    assert RssCollector.detect("https://example.org/feed", b"") == 80
    assert RssCollector.detect("https://example.org/news/index.rss", b"") == 80
    assert RssCollector.detect("https://example.org/export.xml", b"") == 60
    assert RssCollector.detect("https://example.org/index.html", b"") == 0


def test_reparse_gives_the_same_documents(ctx: CollectContext) -> None:
    src = _source(SITE / "feed.xml", config={"fulltext": "never"})
    docs, _, _ = _collect(ctx, src)
    assert docs[0].published_at == datetime(2025, 4, 15, 19, 58, 10, tzinfo=UTC)
    collector = RssCollector(src, ctx)
    raw = (SITE / "feed.xml").read_bytes()
    again = [i.document for i in collector.reparse(raw, str(SITE / "feed.xml"))
             if isinstance(i, Collected)]
    assert [d.id for d in again] == [d.id for d in docs]
    one = list(collector.reparse(raw, "entry:2"))
    assert len(one) == 1 and isinstance(one[0], Collected)
    assert one[0].document.id == docs[2].id
    bad = list(collector.reparse(b"\x00\x01garbage", "feed.xml"))
    assert isinstance(bad[0], Rejected) and bad[0].reason == "input is binary, not a feed"


def test_checkpoint_skips_collected_entries_of_local_files(store: SqlStore,
                                                           ctx: CollectContext) -> None:
    src = _source(SITE, store, config={"fulltext": "never"})
    first = run_source(store, src, ctx, collector_cls=RssCollector)
    assert first.counts.new == 4
    second = run_source(store, src, ctx, collector_cls=RssCollector)
    assert second.counts.items == 0
    assert len(store.get_checkpoint(src.id)["seen"]) == 4


def test_unusable_locations_fail_clearly(store: SqlStore, ctx: CollectContext,
                                         tmp_path: Path) -> None:
    missing = run_source(store, _source(tmp_path / "nope.xml", store), ctx,
                         collector_cls=RssCollector)
    assert missing.status == "failed" and "does not exist" in missing.errors[0]
    with pytest.raises(InputError, match="not a feed: no RSS, Atom or RDF feed element"):
        parse_feed(b"<html><body><p>not a feed</p></body></html>")
