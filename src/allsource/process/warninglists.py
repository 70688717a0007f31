"""Flag observables that are public infrastructure, using the MISP warninglists.

The ``pymispwarninglists`` package ships 100+ lists (top domains, cloud and CDN ranges, public
DNS resolvers, RFC 1918, empty-file hashes …). Each list has a ``type`` — how to match — and
``matching_attributes`` — which MISP attribute types it applies to. A flag is a warning, never a
verdict: an observable that matches stays an observable, with the names of the lists it hit.

All lists are merged, once, into lookup tables keyed by our value types, so a check costs a few
lookups whatever the number of lists:

- ``string`` lists → one table ``value → list names`` per group (entries that start with a dot,
  ``.google.com``, are suffixes, as MISP reads them);
- ``hostname`` lists → one table of suffixes: a domain matches if it, or any parent of it, is
  listed (``www.example.com`` matches ``example.com``);
- these two hold ~2.5 million strings (two top-1M site lists), so a table is not a dict of
  strings (~650 MB) but a sorted ``array`` of 64-bit xxh3 hashes with a parallel array of
  name-set indexes (~10 bytes an entry), searched by bisection. A collision between a value and
  a listed string is a 2^-64-per-entry event; the arrays are deterministic and picklable;
- ``cidr`` lists → per IP version and prefix length, a dict ``network address → names``; an
  address (or CIDR) is looked up once per prefix length present (at most 33 for IPv4, 129 for
  IPv6), never by scanning networks;
- ``substring`` lists → needles indexed by their first four characters, so a value of length
  *n* costs *n* lookups;
- ``regex`` lists (MISP's ``/…/flags`` syntax) → compiled Python patterns.

Groups, from MISP attribute types: ``ip`` (ipv4, ipv6, cidr), ``domain``, ``url`` (the full URL
against url lists, its host against the url lists' hostnames), ``email`` and ``hash`` (md5, sha1,
sha256, sha512). Other observable types (file names, CVE IDs …) have no lists.
"""

from __future__ import annotations

import ipaddress
import os
import pickle
import re
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import orjson
import xxhash

from allsource.process.observables import Found, warninglists_dir

__all__ = ["WarningLists", "default_warninglists", "load_lists"]

_GROUP_ATTRIBUTES: dict[str, frozenset[str]] = {
    "ip": frozenset({"ip-src", "ip-dst", "domain|ip", "ip-src|port", "ip-dst|port", "ip"}),
    "domain": frozenset({"domain", "hostname", "domain|ip", "hostname|port"}),
    "url": frozenset({"url", "uri", "link"}),
    "email": frozenset({"email", "email-src", "email-dst", "target-email",
                        "whois-registrant-email", "dns-soa-email", "email-reply-to"}),
    "hash": frozenset({"md5", "sha1", "sha256", "sha512", "filename|md5", "filename|sha1",
                       "filename|sha256", "filename|sha512"}),
}
_GROUP_OF_TYPE = {"ipv4": "ip", "ipv6": "ip", "cidr": "ip", "domain": "domain", "url": "url",
                  "email": "email", "md5": "hash", "sha1": "hash", "sha256": "hash",
                  "sha512": "hash"}
_NEEDLE_KEY = 4
_MISP_REGEX = re.compile(r"/(.*)/([a-z]*)", re.DOTALL)

Names = tuple[str, ...]


def load_lists(names: Collection[str] | None = None) -> Iterator[dict[str, Any]]:
    """The warninglists shipped with ``pymispwarninglists`` (all, or those whose ``name`` or
    folder is in ``names``), read one at a time so only one list's JSON is in memory."""
    for folder in sorted(warninglists_dir().iterdir()):
        entry = folder / "list.json"
        if not entry.is_file():
            continue
        data = orjson.loads(entry.read_bytes())
        if names is None or data["name"] in names or folder.name in names:
            yield data


def _key(value: str) -> int:
    return int(xxhash.xxh3_64_intdigest(value.encode("utf-8", "surrogatepass")))


