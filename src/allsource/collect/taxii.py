"""The TAXII collector: STIX objects from TAXII 2.1 collections, with ``added_after`` checkpoints.

**Location**: a TAXII 2.1 discovery URL (``https://host/taxii2/``) or an API root URL. The
collector GETs it and tells the two apart by content (a discovery resource lists
``api_roots``). Options (``allsource source add NAME taxii URL -o key=value``):

* ``api_root`` — URL or last path segment of the API root to read; default: the discovery's
  ``default``, else every API root it lists;
* ``collection`` — id or title of one collection; default: every collection with ``can_read``;
* ``username`` + ``password_env`` (HTTP basic), or ``token_env`` (bearer token) — secrets by
  reference: the options name environment variables, a password is never stored inline;
* ``page_size`` — objects per request (``limit``), default 500; servers may send fewer.

**Protocol.** The calls are made here on our guarded httpx client (``ctx.http``) rather than
through ``taxii2-client``: that library talks ``requests``, so its traffic would bypass the one
client factory (address guard on every redirect hop, timeouts, size caps, injectable transport)
unless we rebuilt the guard in a ``requests`` adapter; and its ``get_objects`` returns parsed
JSON only, dropping the ``X-TAXII-Date-Added-Last`` header the checkpoint needs and the raw page
bytes the blob store and quarantine need. The calls are few: GET discovery, GET API root, GET
``collections/``, GET ``collections/{id}/objects/`` (``limit``, ``added_after``, ``next``) and
GET ``objects/{id}/`` for a marking definition, all with
``Accept: application/taxii+json;version=2.1``. The tests cross-check against the real
``taxii2-client`` on the same server.

**Paging and checkpoints.** A collection is read page by page: the first request carries
``added_after`` from the checkpoint; later ones follow the envelope's ``next`` (with the same
filter, as servers require) or, for servers without ``next``, move ``added_after`` to the page's
``X-TAXII-Date-Added-Last``. After each page's items a :class:`Checkpoint` records, per
collection, that header as the next ``added_after``; a crash resumes after the last committed
page. The checkpoint is keyed by the collection itself — its API root's name and its id
(:func:`checkpoint_key`) — not by its URL, so a partner that moves to another host or port
is not read again in full; a checkpoint written under the older URL keys is carried over.
``collect({})`` reads everything. A server that sends no ``X-TAXII-Date-Added-Last`` cannot
be resumed, so such a collection is read in full each run
(re-ingesting is a no-op, see the runner). A server that answers with the same objects twice
in a row (e.g. one ignoring ``next``) stops the run with an error rather than looping.

**Delta by manifest.** A collector that can tell which object versions its store already
holds (:meth:`TaxiiCollector.held_ids` — the partner sync's, :mod:`allsource.share.sync`)
walks the collection's *manifest* instead (``GET collections/{id}/manifest/``, the same
paging, filters and checkpoint) and GETs by ``match[id]`` only the versions it does not hold,
in chunks of :data:`ID_CHUNK` ids. What comes back from a partner that got it from us — our
own objects, echoed — or from anywhere else we already read costs one manifest record
(id, version, date added), never the object again, and is not stored again. Standard TAXII
2.1: it works against any server that serves manifests (medallion too).

**Mapping** is the STIX collector's (:func:`allsource.collect.stix.map_bundle`), one page at a
time as if it were a bundle: 2.0 objects are upgraded, each bad object is :class:`Rejected`,
SDOs with text become documents, the rest hangs on one document per page (titled with the
collection and the ``date_added`` range). A page that is not JSON or not an envelope is
:class:`Rejected` with its raw bytes; reading goes on from its ``X-TAXII-Date-Added-Last`` when
the server sent one, else that collection stops there.

**Markings** come from each object's ``object_marking_refs`` (via the STIX mapping), resolved
against marking definitions of the same page. A collection's definitions may sit on an earlier
page, or have been read in an earlier run, so the mapping of a page is also handed the
TLP-bearing definitions its objects reference but it lacks: one seen on an earlier page, or
else fetched once by id from the collection (a 404 means "unknown", which says nothing about
TLP). Objects without a TLP reference get the source's default marking.

**Errors**: an unreachable server, HTTP 401/403/404, an unknown API root or collection end the
run as ``failed`` with a one-line message naming what is available.

**Rebuilding** maps a kept page again, under the name its page document has, without asking
the server: marking definitions that were fetched from outside the page are not fetched again
(a rebuild never loosens a stored marking, see :mod:`allsource.process.rebuild`).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx
import orjson

from allsource.collect.base import CollectContext, Collector, StoredItem, is_url
from allsource.collect.stix import ParsedBundle, map_bundle, parse_bundle
from allsource.errors import ConfigError, FetchError, InputError, SourceError
from allsource.hookspecs import hookimpl
from allsource.model.records import Checkpoint, Collected, Item, Rejected, Source
from allsource.share.stix_markings import TLP_IDS, marking_refs, tlp_of_definition

__all__ = ["Envelope", "TaxiiCollection", "TaxiiCollector", "TaxiiHTTPError", "auth_headers",
           "checkpoint_key", "parse_envelope", "register_collectors"]

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
ADDED_FIRST = "X-TAXII-Date-Added-First"
ADDED_LAST = "X-TAXII-Date-Added-Last"
DEFAULT_PAGE_SIZE = 500
#: ids per ``match[id]`` request of a manifest walk (keeps the URL within a few KiB)
ID_CHUNK = 100
_BOM = b"\xef\xbb\xbf"


class TaxiiHTTPError(FetchError):
    """A TAXII server answered with an HTTP error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class TaxiiCollection:
    """One collection of an API root, as listed by ``GET {api_root}collections/``."""

    api_root: str
    id: str
    title: str
    can_read: bool
    can_write: bool = False

    @property
    def objects_url(self) -> str:
        return f"{self.api_root}collections/{quote(self.id, safe='')}/objects/"

    @property
    def manifest_url(self) -> str:
        return f"{self.api_root}collections/{quote(self.id, safe='')}/manifest/"

    @property
    def label(self) -> str:
        return self.title or self.id


