"""RSS, Atom and RDF feeds: a feed URL, a feed file or a folder of feed files → one article
document per entry.

Per input:

1. **Read**, size-capped. A folder is read file by file (``*.xml``, ``*.rss``, ``*.atom``,
   ``*.rdf``, ``*.feed``, sorted, not recursive). A URL is fetched with a *conditional GET*: the
   ``ETag``/``Last-Modified`` of the last response are kept in the checkpoint and sent back as
   ``If-None-Match``/``If-Modified-Since``; ``304 Not Modified`` yields nothing.
2. **Guards** before any parser sees the bytes: empty or binary input and XML that declares DTD
   entities (billion laughs, XXE) are refused. They run on a UTF-8 view of the bytes
   (:func:`~allsource.collect.feedtext.ascii_view`), so UTF-16 input cannot hide an entity.
3. **feedparser**, given the response's ``Content-Type`` (its charset is honoured) and
   ``Content-Location`` (relative links resolve against the feed URL). Feeds that declare no
   encoding anywhere and are not UTF-8 get a detected charset. feedparser is lenient: a "bozo"
   (ill-formed) feed that still yields entries is collected, with the bozo message in each
   document's meta; one with no entries and no title is not a feed and is quarantined whole.
4. **One document per entry**: text from the entry's content or summary, HTML reduced to plain
   text (scripts and styles dropped whole). When the feed carries only a short summary, the
   article link is fetched through the guarded client and its main text extracted with
   trafilatura (``source.config["fulltext"]``: ``"auto"`` default, ``"always"``, ``"never"``).
   A failed article fetch keeps the summary and says why in ``meta["fulltext"]``; links to
   private addresses are refused by the client like any other request, and never fail the run.
   A fetched page is kept as a blob too (``meta["article"]``: its blob, type and final URL).

Rebuilding (:meth:`RssCollector.rebuild`) parses a kept feed blob again with the HTTP headers
it came with (``meta["http_headers"]``) and, instead of fetching articles, re-extracts the
kept pages; an article fetched before pages were kept keeps its stored text, and an entry that
was not fetched keeps its feed text and the note saying why.

Identity: a document's key is the entry's identity (its id, else link, else title) plus the
text *the feed itself* carries — not the fetched article text, which changes with page
templates and fetch outcomes. The same entry is therefore the same document on every run, and an
edited entry is a new version. The checkpoint keeps these keys (the last 5,000) and skips
entries already collected before any article is fetched.
"""

from __future__ import annotations

import io
import re
import xml.sax
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser

from allsource.collect.base import CollectContext, Collector, StoredItem, is_url
from allsource.collect.feedtext import (
    article_text,
    ascii_view,
    charset_headers,
    detail_text,
    entry_text,
    fallback_title,
    published,
    tags,
)
from allsource.collect.htmltext import normalize_space
from allsource.collect.inputs import check_xml_safe, looks_binary, read_file
from allsource.errors import FetchError, InputError, SourceError
from allsource.hookspecs import hookimpl
from allsource.model.ids import canonical_json, sha256_hex
from allsource.model.records import Checkpoint, Collected, Document, Item, Rejected, Source

FULLTEXT_MODES = ("auto", "always", "never")
FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf", ".feed")
#: feed text shorter than this (characters) is treated as a teaser in ``fulltext="auto"``
SHORT_TEXT = 500
SEEN_LIMIT = 5000
#: article fetches from one host that may fail in a run before that host is skipped
HOST_FAILURE_LIMIT = 3
CHECKPOINT_EVERY = 100

_FEED_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:rss|feed|RDF)[\s>/]")
_ENTRY_REF = re.compile(r"#?entry:(\d+)$")
_ACCEPT_FEED = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
                "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1")
_ACCEPT_HTML = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


@dataclass(slots=True)
class _Input:
    """One feed document: where it came from, its bytes, and the HTTP facts about it
    (``http``: the headers came with the response, so documents record them)."""

    ref: str
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)
    validators: dict[str, str] | None = None
    http: bool = False


#: how an entry gets its text: (entry index, link, feed text) → (text, meta notes)
_FullText = Callable[[int, str, str], tuple[str, dict[str, Any]]]