class _Table:
    """A compact, read-only ``str → names`` map: sorted 64-bit hashes + name-set indexes."""

    def __init__(self) -> None:
        self._pending: list[int] = []
        self.keys: array[int] = array("Q")
        self.sets: array[int] = array("I")
        self.combos: list[Names] = []

    def add_many(self, values: Iterable[str], name_id: int) -> None:
        # hash << 16 | list index: one sort then orders by hash and groups equal hashes.
        self._pending.extend((_key(v) << 16) | name_id for v in values)

    def freeze(self, names: list[str]) -> None:
        pending = sorted(self._pending)
        self._pending = []
        combo_index: dict[Names, int] = {}
        keys, sets = array("Q"), array("I")
        members: list[str] = []
        prev = -1
        for packed in pending:
            h, name = packed >> 16, names[packed & 0xFFFF]
            if h != prev:
                if members:
                    combo = tuple(members)
                    sets.append(combo_index.setdefault(combo, len(combo_index)))
                keys.append(h)
                members = []
                prev = h
            if name not in members:
                members.append(name)
        if members:
            combo = tuple(members)
            sets.append(combo_index.setdefault(combo, len(combo_index)))
        self.keys, self.sets = keys, sets
        self.combos = list(combo_index)

    def get(self, value: str) -> Names:
        h = _key(value)
        i = bisect_left(self.keys, h)
        if i < len(self.keys) and self.keys[i] == h:
            return self.combos[self.sets[i]]
        return ()


class WarningLists:
    """Merged lookup tables over a set of MISP warninglists (see the module docstring)."""

    def __init__(self, lists: Iterable[Mapping[str, Any]]) -> None:
        # Lists of several groups (domain and url) are stored once; a lookup keeps the names
        # of the lists that apply to the group asked.
        self._exact = _Table()
        self._suffix = _Table()
        self._in_group: dict[str, set[str]] = defaultdict(set)
        self._needles: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(dict)
        self._short_needles: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self._regexes: dict[str, list[tuple[re.Pattern[str], str]]] = defaultdict(list)
        self._nets: dict[int, dict[int, dict[int, Names]]] = {4: {}, 6: {}}
        self._interned: dict[Names, Names] = {}
        self.names: list[str] = []
        for wl in lists:
            self._add(wl)
        self._exact.freeze(self.names)
        self._suffix.freeze(self.names)
        self._prefixes = {v: sorted(by_len) for v, by_len in self._nets.items()}

    # --- building ---------------------------------------------------------------------------
    def _add(self, wl: Mapping[str, Any]) -> None:
        name = str(wl["name"])
        groups = _groups(wl)
        if not groups:
            return
        name_id = len(self.names)
        self.names.append(name)
        for group in groups:
            self._in_group[group].add(name)
        kind = wl["type"]
        entries = [e for e in (str(raw).strip() for raw in wl["list"]) if e]
        if kind == "cidr" and "ip" in groups:
            entries = [e for e in entries if not self._add_network(e, name)]
        if kind in ("string", "cidr"):
            lowered = [e.lower() for e in entries]
            self._exact.add_many((e for e in lowered if not e.startswith(".")), name_id)
            self._suffix.add_many((e.strip(".") for e in lowered if e.startswith(".")), name_id)
        elif kind == "hostname":
            self._suffix.add_many((e.lower().strip(".") for e in entries), name_id)
        for group in groups:
            if kind == "substring":
                for e in entries:
                    self._add_needle(group, e.lower(), name)
            elif kind == "regex":
                self._regexes[group].extend(
                    (p, name) for p in map(_misp_regex, entries) if p is not None)

    def _add_needle(self, group: str, needle: str, name: str) -> None:
        if len(needle) < _NEEDLE_KEY:
            self._short_needles[group].append((needle, name))
        else:
            self._needles[group].setdefault(needle[:_NEEDLE_KEY], []).append((needle, name))

    def _add_network(self, entry: str, name: str) -> bool:
        try:
            net = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return False
        by_len = self._nets[net.version].setdefault(net.prefixlen, {})
        old = by_len.get(int(net.network_address), ())
        if name not in old:
            names = (*old, name)
            by_len[int(net.network_address)] = self._interned.setdefault(names, names)
        return True

    # --- checking ---------------------------------------------------------------------------
    def check(self, found: Found) -> list[str]:
        """Names of the lists ``found`` matches (empty: no warning)."""
        group = _GROUP_OF_TYPE.get(found.type)
        if group is None:
            return []
        value = found.value.lower() if group != "email" else found.value
        hits: list[str] = []
        if group == "ip":
            self._networks(found.type, found.value, hits)
            self._strings("ip", value, hits)
        elif group == "url":
            self._strings("url", value, hits)
            host = _url_host(value)
            if host:
                self._strings("url", host, hits)
                self._hostnames("url", host, hits)
        elif group == "domain":
            self._strings("domain", value, hits)
            self._hostnames("domain", value, hits)
        else:
            self._strings(group, value, hits)
        return list(dict.fromkeys(hits))

    def _strings(self, group: str, value: str, hits: list[str]) -> None:
        self._lookup(self._exact, group, value, hits)
        self._substrings(group, value, hits)
        for pattern, name in self._regexes.get(group, ()):
            if pattern.search(value):
                hits.append(name)

    def _hostnames(self, group: str, host: str, hits: list[str]) -> None:
        labels = host.split(".")
        for i in range(len(labels)):
            self._lookup(self._suffix, group, ".".join(labels[i:]), hits)

    def _lookup(self, table: _Table, group: str, value: str, hits: list[str]) -> None:
        names = table.get(value)
        if names:
            applies = self._in_group[group]
            hits.extend(n for n in names if n in applies)

    def _substrings(self, group: str, value: str, hits: list[str]) -> None:
        value = value.lower()
        for needle, name in self._short_needles.get(group, ()):
            if needle in value:
                hits.append(name)
        index = self._needles.get(group)
        if not index:
            return
        for i in range(len(value) - _NEEDLE_KEY + 1):
            for needle, name in index.get(value[i:i + _NEEDLE_KEY], ()):
                if value.startswith(needle, i):
                    hits.append(name)

    def _networks(self, kind: str, value: str, hits: list[str]) -> None:
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return
        address = int(net.network_address)
        bits = net.max_prefixlen
        for prefixlen in self._prefixes[net.version]:
            if prefixlen > net.prefixlen:
                break  # a listed network smaller than the value does not contain it
            key = address >> (bits - prefixlen) << (bits - prefixlen)
            hits.extend(self._nets[net.version][prefixlen].get(key, ()))