@dataclass(frozen=True, slots=True)
class _Answer:
    url: str
    status: int
    headers: httpx.Headers
    content: bytes


@dataclass(frozen=True, slots=True)
class Envelope:
    """A TAXII 2.1 envelope: one page of objects; ``objects`` are still unchecked JSON."""

    objects: list[Any]
    more: bool
    next: str | None


def parse_envelope(data: bytes) -> Envelope | str:
    """The envelope in ``data``, or why ``data`` is not one (one line)."""
    try:
        doc = orjson.loads(data.removeprefix(_BOM))
    except orjson.JSONDecodeError as exc:
        return f"not valid JSON ({exc})"
    if not isinstance(doc, dict) or "type" in doc:  # a bundle or one STIX object
        return "JSON but not a TAXII envelope ({\"objects\": [...], \"more\": ...})"
    objects, more, follow = doc.get("objects", []), doc.get("more", False), doc.get("next")
    if not isinstance(objects, list):
        return "the envelope's \"objects\" is not a list"
    if not isinstance(more, bool) or not isinstance(follow, str | None):
        return "the envelope's \"more\" is not a boolean or its \"next\" not a string"
    return Envelope(objects, more, follow or None)


def _json(answer: _Answer, what: str) -> dict[str, Any]:
    try:
        doc = orjson.loads(answer.content.removeprefix(_BOM))
    except orjson.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict):
        raise FetchError(f"{answer.url} did not answer with a TAXII 2.1 {what} (JSON object)")
    return doc


def _status_message(url: str, status: int, content: bytes) -> str:
    if status == 401:
        return (f"TAXII server at {url} refused the credentials (HTTP 401): check the "
                "source's username and password_env, or token_env, options")
    if status == 403:
        return (f"TAXII server at {url} denied access (HTTP 403): these credentials may not "
                "read it")
    if status == 406:
        return f"{url} does not serve TAXII 2.1 (HTTP 406 for {TAXII_MEDIA_TYPE})"
    detail = ""
    try:
        error = orjson.loads(content)
    except orjson.JSONDecodeError:
        error = None
    if isinstance(error, dict) and isinstance(error.get("title"), str):
        detail = f": {error['title']}"
        if isinstance(error.get("description"), str):
            detail += f" ({error['description']})"
    return f"GET {url} answered HTTP {status}{detail}"


