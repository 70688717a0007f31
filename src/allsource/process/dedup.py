"""Story-level near-duplicate detection: MinHash signatures, LSH bands, one pass per document.

A *story* is a set of documents that carry (nearly) the same text: one wire report re-posted
by twenty outlets, a vendor advisory mirrored with a different header, a revised version of a
description. Each document is assigned once, in arrival order, and never moves:

1. **Exact duplicates first.** The text is reduced to tokens (:mod:`allsource.process.
   shingles`) and its :func:`~allsource.process.shingles.text_key` looked up under band
   :data:`EXACT_TEXT`, and the caller's ``content_hash``, when given, under
   :data:`EXACT_CONTENT`. A hit joins the earlier document's story with similarity 1.0, skips
   the MinHash and writes no band rows of its own (its bands would equal its match's).
2. **MinHash.** The document's word shingles are hashed (xxh32) into a ``num_perm``-value
   MinHash — datasketch's ``scheme="affine32"`` with a fixed ``seed``, computed here in numpy
   (the same values, see ``tests/process/test_dedup.py``; importing datasketch costs a
   quarter of a second per process, its per-document object more than the arithmetic): the
   fraction of equal values between two signatures estimates the Jaccard similarity of the
   shingle sets. Signatures are stored as ``num_perm`` little-endian uint32 (512 bytes at
   128).
3. **LSH banding.** The signature is cut into ``b`` bands of ``r`` values; each band hashes to
   a bucket (8 bytes, all bands in one vectorised step) and the index keeps rows ``(band,
   bucket, doc_id)``. Documents sharing any bucket are *candidates*. ``b, r`` are chosen by
   datasketch's optimiser for the threshold with false negatives weighted 0.9 and false
   positives 0.1: candidates are verified anyway, so a missed pair costs more than an extra
   comparison (at the default
   0.6: 25 bands × 5 rows; a pair at Jaccard 0.6 becomes a candidate with probability 0.87,
   at 0.7 with 0.99).
4. **Verification.** Each candidate's stored signature gives an estimated Jaccard; the best
   one at or above ``threshold`` (ties → smallest id) is the *match*, and the document joins
   its story. Without a match the document founds a new story. The default threshold, 0.6,
   is where ``benchmarks/dedup.py`` found the best balance on real copies and rewrites of
   ATT&CK/MISP text (0.7 nearly halves false merges and loses a sixth of the pairwise recall;
   see ``benchmarks/RESULTS.md``). A story is named by its canonical document — its first
   one — so ``story_id == canonical_id``.

Adding a document reads only its own buckets and its candidates' signatures: the store is
never rescanned. Two bounds keep hostile input cheap: at most :data:`MAX_CANDIDATES`
candidates are verified (those sharing most bands first), and a document that joins a story
writes no row into a bucket that already holds a member of that story, so a flood of copies
of one story does not grow its buckets. Empty text (no tokens) founds its own story and is
never indexed, so nothing ever matches it.

Storage is two small protocols, so the same algorithm runs over memory (tests, benchmarks)
and over SQL tables (the store): :class:`BandStore` — the ``(band, bucket, doc_id)`` rows;
:class:`MemberStore` — per document its story, the match that put it there, the similarity
and its signature (empty for exact duplicates and empty texts). :meth:`StoryIndex.assign_batch`
reads each store twice per batch (band store: exact keys, then buckets; member store: the
batch's own ids, then the candidates), handles duplicates *within* the batch in item order
(the earlier item wins), and writes once at the end: a batch of n items gives exactly the result of
n single :meth:`StoryIndex.assign` calls. Same stores and same input order → same stories;
assigning a document id again returns its stored assignment and writes nothing.

The text work (tokens, MinHash, band keys: most of the cost) reads no store: a
:class:`Sketcher` turns a document into a picklable :class:`Sketch` anywhere, e.g. in the
engine's worker processes, and :meth:`StoryIndex.assign_sketches` does the ordered, store-bound
part. (:meth:`~StoryIndex.assign_batch` does both, and skips the MinHash of exact duplicates.)

Signatures and buckets are only comparable under one set of parameters:
:attr:`StoryIndex.fingerprint` names them; keep it with the stored rows and rebuild the
tables when it changes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

import numpy as np
import xxhash
from numpy.typing import NDArray

from allsource.model.stories import Assignment, BandKey, Member
from allsource.process.shingles import shingles, text_key, tokens

__all__ = [
    "EXACT_CONTENT",
    "EXACT_TEXT",
    "MAX_CANDIDATES",
    "Assignment",
    "BandKey",
    "BandStore",
    "Member",
    "MemberStore",
    "MemoryBandStore",
    "MemoryMemberStore",
    "Sketch",
    "Sketcher",
    "StoryIndex",
    "lsh_params",
    "minhash",
]

#: A bucket of the index: (band number, 8-byte band hash); negative bands are exact keys.

EXACT_TEXT = -1      #: band of the normalised-text digest
EXACT_CONTENT = -2   #: band of the caller's content hash
MAX_CANDIDATES = 100
_SIG_DTYPE = np.dtype("<u4")
# Fixed odd multipliers for bucket hashing (any num_perm: at most num_perm rows per band).
_BAND_MULTIPLIERS = (np.random.RandomState(0x5EED).randint(0, 2**63, size=1024,
                                                           dtype=np.uint64)
                     * np.uint64(2) + np.uint64(1))


class BandStore(Protocol):
    """The ``(band, bucket, doc_id)`` rows. SQL: one table, primary key in that order."""

    def lookup(self, keys: Collection[BandKey]) -> Mapping[BandKey, Collection[str]]:
        """The doc ids filed under each of ``keys``; keys with none may be left out."""
        ...

    def add(self, rows: Iterable[tuple[BandKey, str]]) -> None:
        """File each ``doc_id`` under its key (rows arrive in assignment order)."""
        ...


class MemberStore(Protocol):
    """Per-document story membership and signature. SQL: ``story_members`` ⟕ signatures."""

    def get(self, doc_ids: Collection[str]) -> Mapping[str, Member]:
        """The members among ``doc_ids`` (unknown ids are left out)."""
        ...

    def put(self, members: Mapping[str, Member]) -> None:
        """Store new members (a batch's, in assignment order)."""
        ...


@dataclass
class MemoryBandStore:
    """:class:`BandStore` in a dict (tests, benchmarks, one-off runs); picklable."""

    rows: dict[BandKey, list[str]] = field(default_factory=dict)

    def lookup(self, keys: Collection[BandKey]) -> dict[BandKey, list[str]]:
        return {k: self.rows[k] for k in keys if k in self.rows}

    def add(self, rows: Iterable[tuple[BandKey, str]]) -> None:
        for key, doc_id in rows:
            self.rows.setdefault(key, []).append(doc_id)


@dataclass
class MemoryMemberStore:
    """:class:`MemberStore` in a dict; picklable."""

    members: dict[str, Member] = field(default_factory=dict)

    def get(self, doc_ids: Collection[str]) -> dict[str, Member]:
        return {d: self.members[d] for d in doc_ids if d in self.members}

    def put(self, members: Mapping[str, Member]) -> None:
        self.members.update(members)


# datasketch's optimiser for common settings (tests/process/test_dedup.py checks them): its
# import (scipy.integrate) is skipped unless a process uses another threshold or num_perm.
_KNOWN_PARAMS: dict[tuple[float, int], tuple[int, int]] = {
    (0.5, 128): (32, 4), (0.6, 128): (25, 5), (0.7, 128): (20, 6), (0.8, 128): (14, 9),
    (0.9, 128): (8, 16), (0.6, 64): (16, 4), (0.6, 256): (42, 6),
}


@lru_cache(maxsize=32)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) for ``threshold``, weighted towards recall (see module doc)."""
    known = _KNOWN_PARAMS.get((threshold, num_perm))
    if known is not None:
        return known
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.1, 0.9))
    return int(lsh.b), int(lsh.r)


@lru_cache(maxsize=8)
def _permutations(seed: int, num_perm: int) -> tuple[NDArray[np.uint32], NDArray[np.uint32]]:
    """datasketch's affine32 permutations ``h → a·h + b mod 2³²`` (``a`` odd), drawn as it
    draws them."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


