"""Rule-based sentence splitting that returns character offsets into the given text.

One regex pass finds *candidate* boundaries; a few Python rules decide each candidate, so the
work is per candidate (a sentence end, a newline), never per character:

- a blank line, a CJK/Devanagari/Arabic full stop (``。！？।۔``, plus closing brackets after it),
  or an inline bullet (`` • ``) always ends a sentence;
- a single newline ends one unless the next line continues the last: it starts in lower case,
  or the last line is long (hard-wrapped prose, >= 60 characters) and ends in a letter or
  comma — and never when the next line starts with a bullet or list number;
- ``.``, ``!``, ``?``, ``…`` (runs of them, closing quotes/brackets and ATT&CK-style
  ``(Citation: …)`` groups after them) end a sentence only before whitespace, so decimals, IPs,
  versions, domains, file names and defanged IOCs (``1.2.3[.]4``, ``example[.]com``,
  ``v2.3.1``) never split. Then the candidate is rejected when the next word starts in lower
  case or with a symbol (``e.g. the``, ``(ex. <code>…``), when the word before is an
  abbreviation that never ends a sentence (``Dr.``, ``e.g.``, ``Fig.``, months…), an initial
  (``J.``) or a list number at the start of a line (``2.``); after abbreviations that may end
  one (``Inc.``, ``U.S.``, ``etc.``) it splits only before a common
  sentence opener (``The``, ``This``, ``In``…).

Sentences longer than :data:`MAX_SENTENCE` are cut at the last whitespace (or CJK comma) before
the limit, else at the limit, so downstream regexes always get bounded inputs.

Bounded time: every repetition in the pattern is possessive or bounded, and a run of
terminators can only start where the previous character is not one (a lookbehind), so a line of
a million dots is scanned once. Spans are trimmed of surrounding whitespace; empty ones dropped.
"""

from __future__ import annotations

import re

__all__ = ["MAX_SENTENCE", "split_sentences"]

MAX_SENTENCE = 1_000
"""Longest sentence, in characters; longer ones are cut (at whitespace when possible)."""

_WRAP_WIDTH = 60  # a line at least this long that runs on is taken as hard-wrapped prose

_CLOSERS = "\"'”’»)\\]}›」』）】〕〉》"
_BULLETS = "•·▪◦‣●■□➢►–—*-"
# Candidates. No named groups: they stop ``re`` from scanning for the first characters in C
# (a 4x cost), so ``split_sentences`` tells the kinds apart by a match's first character.
_FULL_STOPS = "。！？｡।॥۔؟።"
_INLINE_BULLETS = "•▪●■►➢"
_CANDIDATES = re.compile(
    r"\n[ \t]*+\n\s*+"  # blank line
    r"|\n"  # single newline
    rf"|[{_FULL_STOPS}]++[{_CLOSERS}]*+"
    rf"|[{_INLINE_BULLETS}](?<=[ \t][{_INLINE_BULLETS}])(?=[ \t])"
    # The lookbehind after the first terminator: a run is only taken from its first character.
    rf"|[.!?…](?<![.!?…][.!?…])[.!?…]*+[{_CLOSERS}]*+"
    r"(?:\s*+\(Citation:[^()\n]{1,300}\))*+(?=\s|\Z)"
)
_LIST_ITEM = re.compile(rf"[ \t]*+(?:[{_BULLETS}][ \t]|\d{{1,3}}[.)][ \t]|[a-zA-Z][.)][ \t]|#)")
_SPACE = re.compile(r"\s++")
_OPENERS = "\"'“‘«([{¿¡*_"

# Abbreviations that (practically) never end a sentence: the next capital word is a name,
# a number or part of the same phrase.
_NEVER_END = frozenset((
    "mr", "mrs", "ms", "mx", "dr", "prof", "rev", "fr", "hon", "gen", "col", "lt", "maj", "capt",
    "cpt", "sgt", "cmdr", "adm", "gov", "sen", "rep", "pres", "st", "mt", "ft", "no", "nos", "nr",
    "fig", "figs", "vol", "vols", "pp", "ch", "sec", "art", "ref", "refs", "ed", "eds", "e.g",
    "eg", "i.e", "ie", "cf", "vs", "v", "viz", "ex", "approx", "ca", "est", "dept", "univ",
    "assn", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
))
# Abbreviations that often sit mid-sentence but may end one.
_MAYBE_END = frozenset((
    "inc", "ltd", "co", "corp", "llc", "plc", "gmbh", "ag", "sa", "bv", "nv", "jr", "sr", "etc",
    "al", "bros", "govt", "intl",
))
_STARTERS = frozenset((
    "the", "this", "that", "these", "those", "there", "their", "they", "it", "its", "in", "on",
    "at", "as", "an", "a", "and", "but", "or", "so", "if", "when", "while", "after", "before",
    "since", "during", "according", "however", "although", "also", "he", "she", "we", "i", "you",
    "our", "his", "her", "some", "many", "most", "one", "two", "all", "each", "other", "another",
    "for", "from", "to", "with", "by", "no", "not", "yet", "then", "thus", "meanwhile",
    "moreover", "furthermore", "further", "additionally", "finally", "first", "second", "earlier",
    "later", "today", "yesterday", "researchers", "officials", "attackers",
))
_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")  # U.S, e.g, a.m (final dot excluded)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``text``, in order, trimmed and non-empty."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _CANDIDATES.finditer(text):
        first = text[m.start()]
        if first in ".!?…":
            if not _ends_sentence(text, m.start(), m.end()):
                continue
        elif first == "\n" and m.end() - m.start() == 1 and not _breaks_line(text, m.start()):
            continue
        cut = m.start() if first in _INLINE_BULLETS else m.end()
        _add(text, start, cut, spans)
        start = cut
    _add(text, start, len(text), spans)
    return spans


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    """Trim ``[start, end)``, cut it into pieces of at most MAX_SENTENCE, append them."""
    start = min(_next_visible(text, start), end)
    end = _trim_end(text, start, end)
    while end - start > MAX_SENTENCE:
        cut = _long_cut(text, start, start + MAX_SENTENCE)
        piece_end = _trim_end(text, start, cut)
        if piece_end > start:
            spans.append((start, piece_end))
        start = min(_next_visible(text, cut), end)
    if start < end:
        spans.append((start, end))