class _State:
    """Checkpoint state: keys of entries already collected, and the feed URL's validators."""

    def __init__(self, checkpoint: Mapping[str, Any]) -> None:
        seen = checkpoint.get("seen")
        http = checkpoint.get("http")
        self.seen = [s for s in seen if isinstance(s, str)] if isinstance(seen, list) else []
        self.http = {str(k): str(v) for k, v in http.items()} if isinstance(http, dict) else {}
        self._set = set(self.seen)

    def has(self, token: str) -> bool:
        return token in self._set

    def add(self, token: str) -> None:
        self.seen.append(token)
        self._set.add(token)
        if len(self.seen) > 2 * SEEN_LIMIT:
            self.seen = self.seen[-SEEN_LIMIT:]
            self._set = set(self.seen)

    def dump(self) -> dict[str, Any]:
        return {"seen": self.seen[-SEEN_LIMIT:], "http": dict(self.http)}


def parse_feed(data: bytes, headers: Mapping[str, str] | None = None) -> Any:
    """Guard, then parse with feedparser. Raises :class:`InputError` for anything that is
    not a usable feed."""
    view = ascii_view(data)
    if not view.strip():
        raise InputError("input is empty: not a feed")
    if looks_binary(view):
        raise InputError("input is binary, not a feed")
    check_xml_safe(view)
    # A file object, never bytes: feedparser would try to open() bytes as a file name.
    parsed = feedparser.parse(io.BytesIO(data), sanitize_html=False,
                              response_headers=charset_headers(data, headers or {}))
    if not parsed.entries and not parsed.feed.get("title") and (
            parsed.bozo or not parsed.version):
        why = bozo_message(parsed) or "no RSS, Atom or RDF feed element found"
        raise InputError(f"not a feed: {why}")
    return parsed


def bozo_message(parsed: Any) -> str:
    """feedparser's reason for calling a feed ill-formed, as one line ("" if well-formed)."""
    exc = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if exc is None:
        return ""
    if isinstance(exc, xml.sax.SAXParseException):
        return (f"{exc.getMessage()} at line {exc.getLineNumber()}, "
                f"column {exc.getColumnNumber()}")
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def feed_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in FEED_SUFFIXES)


def looks_like_feed(head: bytes) -> bool:
    return bool(_FEED_ROOT.search(ascii_view(head)[:65536]))