def _groups(wl: Mapping[str, Any]) -> list[str]:
    attributes = set(wl.get("matching_attributes") or ())
    return [g for g, attrs in _GROUP_ATTRIBUTES.items() if attrs & attributes]


def _misp_regex(entry: str) -> re.Pattern[str] | None:
    """``/^(abuse|noc)\\@.*$/i`` → a compiled pattern (``None`` if it does not compile)."""
    m = _MISP_REGEX.fullmatch(entry)
    source, flags = (m.group(1), m.group(2)) if m else (entry, "")
    try:
        return re.compile(source, re.IGNORECASE if "i" in flags else 0)
    except re.error:
        return None


def _url_host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""


#: bump when the in-memory structure changes, so old cache files are not read
CACHE_FORMAT = 1


@lru_cache(maxsize=1)
def default_warninglists() -> WarningLists:
    """All lists shipped with ``pymispwarninglists``, built once per machine.

    Building takes seconds, so the built structure is kept in the cache folder (see
    :func:`allsource.process.gazetteer.default_cache_dir`), keyed by the package version and
    :data:`CACHE_FORMAT`; worker processes then start in a fraction of a second. The file is
    a pickle written by this function into the user's own cache folder; a file that cannot be
    read is ignored and rebuilt."""
    from importlib.metadata import PackageNotFoundError, version

    from allsource.process.gazetteer import default_cache_dir

    try:
        package = version("pymispwarninglists")
    except PackageNotFoundError:
        package = "unknown"
    path = default_cache_dir() / f"warninglists-{package}-{CACHE_FORMAT}.pickle"
    try:
        with path.open("rb") as fh:
            cached = pickle.load(fh)
        if isinstance(cached, WarningLists):
            return cached
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError,
            IndexError, TypeError, ValueError):
        pass
    built = WarningLists(load_lists())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(built, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except OSError:
        pass
    return built