def _trim_end(text: str, start: int, end: int) -> int:
    """``end`` moved back over trailing whitespace, not before ``start``."""
    while end > start:
        lo = max(start, end - 64)
        kept = len(text[lo:end].rstrip())
        if kept:
            return lo + kept
        end = lo
    return start


def _long_cut(text: str, start: int, limit: int) -> int:
    """Where to cut a sentence that runs past ``limit``: after the last space, else after a
    CJK or ASCII comma, in the last fifth of the window, else at the limit."""
    floor = limit - MAX_SENTENCE // 5
    for sep in (" ", "\n", "\t", "，", "、", ","):
        at = text.rfind(sep, floor, limit)
        if at > start:
            return at + 1
    return limit


def _next_visible(text: str, pos: int) -> int:
    """Index of the first non-space character at or after ``pos`` (``len(text)`` if none)."""
    m = _SPACE.match(text, pos)
    return m.end() if m else pos


def _next_letter(text: str, pos: int) -> str:
    """The first character of the next word after ``pos``, skipping opening quotes/brackets."""
    i = _next_visible(text, pos)
    end = min(len(text), i + 4)
    while i < end and text[i] in _OPENERS:
        i += 1
    return text[i] if i < len(text) else ""


def _ends_sentence(text: str, start: int, end: int) -> bool:
    """Decide a ``.``/``!``/``?``/``…`` candidate spanning ``[start, end)``."""
    nxt = _next_letter(text, end)
    if not nxt:
        return True
    if nxt.islower() or not nxt.isalnum():
        return False  # "e.g. the", "(ex. <code>…", "`+`. `$`": the sentence goes on
    if text[start] != "." or text.startswith("..", start):
        return True  # ! ? and ellipses end a sentence unless lower case follows
    word = _word_before(text, start)
    bare = word.lstrip(_OPENERS).lower()
    if bare in _NEVER_END:
        return False
    if len(bare) == 1 and bare.isalpha():
        return False  # an initial: "J. Smith"
    if bare in _MAYBE_END or _DOTTED.fullmatch(bare):
        return _next_word(text, end).lower() in _STARTERS
    # "2. Do this": a list number at the start of a line
    return not (bare.isdigit() and len(bare) <= 3 and _line_starts_with(text, start - len(word)))


def _word_before(text: str, pos: int) -> str:
    """The non-space token ending at ``pos`` (at most 40 characters)."""
    lo = max(0, pos - 40)
    chunk = text[lo:pos]
    parts = chunk.rsplit(None, 1)
    return parts[-1] if parts and not chunk[-1:].isspace() else ""


def _next_word(text: str, pos: int) -> str:
    i = _next_visible(text, pos)
    while i < len(text) and text[i] in _OPENERS:
        i += 1
    j = i
    limit = min(len(text), i + 40)
    while j < limit and text[j].isalpha():
        j += 1
    return text[i:j]


def _line_starts_with(text: str, pos: int) -> bool:
    """True when only spaces/tabs lie between the start of the line and ``pos``."""
    line_start = text.rfind("\n", 0, pos) + 1
    return not text[line_start:pos].strip(" \t")


def _breaks_line(text: str, pos: int) -> bool:
    """Decide a single newline at ``pos``: a boundary unless the next line continues."""
    if _LIST_ITEM.match(text, pos + 1):
        return True
    nxt = _next_letter(text, pos + 1)
    if not nxt:
        return True
    if nxt.islower():
        return False
    lo = max(0, pos - 2 * _WRAP_WIDTH)
    newline = text.rfind("\n", lo, pos)
    line_start = newline + 1 if newline >= 0 else lo
    if pos - line_start < _WRAP_WIDTH:
        return True
    last = text[line_start:pos].rstrip()[-1:]
    return not (last.isalpha() or last == ",")
