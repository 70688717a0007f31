"""The blind search index of an encrypted store: keyed hashes of words, never the words.

On an encrypted store the full-text index (SQLite FTS5, PostgreSQL ``tsvector``) must not
hold the documents' words — a copy of the database file would give them away. So each word is
normalised the way a search engine would (case-folded, accents removed, Snowball English
stem — ``snowballstemmer``, which runs the C ``PyStemmer`` when installed: "Attacks",
"attacked" → ``attack``) and replaced by an 11-character token holding the first 48 bits
of HMAC-SHA256(index key, stem). Title and text become two strings of such tokens,
in word order, handed to the full-text index and not kept in the row (since migration 0028:
store/blind_storage.py; FTS5 with its usual tokenizer: tokens of a letter and digits pass its
porter step unchanged; PostgreSQL with the ``simple`` configuration, no stemming or stop
words).

**Why 48 bits.** Search does not re-check its candidates against the decrypted text (that
would decrypt every match of a broad query), so a token shared by two stems is a false match
that reaches the reader. A query stem meets another stem's token with probability about
V / 2^b for V distinct stems in the store: at 48 bits that is 7×10⁻¹¹ for the BBC corpus
(20,539 stems in 2,225 articles), 3.6×10⁻⁸ at ten million stems (names, hashes and other
identifiers included), where the whole vocabulary is expected to hold 0.18 colliding pairs
(V² / 2^49). At 40 bits the same store would hold 45 such pairs, at 32 bits 11,600 (and
116 at a million stems). Shorter tokens would also save less than they used to: the strings
are no longer stored, only tokenised once by the engine, whose index keeps each distinct
token once per segment (prefix-compressed) and otherwise positions. So the tokens stay at
48 bits; their 11 characters (9 of base 32, a leading letter and a final digit, which the
engines' parsers need) are 2.1 times the text's length with the separating spaces.

A query is hashed the same way, term by term, and compiled with the ordinary compilers of
:mod:`allsource.store.query`: a word is one token, a ``"quoted phrase"`` is its tokens in
order (both engines match phrases by token position), ``OR`` and ``-word`` work unchanged.
Ranking (bm25, ``ts_rank_cd``) sees the same counts and positions as before.

What this gives up, documented in the README:

* prefix search (``word*``): the hash of a stem says nothing about its prefixes, so an
  encrypted store refuses it with a one-line error;
* PostgreSQL's English stop-word list in the index (``the``, ``of`` … are indexed like other
  words; on PostgreSQL the *query* still drops terms made only of stop words, as the plain
  store's ``english`` configuration does: store/postgres.py ``without_stop_terms``);
* secrecy of *frequencies*: equal words give equal tokens, so someone holding a copy of the
  index sees how often an unknown token occurs and which documents share it — not what it
  says, and without the index key they cannot hash a guess to test it.

Snippets cannot come from the index any more; :func:`snippet` cuts them from the decrypted
text of the returned page only, marking the words whose stem the query named.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable

import snowballstemmer

from allsource.errors import InputError
from allsource.store.query import ParsedQuery, Term

#: characters of text that are indexed (as PostgreSQL's tsvector of the plain store)
MAX_INDEXED_CHARS = 500_000
#: how many words a snippet shows around its first match
SNIPPET_WORDS = 24
SNIPPET_SCAN_CHARS = 20_000
_CACHE_LIMIT = 200_000

_WORD = re.compile(r"\w+")
_stemmer = snowballstemmer.stemmer("english")
if hasattr(_stemmer, "maxCacheSize"):
    # PyStemmer's own cache (10,000 words, evicted in bulk) cost 3.8 µs a word on a store's
    # vocabulary against 0.5 µs without it; :func:`stem` keeps its own, larger one
    _stemmer.maxCacheSize = 0
_stems: dict[str, str] = {}


def stem(word: str) -> str:
    """Case-folded, accent-free Snowball English stem of one word (cached)."""
    found = _stems.get(word)
    if found is None:
        folded = word.casefold()
        if not folded.isascii():
            folded = "".join(c for c in unicodedata.normalize("NFKD", folded)
                             if not unicodedata.combining(c))
        found = _stemmer.stemWord(folded)
        if len(_stems) >= _CACHE_LIMIT:
            _stems.clear()
        _stems[word] = found
    return found


_B32HEX = "0123456789abcdefghijklmnopqrstuv"
#: every 10-bit value as its two base32hex characters
_PAIRS = tuple(_B32HEX[i >> 5] + _B32HEX[i & 31] for i in range(1024))
#: every byte as the character of its bits 7…3 and the digit of its bits 2…0 (a token's end)
_TAILS = tuple(_B32HEX[i >> 3] + str(i & 7) for i in range(256))


def _encode(digest: bytes) -> str:
    """``k`` + 9 base-32 characters + 1 digit: 48 bits of the digest. Ending in a digit keeps
    FTS5's porter step (which only strips letter suffixes) from touching the token; starting
    with a letter makes PostgreSQL's parser read it as one word.

    The 9 characters are bits 47…3 in groups of five, in the "base32hex" alphabet
    (``0-9a-v``, lower case), the 10th is the digit of bits 2…0 — the same string that
    ``base64.b32hexencode(digest[:6])`` gives for its first 9 characters (the test checks
    it), read here from tables (10-bit pairs, and the last byte's character and digit)
    because the standard library's base-32 is Python code and cost a quarter of the blind
    index; one f-string builds the token in one allocation."""
    v = int.from_bytes(digest[:6], "big")
    return (f"k{_PAIRS[v >> 38]}{_PAIRS[(v >> 28) & 1023]}{_PAIRS[(v >> 18) & 1023]}"
            f"{_PAIRS[(v >> 8) & 1023]}{_TAILS[v & 255]}")


def _pad(key: bytes, byte: int) -> hashlib._Hash:
    """SHA-256 already fed the HMAC pad of ``key`` (RFC 2104)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    return hashlib.sha256(bytes(b ^ byte for b in key.ljust(64, b"\0")))


#: ASCII bytes that ``\w`` does not match, mapped to a space (every other byte unchanged)
_NOT_WORD = bytes(c if chr(c).isalnum() or c == 0x5F or c >= 128 else 0x20
                  for c in range(256))


def words(text: str) -> list[str]:
    """The words of ``text`` as ``\\w+`` finds them. ASCII text (most of English news) takes
    a faster route with the same result: its bytes translated (non-word → space) and split,
    two C loops instead of a regular-expression match per word."""
    if text.isascii():
        return text.encode("ascii").translate(_NOT_WORD).decode("ascii").split()
    return _WORD.findall(text)


class _Tokens(dict[str, str]):
    """word → token, computed on first sight (``__missing__``), so indexing a text is one
    C-level ``map`` over its words.

    The token is HMAC-SHA256(key, stem) computed from the two pad states prepared once
    (RFC 2104's inner and outer hashes, copied per word) rather than by ``hmac.digest``,
    which derives both pads from the key again on every call."""

    def __init__(self, key: bytes) -> None:
        super().__init__()
        self._inner, self._outer = _pad(key, 0x36), _pad(key, 0x5C)

    def __missing__(self, word: str) -> str:
        inner = self._inner.copy()
        inner.update(stem(word).encode("utf-8", "surrogatepass"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        token = _encode(outer.digest())
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[word] = token
        return token


class BlindIndex:
    """Hashes words for one store's index key."""

    def __init__(self, key: bytes) -> None:
        self._tokens = _Tokens(key)

    def token(self, word: str) -> str:
        return self._tokens[word]

    def tokens(self, text: str) -> list[str]:
        return list(map(self._tokens.__getitem__, words(text[:MAX_INDEXED_CHARS])))

    def index(self, text: str) -> str:
        """What the full-text index stores for ``text``: its tokens in order."""
        return " ".join(map(self._tokens.__getitem__, words(text[:MAX_INDEXED_CHARS])))

    def query(self, parsed: ParsedQuery) -> ParsedQuery:
        """``parsed`` with every term replaced by its tokens (a phrase of them)."""

        def blind(term: Term) -> Term | None:
            if term.prefix:
                raise InputError(f"prefix search ({term.text}*) is not available on an "
                                 "encrypted store: its index holds keyed hashes of whole "
                                 "words")
            tokens = self.tokens(term.text)
            return Term(" ".join(tokens)) if tokens else None

        groups = [[b for b in map(blind, group) if b is not None] for group in parsed.all_of]
        groups = [g for g in groups if g]
        if not groups:
            raise InputError("the query needs at least one word to search for")
        none_of = [b for b in map(blind, parsed.none_of) if b is not None]
        return ParsedQuery(groups, none_of)


def query_stems(parsed: ParsedQuery) -> set[str]:
    """The stems a snippet should mark: those of every positive term."""
    return {stem(w) for group in parsed.all_of for term in group
            for w in _WORD.findall(term.text)}


def query_prefixes(parsed: ParsedQuery) -> set[str]:
    """The stems whose continuations a snippet should mark too: that of the last word of
    every positive prefix term (``inte*`` → ``int``, as PostgreSQL's English stemmer reads
    the prefix before matching lexemes that start with it)."""
    return {stem(words[-1]) for group in parsed.all_of for term in group if term.prefix
            for words in [_WORD.findall(term.text)] if words}


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"  # what ``\w`` matches


class Highlighter:
    """Cuts the snippets of one query's hits: about ``words`` words of ``title — text``
    around the first word whose stem is in ``stems``, those words wrapped in
    ``start``/``end``; ``…`` marks cut ends.

    Made once per query, so what every hit shares is done once: the stems' first letters
    (``heads``) are prepared, and each surface word met is stemmed at most once. The first
    match is found with ``str.find`` of each head in the lower-cased text (C speed), only
    words *starting* with a head are stemmed, and a word-by-word scan is the fallback for
    stems whose first letters differ from the word's (accents, ``ß``).

    A word is also marked when its stem starts with one of ``prefixes`` (the query's prefix
    terms, :func:`query_prefixes`): without that, a prefix query's hits had no marked word,
    and every hit's 20,000 characters were stemmed word by word in search of one."""

    def __init__(self, stems: Iterable[str], start: str, end: str,
                 words: int = SNIPPET_WORDS, prefixes: Iterable[str] = ()) -> None:
        self.wanted = frozenset(s for s in stems if s)
        self.prefixes = tuple(sorted({p for p in prefixes if p}))
        self.heads = sorted({s[:max(1, min(len(s) - 1, 4))]
                             for s in self.wanted.union(self.prefixes)})
        self.start, self.end, self.words = start, end, words
        self._seen: dict[str, bool] = {}

    def _hit(self, word: str) -> bool:
        found = self._seen.get(word)
        if found is None:
            if len(self._seen) >= _CACHE_LIMIT:
                self._seen.clear()
            stemmed = stem(word)
            # (``startswith`` of no prefixes is false)
            found = self._seen[word] = (stemmed in self.wanted
                                        or stemmed.startswith(self.prefixes))
        return found

    def _first(self, body: str) -> int:
        low = body.lower()
        if len(low) == len(body):  # same offsets (lower() can lengthen a few letters)
            best = -1
            for head in self.heads:
                i = low.find(head)
                while i >= 0 and (best < 0 or i < best):
                    if i == 0 or not _is_word_char(low[i - 1]):
                        m = _WORD.match(body, i)
                        if m is not None and self._hit(m.group()):
                            best = i
                            break
                    i = low.find(head, i + 1)
            if best >= 0:
                return best
        for m in _WORD.finditer(body):
            if self._hit(m.group()):
                return m.start()
        return 0

    def cut(self, title: str, text: str) -> str:
        words = self.words
        body = f"{title} — {text[:SNIPPET_SCAN_CHARS]}" if title else text[:SNIPPET_SCAN_CHARS]
        first = self._first(body) if self.wanted or self.prefixes else 0
        # the window starts words // 3 words before the match (within 200 characters)
        back = words // 3
        lead = max(0, first - 200)
        before = len(_WORD.findall(body, lead, first))
        skip = _skip(max(0, before - back)).match(body, lead, first)
        lo = skip.end() if skip is not None and before else first
        if lo < 200 and first < 200 and before < back:
            lo = 0
        span = _words(words).match(body, lo)
        pos = span.end() if span is not None else lo
        seg = body[lo:pos]
        seen, hit, start, end = self._seen, self._hit, self.start, self.end
        marked = [start + w + end if (seen[w] if w in seen else hit(w)) else w
                  for w in _WORD.findall(seg)]
        gaps = _WORD.split(seg)
        out = "".join([g + w for g, w in zip(gaps, marked, strict=False)]).strip()
        return ("…" if lo > 0 else "") + out + ("…" if pos < len(body) else "")


@functools.lru_cache(maxsize=256)
def _skip(count: int) -> re.Pattern[str]:
    """Matches ``count`` words and the gap after them."""
    return re.compile(r"(?:\W*\w+){" + str(count) + r"}\W*")


@functools.lru_cache(maxsize=64)
def _words(count: int) -> re.Pattern[str]:
    """Matches up to ``count`` words and the gaps before them, ending after the last."""
    return re.compile(r"(?:\W*\w+){1," + str(count) + "}")


def snippet(title: str, text: str, stems: Iterable[str], start: str, end: str,
            words: int = SNIPPET_WORDS) -> str:
    """One snippet (see :class:`Highlighter`, which a page of hits should share)."""
    return Highlighter(stems, start, end, words).cut(title, text)