def _secret(config: Mapping[str, Any], key: str) -> str | None:
    name = config.get(key)
    if name is None:
        return None
    value = os.environ.get(str(name))
    if not value:
        raise ConfigError(f"option {key}={name}: environment variable {name} is not set")
    return value


def auth_headers(config: Mapping[str, Any]) -> dict[str, str]:
    """The ``Authorization`` header the source's options name (secrets from the environment)."""
    for inline in ("password", "token"):
        if inline in config:
            raise ConfigError(f"do not store the {inline} in the source: put it in an "
                              f"environment variable and pass -o {inline}_env=VARIABLE")
    token = _secret(config, "token_env")
    username = config.get("username")
    password = _secret(config, "password_env")
    if token and username:
        raise ConfigError("use either token_env or username + password_env, not both")
    if token:
        return {"Authorization": f"Bearer {token}"}
    if username and password:
        pair = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        return {"Authorization": f"Basic {pair}"}
    if username or password:
        raise ConfigError("basic authentication needs both username and password_env")
    return {}


def _page_size(config: Mapping[str, Any]) -> int:
    raw = config.get("page_size", DEFAULT_PAGE_SIZE)
    try:
        size = int(raw)
    except (TypeError, ValueError):
        size = 0
    if not 1 <= size <= 100_000:
        raise ConfigError(f"option page_size={raw!r}: expected a whole number from 1 to 100000")
    return size


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _root_name(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


def checkpoint_key(collection: TaxiiCollection) -> str:
    """The key of ``collection``'s checkpoint: ``<API root name>/<collection id>``, the same
    wherever the server is reached."""
    return f"{_root_name(collection.api_root)}/{collection.id}"


def _carried(state: Mapping[str, Any], collection: TaxiiCollection) -> dict[str, Any]:
    """``collection``'s checkpoint: under its key, else under a URL key of an older run
    (``…/<root name>/collections/<id>/objects/``, whatever host and port it named)."""
    found = state.get(checkpoint_key(collection))
    if isinstance(found, dict):
        return found
    old = [v for k, v in state.items() if k.endswith(_url_tail(collection))
           and isinstance(v, dict)]
    return old[-1] if old else {}


def _url_tail(collection: TaxiiCollection) -> str:
    """How the objects URL that keyed ``collection``'s checkpoint before ended."""
    cid = quote(collection.id, safe="")
    return f"/{_root_name(collection.api_root)}/collections/{cid}/objects/"


def _page_name(collection: TaxiiCollection, headers: httpx.Headers) -> str:
    first, last = headers.get(ADDED_FIRST), headers.get(ADDED_LAST)
    if first and last:
        return f"{collection.label} (TAXII, added {first} to {last})"
    return f"{collection.label} (TAXII page)"


class TaxiiCollector(Collector):
    """STIX objects from TAXII 2.1 collections, resumed with ``added_after``."""

    name = "taxii"
    description = ("TAXII 2.1 collections (discovery, API roots, collections, paged objects "
                   "resumed with added_after); objects are mapped like STIX bundles")
    default_schedule = 3600
    time_limit = 2 * 3600.0

    def __init__(self, source: Source, ctx: CollectContext) -> None:
        super().__init__(source, ctx)
        # set from the source's options by collect(), so a bad option fails the run record
        self._auth: dict[str, str] = {}
        self._limit = DEFAULT_PAGE_SIZE
        #: marking definitions of the collection being read, by id (None: not found)
        self._definitions: dict[str, dict[str, Any] | None] = {}

    @classmethod
    def detect(cls, location: str, head: bytes) -> int:
        if not is_url(location):
            return 0
        path = location.lower()
        if "/taxii2" in path:
            return 95
        return 80 if "taxii" in path else 0

    # -- HTTP --------------------------------------------------------------------------------
    def _get(self, url: str, params: Mapping[str, str] | None = None, *,
             hint: str = "") -> _Answer:
        """GET ``url`` on the guarded client; size-capped; HTTP errors as one-line messages
        (``hint`` is added to a 404's)."""
        headers = {"Accept": TAXII_MEDIA_TYPE, **self._auth}
        try:
            got = self.ctx.fetch(self.source, url, headers=headers, params=params,
                                 raise_for_status=False)
        except InputError as exc:  # over the size cap: a smaller page size fixes it
            raise FetchError(f"{exc}; lower the source's page_size option") from exc
        if got.status == 404:
            raise TaxiiHTTPError(f"{got.url} not found (HTTP 404){hint}", 404)
        if got.status >= 400:
            raise TaxiiHTTPError(_status_message(got.url, got.status, got.content), got.status)
        return _Answer(got.url, got.status, got.headers, got.content)

    # -- discovery ---------------------------------------------------------------------------
    def _api_roots(self) -> list[str]:
        location = _slash(self.source.location)
        doc = _json(self._get(location, hint=": give a TAXII 2.1 discovery URL (…/taxii2/) or "
                                             "an API root URL"),
                    "discovery or API root resource")
        wanted = self.source.config.get("api_root")
        if "api_roots" not in doc:
            if "versions" in doc or "max_content_length" in doc or "title" in doc:
                return [location]  # the location is an API root
            raise FetchError(f"{location} is neither a TAXII 2.1 discovery nor an API root "
                             "resource")
        listed = doc["api_roots"] if isinstance(doc["api_roots"], list) else []
        roots = [_slash(urljoin(location, r)) for r in listed if isinstance(r, str)]
        if wanted:
            match = [r for r in roots if r == _slash(urljoin(location, str(wanted)))
                     or _root_name(r) == str(wanted).strip("/")]
            if not match:
                raise SourceError(f"TAXII API root {wanted!r} not found at {location}; "
                                  f"available: {', '.join(roots) or 'none'}")
            return match[:1]
        default = doc.get("default")
        if isinstance(default, str) and default:
            return [_slash(urljoin(location, default))]
        if not roots:
            raise SourceError(f"TAXII server at {location} lists no API roots")
        return roots

    def _collections(self, api_root: str) -> list[TaxiiCollection]:
        doc = _json(self._get(f"{api_root}collections/"), "collections resource")
        listed = doc.get("collections", [])
        return [TaxiiCollection(api_root, str(c["id"]), str(c.get("title") or ""),
                                c.get("can_read") is True, c.get("can_write") is True)
                for c in (listed if isinstance(listed, list) else [])
                if isinstance(c, dict) and isinstance(c.get("id"), str)]

    def listed(self) -> list[TaxiiCollection]:
        """Every collection of the source's API root(s), as the server lists them to these
        credentials (sets up the source's authentication first)."""
        self._auth = auth_headers(self.source.config)
        return [c for root in self._api_roots() for c in self._collections(root)]

    def _selected(self) -> list[TaxiiCollection]:
        found = self.listed()
        where = ", ".join(sorted({c.api_root for c in found})) or self.source.location
        wanted = self.source.config.get("collection")
        if wanted:
            key = str(wanted).strip()
            match = [c for c in found if c.id == key or c.title.lower() == key.lower()]
            if not match:
                available = ", ".join(f"{c.title!r} ({c.id})" for c in found) or "none"
                raise SourceError(f"TAXII collection {key!r} not found at {where}; "
                                  f"available: {available}")
            unreadable = [c for c in match if not c.can_read]
            if unreadable:
                raise SourceError(f"TAXII collection {key!r} at {unreadable[0].api_root} is not "
                                  "readable with these credentials (can_read is false)")
            return match
        readable = [c for c in found if c.can_read]
        if not readable:
            raise SourceError(f"no readable TAXII collection at {where}")
        return readable

    # -- collecting --------------------------------------------------------------------------
    def held_ids(self, records: Sequence[tuple[str, str]]) -> set[str] | None:
        """Of the manifest ``records`` (id, version), the ids whose version the store
        already holds; ``None`` (this class): the collector cannot tell, and reads objects
        pages. The partner sync's collector answers from the store."""
        return None

    def manifest_filters(self) -> dict[str, str]:
        """Extra filter parameters of a manifest walk (none here; the partner sync asks an
        allsource partner to leave out what came from us, :mod:`allsource.share.sync`)."""
        return {}

    def collect(self, checkpoint: dict[str, Any]) -> Iterator[Item]:
        self._auth = auth_headers(self.source.config)
        self._limit = _page_size(self.source.config)
        previous = checkpoint.get("collections")
        state: dict[str, dict[str, Any]] = dict(previous) if isinstance(previous, dict) else {}
        by_manifest = self.held_ids([]) is not None
        for collection in self._selected():
            yield from self._collect_one(collection, state, by_manifest)

    def _collect_one(self, collection: TaxiiCollection, state: dict[str, dict[str, Any]],
                     by_manifest: bool = False) -> Iterator[Item]:
        self._definitions = {}
        key = collection.objects_url
        slot = checkpoint_key(collection)
        done = _carried(state, collection).get("added_after")
        after = done
        extra = self.manifest_filters() if by_manifest else {}
        base = {"limit": str(self._limit), **extra}
        if isinstance(after, str) and after:
            base["added_after"] = after
        params, number, previous = dict(base), 0, None
        envelope: Envelope | None
        while True:
            if by_manifest:
                answer = self._get(collection.manifest_url, params)
                number += 1
                envelope = yield from self._manifest_page(collection, answer, number)
            else:
                answer = self._get(key, params)
                number += 1
                envelope = yield from self._page(collection, answer, number)
            seen = envelope.objects if envelope is not None else answer.content
            if seen and seen == previous:
                raise FetchError(f"TAXII server at {key} sent page {number - 1} again as page "
                                 f"{number}; stopped paging to avoid a loop")
            previous = seen
            last = answer.headers.get(ADDED_LAST)
            if last and last != done:
                state[slot] = {"added_after": last, "title": collection.title}
                for old in [k for k in state if k.endswith(_url_tail(collection))]:
                    del state[old]  # a URL key this checkpoint was carried over from
                done = last
                yield Checkpoint({"collections": dict(state)})
            if envelope is not None and not envelope.more:
                return
            if envelope is not None and envelope.next:
                params = {**base, "next": envelope.next}
                continue
            if not last or last == base.get("added_after"):
                if envelope is None:
                    return  # a bad page without a usable date: nothing to resume from
                raise FetchError(f"TAXII server at {key} says more objects follow but sends "
                                 f"neither \"next\" nor a new {ADDED_LAST}; cannot page on")
            base = {"limit": str(self._limit), **extra, "added_after": last}
            params = dict(base)

    def _page(self, collection: TaxiiCollection, answer: _Answer,
              number: int) -> Generator[Item, None, Envelope | None]:
        """Map one page; returns its envelope, or ``None`` when the page was unusable."""
        envelope = parse_envelope(answer.content)
        if isinstance(envelope, str):
            yield Rejected(f"TAXII collection {collection.label!r} page {number} from "
                           f"{answer.url}: {envelope}", answer.content, answer.url)
            return None
        if envelope.objects:
            yield from self._map_page(
                answer.content, envelope, _page_name(collection, answer.headers), answer.url,
                self._outside_definitions(collection, envelope.objects))
        return envelope

    def _manifest_page(self, collection: TaxiiCollection, answer: _Answer,
                       number: int) -> Generator[Item, None, Envelope]:
        """Read one manifest page and GET, by ``match[id]``, the versions it lists that the
        store does not hold; returns the manifest's envelope (its paging)."""
        envelope = parse_envelope(answer.content)
        if isinstance(envelope, str):
            raise FetchError(f"TAXII collection {collection.label!r} manifest page {number} "
                             f"from {answer.url}: {envelope}")
        records = [(str(r["id"]), str(r.get("version") or "")) for r in envelope.objects
                   if isinstance(r, dict) and isinstance(r.get("id"), str)]
        held = self.held_ids(records) or set()
        wanted = list(dict.fromkeys(i for i, _ in records if i not in held))
        for start in range(0, len(wanted), ID_CHUNK):
            part = wanted[start:start + ID_CHUNK]
            params = {"match[id]": ",".join(part), "limit": str(len(part))}
            while True:
                got = self._get(collection.objects_url, params)
                page = yield from self._page(collection, got, number)
                if page is None or not page.more or not page.next:
                    break
                params = {**params, "next": page.next}
        return envelope

    def _map_page(self, data: bytes, envelope: Envelope, name: str, ref: str,
                  definitions: Mapping[str, dict[str, Any]] | None = None
                  ) -> Iterator[Collected | Rejected]:
        """Map one page's objects as a bundle named ``name`` (the page is kept as a blob)."""
        bundle = ParsedBundle(name, None, None, envelope.objects, len(data))
        yield from map_bundle(bundle, self.ctx.keep_blob(data), self.marking, ref,
                              self.ctx.settings.max_item_bytes, definitions=definitions)

    # -- markings across pages ---------------------------------------------------------------
    def _outside_definitions(self, collection: TaxiiCollection, objects: list[Any]
                             ) -> dict[str, dict[str, Any]]:
        """The TLP-bearing marking definitions ``objects`` reference but do not carry: seen
        on an earlier page, or else fetched once by id from the collection."""
        here = {o["id"] for o in objects if isinstance(o, dict)
                and o.get("type") == "marking-definition" and isinstance(o.get("id"), str)}
        for obj in objects:
            if isinstance(obj, dict) and obj.get("id") in here:
                self._definitions[obj["id"]] = obj
        # most objects carry no marking at all: test for the keys before collecting refs
        missing = sorted({ref for obj in objects if isinstance(obj, dict)
                          and ("object_marking_refs" in obj or "granular_markings" in obj)
                          for ref in marking_refs(obj)
                          if ref not in here and ref not in TLP_IDS})
        return {ref: d for ref in missing if (d := self._definition(collection, ref)) is not None
                and tlp_of_definition(d) is not None}

    def _definition(self, collection: TaxiiCollection, ref: str) -> dict[str, Any] | None:
        if ref not in self._definitions:
            self._definitions[ref] = self._fetch_definition(collection, ref)
        return self._definitions[ref]

    def _fetch_definition(self, collection: TaxiiCollection,
                          ref: str) -> dict[str, Any] | None:
        if not ref.startswith("marking-definition--"):
            return None
        try:
            answer = self._get(f"{collection.objects_url}{quote(ref, safe='')}/")
        except TaxiiHTTPError as exc:
            if exc.status == 404:
                return None  # an unknown reference says nothing about TLP
            raise
        envelope = parse_envelope(answer.content)
        found = [] if isinstance(envelope, str) else [
            o for o in envelope.objects if isinstance(o, dict) and o.get("id") == ref]
        return found[-1] if found else None

    def reparse(self, raw: bytes, ref: str) -> Iterator[Item]:
        """Re-read a quarantined page (an envelope) or one quarantined object."""
        envelope = parse_envelope(raw)
        if isinstance(envelope, Envelope):
            yield from self._map_page(raw, envelope, f"TAXII page {ref}", ref)
            return
        try:
            bundle = parse_bundle(raw, ref)
        except InputError:
            raise InputError(f"{ref}: {envelope}") from None
        yield from map_bundle(bundle, self.ctx.keep_blob(raw), self.marking, ref,
                              self.ctx.settings.max_item_bytes)

    def rebuild(self, raw: bytes, stored: Sequence[StoredItem]
                ) -> Iterator[Collected | Rejected]:
        """Map a kept page again (offline: no marking definitions are fetched)."""
        envelope = parse_envelope(raw)
        name = next((s.title for s in stored if s.ref == "bundle"), "TAXII page")
        if isinstance(envelope, str):
            raise InputError(f"{name}: {envelope}")
        yield from self._map_page(raw, envelope, name, self.source.location)


@hookimpl
def register_collectors() -> list[type[Collector]]:
    return [TaxiiCollector]