class RssCollector(Collector):
    name = "rss"
    description = ("RSS 0.9x/1.0/2.0, Atom and RDF feeds from a URL, a file or a folder, with "
                   "conditional GET and optional article full text")
    default_schedule = 1800
    time_limit = 1800.0

    def __init__(self, source: Source, ctx: CollectContext) -> None:
        super().__init__(source, ctx)
        self._host_failures: Counter[str] = Counter()

    @classmethod
    def detect(cls, location: str, head: bytes) -> int:
        if is_url(location):
            url_path = urlsplit(location).path.lower().rstrip("/")
            last = url_path.rsplit("/", 1)[-1]
            if url_path.endswith((".rss", ".atom", ".rdf")) or any(
                    word in last for word in ("feed", "rss", "atom")):
                return 80
            return 60 if url_path.endswith(".xml") else 0
        path = Path(location).expanduser()
        if path.is_dir():
            return 70 if any(looks_like_feed(_head(f)) for f in feed_files(path)[:20]) else 0
        if looks_like_feed(head):
            return 90
        return 30 if path.suffix.lower() in FEED_SUFFIXES[1:] else 0

    def collect(self, checkpoint: dict[str, Any]) -> Iterator[Item]:
        fulltext = self._fetching(self._fulltext_mode())
        state = _State(checkpoint)
        for inp in self._inputs(state):
            if isinstance(inp, Rejected):
                yield inp
                continue
            yield from self._read(inp, state, fulltext)
            if inp.validators is not None:
                state.http = inp.validators
            yield Checkpoint(state.dump())

    def reparse(self, raw: bytes, ref: str) -> Iterator[Item]:
        """Parse one kept feed blob again: every entry, or only ``entry:N`` when ``ref``
        names one."""
        match = _ENTRY_REF.search(ref)
        only = int(match.group(1)) if match else None
        source_ref = ref[: match.start()] if match else ref
        source_ref = source_ref or self.source.location
        # Relative links and ids resolve against the feed URL, as they did when collected.
        headers = {"content-location": source_ref} if is_url(source_ref) else {}
        inp = _Input(source_ref, raw, headers)
        for item in self._read(inp, _State({}), self._fetching(self._fulltext_mode()), only):
            if not isinstance(item, Checkpoint):
                yield item

    def rebuild(self, raw: bytes, stored: Sequence[StoredItem]
                ) -> Iterator[Collected | Rejected]:
        """Parse a kept feed blob again, as it was read (same input name and HTTP headers);
        article text comes from the kept pages, never from the network."""
        first = stored[0].meta if stored else {}
        source_ref = str(first.get("input") or self.source.location)
        recorded = first.get("http_headers")
        if isinstance(recorded, Mapping):
            inp = _Input(source_ref, raw, {str(k): str(v) for k, v in recorded.items()},
                         http=True)
        else:
            inp = _Input(source_ref, raw,
                         {"content-location": source_ref} if is_url(source_ref) else {})
        by_ref = {s.ref: s for s in stored}
        for item in self._read(inp, _State({}), lambda index, link, feed_text:
                               self._kept_article(by_ref.get(f"entry:{index}"), feed_text)):
            if not isinstance(item, Checkpoint):
                yield item

    # -- inputs -------------------------------------------------------------------------------

    def _fulltext_mode(self) -> str:
        mode = str(self.source.config.get("fulltext", "auto")).strip().lower()
        if mode not in FULLTEXT_MODES:
            raise SourceError(f"source {self.source.name!r}: fulltext must be one of "
                              f"{', '.join(FULLTEXT_MODES)}, not {mode!r}")
        return mode

    def _inputs(self, state: _State) -> Iterator[_Input | Rejected]:
        location = self.source.location
        if is_url(location):
            try:
                fetched = self._fetch_feed(location, state)
            except InputError as exc:
                yield Rejected(str(exc), b"", location)
                return
            if fetched is not None:
                yield fetched
            return
        if "://" in location:
            raise SourceError(f"unsupported location {location!r}: use an http(s) feed URL, "
                              "a feed file or a folder of feed files")
        path = Path(location).expanduser()
        if not path.exists():
            raise SourceError(f"{path} does not exist")
        for file in feed_files(path) if path.is_dir() else [path]:
            try:
                yield _Input(str(file), read_file(file, self.ctx.settings.max_input_bytes))
            except InputError as exc:
                yield Rejected(str(exc), b"", str(file))

    def _fetch_feed(self, url: str, state: _State) -> _Input | None:
        """Conditional GET of the feed; ``None`` when the server says it has not changed."""
        headers = {"Accept": _ACCEPT_FEED}
        if state.http.get("url") == url:
            if etag := state.http.get("etag"):
                headers["If-None-Match"] = etag
            if modified := state.http.get("last_modified"):
                headers["If-Modified-Since"] = modified
        resp = self.ctx.fetch(self.source, url, headers=headers)
        if resp.not_modified:
            return None
        validators = {"url": url}
        if etag := resp.headers.get("etag"):
            validators["etag"] = etag
        if modified := resp.headers.get("last-modified"):
            validators["last_modified"] = modified
        feed_headers = {"content-location": resp.url}
        for name in ("content-type", "content-language"):
            if value := resp.headers.get(name):
                feed_headers[name] = value
        return _Input(url, resp.content, feed_headers, validators, http=True)

    # -- entries ------------------------------------------------------------------------------

    def _read(self, inp: _Input, state: _State, fulltext: _FullText,
              only: int | None = None) -> Iterator[Item]:
        try:
            parsed = parse_feed(inp.data, inp.headers)
        except InputError as exc:
            yield Rejected(str(exc), inp.data, inp.ref)
            return
        sha = self.ctx.keep_blob(inp.data)
        feed = _feed_meta(parsed, inp.ref)
        if inp.http:
            feed["http_headers"] = dict(inp.headers)
        for index, entry in enumerate(parsed.entries):
            if only is not None and index != only:
                continue
            yield from self._entry(entry, index, feed, sha, inp, state, fulltext)
            if index % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 1:
                yield Checkpoint(state.dump())

    def _entry(self, entry: Any, index: int, feed: dict[str, Any], sha: str, inp: _Input,
               state: _State, fulltext: _FullText) -> Iterator[Item]:
        title = detail_text(str(entry.get("title") or ""), entry.get("title_detail"))
        feed_text = entry_text(entry)
        link = str(entry.get("link") or "").strip()
        if not (title or feed_text or link):
            yield Rejected(f"entry {index} has no title, link or text: nothing to collect",
                           inp.data, f"{inp.ref}#entry:{index}")
            return
        key = {"feed_entry": str(entry.get("id") or link or title), "text": feed_text}
        token = sha256_hex(canonical_json(key))[:32]
        if state.has(token):
            return
        meta = {**feed, **_entry_meta(entry)}
        text, note = fulltext(index, link, feed_text)
        meta.update(note)
        doc = Document.build(
            kind="article", title=title or fallback_title(text, link), text=text,
            url=link or None, published_at=published(entry), key=key,
            media_type=_media_type(feed.get("feed_format", "")), labels=tags(entry),
            meta=meta, blob_sha256=sha, blob_ref=f"entry:{index}", marking=self.marking)
        state.add(token)
        yield Collected(doc)

    def _fetching(self, mode: str) -> _FullText:
        """Entry text when collecting: the feed's, or the article fetched per ``mode``."""
        def fulltext(index: int, link: str, feed_text: str) -> tuple[str, dict[str, Any]]:
            if _wants_fulltext(mode, link, feed_text):
                return self._fulltext(link, feed_text)
            return feed_text, {}
        return fulltext

    def _fulltext(self, link: str, feed_text: str) -> tuple[str, dict[str, Any]]:
        """The article's main text from its page, or the feed text and why not."""
        try:
            host = urlsplit(link).hostname or ""
        except ValueError:  # fetching says why
            host = ""
        if self._host_failures[host] >= HOST_FAILURE_LIMIT:
            return feed_text, {"fulltext": f"skipped: {HOST_FAILURE_LIMIT} fetches from {host} "
                                           "already failed in this run"}
        try:
            page = self.ctx.fetch(self.source, link, headers={"Accept": _ACCEPT_HTML},
                                  max_bytes=self.ctx.settings.max_item_bytes)
        except (FetchError, InputError) as exc:
            self._host_failures[host] += 1
            return feed_text, {"fulltext": f"not fetched: {exc}"}
        kept = {"blob": self.ctx.keep_blob(page.content),
                "content_type": page.headers.get("content-type", ""), "url": page.url}
        text, note = _article(page.content, kept["content_type"], page.url, feed_text)
        return text, {**note, "article": kept}

    def _kept_article(self, stored: StoredItem | None, feed_text: str
                      ) -> tuple[str, dict[str, Any]]:
        """Entry text when rebuilding: from the kept article page, else as it was stored."""
        meta = stored.meta if stored is not None else {}
        page = meta.get("article")
        data = self.ctx.kept_blob(page.get("blob")) if isinstance(page, Mapping) else None
        if isinstance(page, Mapping) and data is not None:
            text, note = _article(data, str(page.get("content_type") or ""),
                                  str(page.get("url") or ""), feed_text)
            return text, {**note, "article": dict(page)}
        why = meta.get("fulltext")
        if stored is None or not isinstance(why, str):
            return feed_text, {}
        if why == "fetched":  # fetched before pages were kept: its text is only the stored one
            return stored.text, {"fulltext": why, "summary": feed_text}
        return feed_text, {"fulltext": why}