_FMIX = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))
_MINHASH_BLOCK = 2048  # shingles per step: bounds the (shingles × num_perm) temporary


def minhash(grams: Sequence[bytes], seed: int = 1, num_perm: int = 128) -> NDArray[np.uint32]:
    """The MinHash of ``grams``: datasketch's ``MinHash(num_perm, seed, scheme="affine32",
    hashfunc=xxhash.xxh32_intdigest)`` after ``update_batch(grams)``, without its objects.
    All values are 2³²−1 for no grams."""
    a, b = _permutations(seed, num_perm)
    out = np.full(num_perm, np.uint32(0xFFFFFFFF), dtype=np.uint32)
    hashes = np.fromiter(map(xxhash.xxh32_intdigest, grams), dtype=np.uint32,
                         count=len(grams))
    shift1, mul1, shift2, mul2 = _FMIX
    hashes ^= hashes >> shift1  # MurmurHash3's 32-bit finalizer, as datasketch pre-mixes
    hashes *= mul1
    hashes ^= hashes >> shift2
    hashes *= mul2
    hashes ^= hashes >> shift1
    for i in range(0, len(hashes), _MINHASH_BLOCK):
        block = np.multiply.outer(hashes[i:i + _MINHASH_BLOCK], a)  # wraps: mod 2³²
        block += b
        np.minimum(out, block.min(axis=0), out=out)
    return out


