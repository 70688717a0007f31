"""Text → word tokens → shingles: the set representation near-duplicate detection compares.

Two reports of one story differ in ways that should not count: case, punctuation, Unicode
presentation forms, whitespace, an outlet's "subscribe / all rights reserved" lines. So the
text is reduced to a token sequence first:

1. at most :data:`MAX_CHARS` characters are read (a 10 MB document costs the same as a
   100 kB one: two documents that differ only past that point count as the same text);
2. NFKC normalisation and case folding (full-width letters, ligatures, ``ß`` → ``ss``);
3. short lines that carry a boilerplate marker as whole words (:data:`BOILERPLATE_MARKERS`:
   copyright, newsletter, "cookie policy", "share this", "read more" …) are dropped —
   conservative by design: a line of more than :data:`BOILERPLATE_MAX_LINE` characters is kept
   whatever it says, so a paragraph of the article that mentions "copyright" survives;
4. tokens are runs of letters/digits (one regular expression without nesting, linear time);
   scripts written without spaces (CJK ideographs, kana, Thai) yield one token per character,
   so their shingles are character n-grams instead of one giant "word"; a token is cut at
   :data:`MAX_TOKEN` characters;
5. optionally, very common English words (:data:`STOPWORDS`) are dropped.

A document's shingles are its distinct runs of ``size`` consecutive tokens (a text shorter
than ``size`` tokens is one shingle), in order of first appearance, at most
:data:`MAX_SHINGLES` of them. Word shingles, not character shingles: reordered sentences only
lose the shingles that straddle a sentence boundary, and a substituted word only the ``size``
shingles that contain it.

:func:`text_key` digests the whole token sequence (BLAKE2b, 128 bits): equal keys mean equal
text after normalisation, the exact-duplicate short cut.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from itertools import islice

__all__ = [
    "BOILERPLATE_MARKERS",
    "BOILERPLATE_MAX_LINE",
    "MAX_CHARS",
    "MAX_SHINGLES",
    "MAX_TOKEN",
    "STOPWORDS",
    "shingles",
    "text_key",
    "tokens",
]

MAX_CHARS = 100_000
MAX_SHINGLES = 20_000
MAX_TOKEN = 64
BOILERPLATE_MAX_LINE = 160

#: Phrases that mark a short line as outlet furniture rather than story text (case-folded).
BOILERPLATE_MARKERS = (
    "all rights reserved", "copyright", "©", "subscribe", "subscribers", "newsletter",
    "sign up", "cookie policy", "privacy policy", "terms of use", "terms of service",
    "follow us", "share this", "share on", "click here", "read more", "advertisement",
    "sponsored content", "related articles", "related stories", "recommended for you",
    "originally appeared", "originally published", "reporting by", "editing by",
)

#: Very common English function words (optional filter; see ``tokens(drop_stopwords=...)``).
_STOPWORD_TEXT = """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers him his how i if in into is it its itself just me more
most my no nor not now of off on once only or other our ours out over own same she should so
some such than that the their theirs them then there these they this those through to too
under until up very was we were what when where which while who whom why will with would
you your yours
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Scripts written without spaces between words: one token per character.
_NO_SPACE = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_NO_SPACE}]|[^\W{_NO_SPACE}]+")
# Whole-word phrase match (lookarounds, not \b, so "©" matches too); applied only to short
# lines, so its cost is bounded by BOILERPLATE_MAX_LINE per line.
_MARKER = re.compile(
    "(?<!\\w)(?:" + "|".join(re.escape(m) for m in BOILERPLATE_MARKERS) + ")(?!\\w)")


def _is_boilerplate(line: str) -> bool:
    return len(line) <= BOILERPLATE_MAX_LINE and _MARKER.search(line) is not None


def tokens(text: str, *, drop_stopwords: bool = False) -> list[str]:
    """The normalised token sequence of ``text`` (see the module docstring)."""
    folded = unicodedata.normalize("NFKC", text[:MAX_CHARS]).casefold()
    kept = "\n".join(line for line in folded.splitlines() if not _is_boilerplate(line))
    words: list[str] = _TOKEN.findall(kept)
    if words and max(map(len, words)) > MAX_TOKEN:
        words = [w[:MAX_TOKEN] for w in words]
    if drop_stopwords:
        words = [w for w in words if w not in STOPWORDS]
    return words


def shingles(words: list[str], size: int = 3) -> list[bytes]:
    """Distinct ``size``-word shingles of ``words`` as UTF-8 bytes, first-seen order, capped."""
    if size < 1:
        raise ValueError("shingle size must be at least 1")
    if not words:
        return []
    if len(words) <= size:
        return [" ".join(words).encode()]
    # the n-grams, without index slicing (zip stops at the shortest: the last full window),
    # joined as bytes: UTF-8 of a join is the join of the UTF-8s, and each word is encoded
    # once instead of once per shingle it is in, with no Python-level loop per shingle
    encoded = list(map(str.encode, words))
    windows = map(b" ".join, zip(*(encoded[i:] for i in range(size)), strict=False))
    if len(words) - size + 1 <= MAX_SHINGLES:  # the cap cannot bind: no check per n-gram
        return list(dict.fromkeys(windows))
    # capped: take as many windows as there is room for (they add at most that many new
    # shingles, and an update keeps the first-seen order), until full or none are left
    seen: dict[bytes, None] = {}
    while (room := MAX_SHINGLES - len(seen)) > 0 and (taken := list(islice(windows, room))):
        seen.update(dict.fromkeys(taken))
    return list(seen)


def text_key(words: list[str]) -> bytes:
    """128-bit digest of the token sequence: equal for texts equal after normalisation."""
    return hashlib.blake2b("\x1f".join(words).encode(), digest_size=16).digest()