def _article(page: bytes, content_type: str, url: str, feed_text: str
             ) -> tuple[str, dict[str, str]]:
    """The main text of a fetched article page when it says more than the feed, with a note."""
    try:
        article = article_text(page, content_type, url)
    except InputError as exc:
        return feed_text, {"fulltext": f"not extracted: {exc}"}
    if len(article) <= len(feed_text):
        return feed_text, {"fulltext": "kept the feed text: the page had no more text"}
    return article, {"fulltext": "fetched", "summary": feed_text}


def _wants_fulltext(mode: str, link: str, feed_text: str) -> bool:
    if mode == "never" or not is_url(link):
        return False
    return mode == "always" or len(feed_text) < SHORT_TEXT


def _feed_meta(parsed: Any, ref: str) -> dict[str, Any]:
    feed = parsed.feed
    meta: dict[str, Any] = {
        "feed": detail_text(str(feed.get("title") or ""), feed.get("title_detail")),
        "feed_format": str(parsed.get("version") or ""),
        "input": ref,
        "encoding": str(parsed.get("encoding") or ""),
        "bozo": bool(parsed.get("bozo")),
    }
    if meta["bozo"]:
        meta["bozo_message"] = bozo_message(parsed)
    if language := feed.get("language"):
        meta["feed_language"] = str(language)
    return meta


def _entry_meta(entry: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if entry_id := entry.get("id"):
        meta["entry_id"] = str(entry_id)
    if author := normalize_space(str(entry.get("author") or "")):
        meta["author"] = author
    return meta


def _media_type(feed_format: str) -> str:
    if feed_format.startswith("atom"):
        return "application/atom+xml"
    if feed_format in ("rss090", "rss10"):
        return "application/rdf+xml"
    return "application/rss+xml" if feed_format.startswith("rss") else "application/xml"


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(4096)
    except OSError:
        return b""


@hookimpl
def register_collectors() -> list[type[Collector]]:
    return [RssCollector]