@dataclass(slots=True)
class Sketch:
    """A document reduced to what assignment needs. Computing it reads no store, so it can
    run in worker processes (:meth:`Sketcher.sketch`); assignment then happens in order
    (:meth:`StoryIndex.assign_sketches`). Picklable."""

    doc_id: str
    exact: list[BandKey]
    bands: list[BandKey] = field(default_factory=list)
    #: MinHash values; None when the text has no tokens (or the MinHash was skipped)
    signature: NDArray[np.uint32] | None = None


class Sketcher:
    """Text → :class:`Sketch` under fixed parameters (the part of the work that is pure)."""

    def __init__(self, threshold: float = 0.6, num_perm: int = 128, seed: int = 1,
                 shingle_size: int = 3, drop_stopwords: bool = False) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if not 1 <= num_perm <= len(_BAND_MULTIPLIERS):
            raise ValueError(f"num_perm must be in [1, {len(_BAND_MULTIPLIERS)}]")
        self.threshold = threshold
        self.num_perm = num_perm
        self.seed = seed
        self.shingle_size = shingle_size
        self.drop_stopwords = drop_stopwords
        self.num_bands, self.band_rows = lsh_params(threshold, num_perm)

    @property
    def fingerprint(self) -> str:
        """Names everything stored rows depend on; rebuild the index when it changes."""
        return (f"minhash-affine32-xxh32:p{self.num_perm}:s{self.seed}:w{self.shingle_size}"
                f":sw{int(self.drop_stopwords)}:b{self.num_bands}x{self.band_rows}")

    def sketch(self, doc_id: str, text: str, content_hash: str | None = None) -> Sketch:
        """Exact keys, signature and band keys of one document."""
        sketch, words = self.start(doc_id, text, content_hash)
        if words:
            self.sign(sketch, words)
        return sketch

    def start(self, doc_id: str, text: str, content_hash: str | None
              ) -> tuple[Sketch, list[str]]:
        """The exact keys only, and the tokens for :meth:`sign`."""
        words = tokens(text, drop_stopwords=self.drop_stopwords)
        exact = [(EXACT_CONTENT, content_hash.encode())] if content_hash else []
        if words:
            exact.append((EXACT_TEXT, text_key(words)))
        return Sketch(doc_id, exact), words

    def sign(self, sketch: Sketch, words: list[str]) -> None:
        """Add the MinHash signature and its LSH band keys."""
        signature = minhash(shingles(words, self.shingle_size), self.seed, self.num_perm
                            ).astype(_SIG_DTYPE, copy=False)
        sketch.signature = signature
        sketch.bands = list(enumerate(_bucket_hashes(signature, self.num_bands,
                                                     self.band_rows)))


