"""The blind search index of an encrypted store: keyed hashes of words, never the words.

On an encrypted store the full-text index (SQLite FTS5, PostgreSQL ``tsvector``) must not
hold the documents' words — a copy of the database file would give them away. So each word is
normalised the way a search engine would (case-folded, accents removed, Snowball English
stem — ``snowballstemmer``, which runs the C ``PyStemmer`` when installed: "Attacks",
"attacked" → ``attack``) and replaced by an 11-character token holding the first 48 bits
of HMAC-SHA256(index key, stem). Title and text become two strings of such tokens,
in word order, stored in ``documents.index_title``/``index_text``; the index is built from
them (FTS5 with its usual tokenizer: tokens of a letter and digits pass its porter step
unchanged; PostgreSQL with the ``simple`` configuration, no stemming or stop words).

A query is hashed the same way, term by term, and compiled with the ordinary compilers of
:mod:`allsource.store.query`: a word is one token, a ``"quoted phrase"`` is its tokens in
order (both engines match phrases by token position), ``OR`` and ``-word`` work unchanged.
Ranking (bm25, ``ts_rank_cd``) sees the same counts and positions as before.

What this gives up, documented in the README:

* prefix search (``word*``): the hash of a stem says nothing about its prefixes, so an
  encrypted store refuses it with a one-line error;
* PostgreSQL's English stop-word list (``the``, ``of`` … are indexed like other words);
* secrecy of *frequencies*: equal words give equal tokens, so someone holding a copy of the
  index sees how often an unknown token occurs and which documents share it — not what it
  says, and without the index key they cannot hash a guess to test it.

Snippets cannot come from the index any more; :func:`snippet` cuts them from the decrypted
text of the returned page only, marking the words whose stem the query named.
"""

from __future__ import annotations

import hashlib
import hmac
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


_B32 = "0123456789abcdefghijklmnopqrstuv"


def _encode(digest: bytes) -> str:
    """``k`` + 9 base-32 characters + 1 digit: 48 bits of the digest. Ending in a digit keeps
    FTS5's porter step (which only strips letter suffixes) from touching the token; starting
    with a letter makes PostgreSQL's parser read it as one word."""
    n = int.from_bytes(digest[:6], "big")
    chars = [_B32[(n >> shift) & 31] for shift in range(43, 2, -5)]
    return "k" + "".join(chars) + str(n & 7)


class _Tokens(dict[str, str]):
    """word → token, computed on first sight (``__missing__``), so indexing a text is one
    C-level ``map`` over its words."""

    def __init__(self, key: bytes) -> None:
        super().__init__()
        self._key = key

    def __missing__(self, word: str) -> str:
        token = _encode(hmac.new(self._key, stem(word).encode("utf-8", "surrogatepass"),
                                 hashlib.sha256).digest())
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
        return list(map(self._tokens.__getitem__, _WORD.findall(text[:MAX_INDEXED_CHARS])))

    def index(self, text: str) -> str:
        """What the full-text index stores for ``text``: its tokens in order."""
        return " ".join(map(self._tokens.__getitem__, _WORD.findall(text[:MAX_INDEXED_CHARS])))

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


def snippet(title: str, text: str, stems: Iterable[str], start: str, end: str,
            words: int = SNIPPET_WORDS) -> str:
    """About ``words`` words of ``title — text`` around the first word whose stem is in
    ``stems``, those words wrapped in ``start``/``end``; ``…`` marks cut ends.

    Candidates are found by a regular expression on the stems' first letters (C speed), and
    only candidates are stemmed, so a long document costs one regex scan."""
    wanted = set(stems)
    body = f"{title} — {text[:SNIPPET_SCAN_CHARS]}" if title else text[:SNIPPET_SCAN_CHARS]
    heads = sorted({re.escape(s[:max(1, min(len(s) - 1, 4))]) for s in wanted if s})
    first = None
    if heads:
        cand = re.compile(r"\b(?:" + "|".join(heads) + r")\w*", re.IGNORECASE)
        for m in cand.finditer(body):
            if stem(m.group()) in wanted:
                first = m.start()
                break
    if first is None:  # stems that change their first letters (accents): scan word by word
        for m in _WORD.finditer(body):
            if stem(m.group()) in wanted:
                first = m.start()
                break
    if first is None:
        first = 0
    before = [m.start() for m in _WORD.finditer(body, max(0, first - 200), first)]
    lo = before[-(words // 3)] if len(before) >= words // 3 else (before[0] if before else first)
    if lo < 200 and first < 200 and len(before) < words // 3:
        lo = 0
    parts: list[str] = []
    pos = lo
    for count, m in enumerate(_WORD.finditer(body, lo)):
        if count >= words:
            break
        parts.append(body[pos:m.start()])
        w = m.group()
        parts.append(start + w + end if stem(w) in wanted else w)
        pos = m.end()
    out = "".join(parts).strip()
    return ("…" if lo > 0 else "") + out + ("…" if pos < len(body) else "")