class StoryIndex:
    """Assigns documents to stories incrementally over a :class:`BandStore` and a
    :class:`MemberStore` (see the module docstring for the mechanism)."""

    def __init__(self, bands: BandStore, members: MemberStore, threshold: float = 0.6,
                 num_perm: int = 128, seed: int = 1, shingle_size: int = 3,
                 drop_stopwords: bool = False) -> None:
        self.bands = bands
        self.members = members
        self.sketcher = Sketcher(threshold, num_perm, seed, shingle_size, drop_stopwords)

    @property
    def threshold(self) -> float:
        return self.sketcher.threshold

    @property
    def num_bands(self) -> int:
        return self.sketcher.num_bands

    @property
    def fingerprint(self) -> str:
        """See :attr:`Sketcher.fingerprint`."""
        return self.sketcher.fingerprint

    def assign(self, doc_id: str, text: str, content_hash: str | None = None) -> Assignment:
        """Assign one document (see :meth:`assign_batch`)."""
        return self.assign_batch([(doc_id, text, content_hash)])[0]

    def assign_batch(self, items: Sequence[tuple[str, str, str | None]]
                     ) -> list[Assignment]:
        """Assign ``(doc_id, text, content_hash)`` items in order, reading each store twice
        (exact keys, then candidates) and writing once. ``content_hash`` is optional: when
        given, byte-identical content is an exact duplicate whatever the text says. Skips the
        MinHash of exact duplicates."""
        known = dict(self.members.get({doc_id for doc_id, _, _ in items}))
        started = [self.sketcher.start(*item) for item in _first_occurrences(items, known)]
        stored = {k: list(v) for k, v in
                  self.bands.lookup({k for s, _ in started for k in s.exact}).items()}
        seen = set(stored)
        for sketch, words in started:
            if words and seen.isdisjoint(sketch.exact):
                self.sketcher.sign(sketch, words)
            seen.update(sketch.exact)
        return self._assign([s for s, _ in started], stored, known, [d for d, _, _ in items])

    def assign_sketches(self, sketches: Sequence[Sketch]) -> list[Assignment]:
        """Assign documents sketched beforehand (e.g. in worker processes) with the same
        parameters (:attr:`fingerprint`), in order; same result as :meth:`assign_batch`."""
        known = dict(self.members.get({s.doc_id for s in sketches}))
        firsts = {s.doc_id: s for s in reversed(sketches) if s.doc_id not in known}
        todo = [s for s in sketches if firsts.get(s.doc_id) is s]
        stored = {k: list(v) for k, v in
                  self.bands.lookup({k for s in todo for k in s.exact}).items()}
        return self._assign(todo, stored, known, [s.doc_id for s in sketches])

    def _assign(self, todo: list[Sketch], exact_rows: dict[BandKey, list[str]],
                known: dict[str, Member], order: list[str]) -> list[Assignment]:
        run = _BatchRun(self, todo, exact_rows)
        for sketch in todo:
            known[sketch.doc_id] = run.assign(sketch)
        run.flush(self.bands, self.members)
        return [known[doc_id].assignment(doc_id) for doc_id in order]


def _bucket_hashes(signature: NDArray[np.uint32], bands: int, rows: int) -> list[bytes]:
    """One 8-byte bucket per band, all bands at once: the band's values combined with odd
    64-bit multipliers, then the MurmurHash3 finalizer. A collision only adds a candidate,
    which verification then rejects."""
    values = signature[:bands * rows].reshape(bands, rows).astype(np.uint64)
    h = (values * _BAND_MULTIPLIERS[:rows]).sum(axis=1, dtype=np.uint64)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    raw = h.astype("<u8").tobytes()
    return [raw[i:i + 8] for i in range(0, len(raw), 8)]


def _first_occurrences(items: Sequence[tuple[str, str, str | None]],
                       known: Mapping[str, Member]) -> list[tuple[str, str, str | None]]:
    """Items whose id is neither stored nor repeated earlier in the batch."""
    seen = set(known)
    out = []
    for item in items:
        if item[0] not in seen:
            seen.add(item[0])
            out.append(item)
    return out


class _BatchRun:
    """One batch against the stores: the stored rows read once, the batch's own rows kept in
    an overlay so later items see earlier ones, all writes buffered until :meth:`flush`.

    Only the members a document can use are fetched: its exact-key hits and its top
    :data:`MAX_CANDIDATES` stored candidates. Later items of the batch can push stored
    candidates down the ranking but never pull others up, so this is exactly the set that
    one-by-one assignment would read."""

    def __init__(self, index: StoryIndex, sketches: list[Sketch],
                 exact_rows: dict[BandKey, list[str]]) -> None:
        self.threshold = index.threshold
        self.rows = exact_rows
        self.rows.update((k, list(ids)) for k, ids in
                         index.bands.lookup({k for p in sketches for k in p.bands}).items())
        wanted = {d for p in sketches for d in (
            *(d for k in p.exact for d in self.rows.get(k, ())), *self._ranked(p.bands))}
        self.members: dict[str, Member] = dict(index.members.get(wanted))
        self.filed: list[tuple[str, list[BandKey]]] = []  # rows made at flush: fewer objects
        self.new_members: dict[str, Member] = {}

    def assign(self, sketch: Sketch) -> Member:
        member = self._exact(sketch)
        if member is not None:  # file only exact keys no document holds yet
            self._file(sketch.doc_id, [k for k in sketch.exact if k not in self.rows])
        else:
            candidates = self._ranked(sketch.bands)
            member = self._near(sketch, candidates)
            self._file(sketch.doc_id, [*sketch.exact,
                                     *self._new_buckets(sketch.bands, member, candidates)])
        self.members[sketch.doc_id] = self.new_members[sketch.doc_id] = member
        return member

    def _exact(self, sketch: Sketch) -> Member | None:
        for key in sketch.exact:
            hits = sorted(d for d in self.rows.get(key, ()) if d in self.members)
            if hits:
                return Member(self.members[hits[0]].story_id, hits[0], 1.0)
        return None

    def _ranked(self, keys: list[BandKey]) -> list[str]:
        """Documents sharing a bucket with ``keys``: most shared buckets first, capped."""
        shared: dict[str, int] = {}
        for key in keys:
            for d in self.rows.get(key, ()):
                shared[d] = shared.get(d, 0) + 1
        return sorted(shared, key=lambda d: (-shared[d], d))[:MAX_CANDIDATES]

    def _near(self, sketch: Sketch, candidates: list[str]) -> Member:
        # No signature: no tokens, or (only in an inconsistent store) an exact key whose
        # member is missing. Either way the document founds a story and is never matched.
        if sketch.signature is None:
            return Member(sketch.doc_id, None, 0.0)
        signature = sketch.signature.tobytes()
        ids = sorted(d for d in candidates if d in self.members and self.members[d].signature)
        if ids:
            sigs = np.vstack([np.frombuffer(self.members[d].signature, dtype=_SIG_DTYPE)
                              for d in ids])
            sims = (sigs == sketch.signature).mean(axis=1)
            best = int(np.argmax(sims))  # first of the maxima: ids are sorted
            if sims[best] >= self.threshold:
                match = self.members[ids[best]]
                return Member(match.story_id, ids[best], float(sims[best]), signature)
        return Member(sketch.doc_id, None, 0.0, signature)

    def _new_buckets(self, keys: list[BandKey], member: Member, candidates: list[str]
                     ) -> list[BandKey]:
        """A founder files all its buckets; a joiner skips buckets where one of its
        candidates already stands for its story."""
        if member.matched_id is None:
            return keys
        same = {d for d in candidates
                if d in self.members and self.members[d].story_id == member.story_id}
        return [k for k in keys if same.isdisjoint(self.rows.get(k, ()))]

    def _file(self, doc_id: str, keys: list[BandKey]) -> None:
        for key in keys:
            self.rows.setdefault(key, []).append(doc_id)
        if keys:
            self.filed.append((doc_id, keys))

    def flush(self, bands: BandStore, members: MemberStore) -> None:
        if self.filed:
            bands.add([(key, doc_id) for doc_id, keys in self.filed for key in keys])
        if self.new_members:
            members.put(self.new_members)
