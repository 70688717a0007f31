"""Text cleaning for the Normalize stage, with a map back to the original offsets.

Extractors run on cleaned text, but provenance spans must point into the stored document text,
so :func:`clean_text` returns a :class:`Cleaned` that can translate a span of the cleaned text
back to the original (:meth:`Cleaned.to_original`).

What cleaning does, in order:

1. **Cap**: input longer than :data:`MAX_CHARS` is cut there (``truncated=True``). The cut is a
   prefix, so it needs no offset map.
2. **Characters**: deleted — C0/C1 control characters except ``\\n`` and ``\\t``, the ``\\r`` of
   ``\\r\\n``, zero-width space/word joiner/BOM, bidirectional controls, soft hyphens, Unicode
   tag characters; ZWJ/ZWNJ only next to an ASCII character (inside Persian, Indic or emoji
   text they are spelling, next to ASCII they hide IOCs such as ``evil\\u200d.com``).
   Replaced one for one — lone ``\\r``, form feed, vertical tab, NEL, line/paragraph separators
   become ``\\n``; no-break and other unusual spaces (U+00A0, U+2000–U+200A, U+3000…) become a
   space. One-for-one replacements keep every offset, so they need no map entry.
3. **NFC**: only when ``unicodedata.is_normalized`` says the text is not NFC already. NFC only
   rewrites runs that start at a *normalization boundary* — before a character with combining
   class 0 that NFC never composes with what precedes it. So the text is split into runs of
   "unstable" characters (combining marks, singletons, Hangul vowel/trailing jamo and the few
   other characters that compose with a preceding starter), each with the starter before it;
   only runs whose NFC differs are rewritten. Offsets stay exact outside those few characters.
4. **Blank lines**: a run of two or more blank (or whitespace-only) lines becomes one.

Offset map: each step that changes lengths records its edits as parallel arrays
(new start, new end, old start, old end); between edits the offset shift is constant, so mapping
a position is one binary search per step. A span that starts or ends inside a rewritten region
widens to cover the whole original region, and a span next to deleted characters excludes them.
When nothing changed the map is empty and offsets are the identity. Cost is linear: every pass
is a C-level regex scan, ``str.translate`` or ``str.join``; Python-level work is per edit, never
per character.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

__all__ = ["MAX_CHARS", "Cleaned", "OffsetMap", "clean_text"]

MAX_CHARS = 2_000_000
"""Longest text (in characters) that cleaning keeps; the rest is cut and ``truncated`` set."""

# Deleted wherever they occur, as (first, last) code point ranges.
_DELETED = (
    (0x00, 0x08), (0x0E, 0x1F), (0x7F, 0x84), (0x86, 0x9F),  # C0/C1 but \t \n \v \f \r NEL
    (0xAD, 0xAD),  # soft hyphen
    (0x180E, 0x180E), (0x200B, 0x200B), (0x2060, 0x2064), (0xFEFF, 0xFEFF),  # zero width, BOM
    (0x061C, 0x061C), (0x200E, 0x200F), (0x202A, 0x202E), (0x2066, 0x2069),  # bidi controls
    (0xFFF9, 0xFFFB),  # interlinear annotation controls
    (0xE0000, 0xE007F),  # tag characters (invisible "ASCII smuggling")
)
_DELETED_CLASS = "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in _DELETED)
_DROP_DELETED = str.maketrans(
    dict.fromkeys((cp for lo, hi in _DELETED for cp in range(lo, hi + 1)), None)
)
_JOINERS = "\u200c\u200d"  # ZWNJ, ZWJ: spelling in Persian, Indic and emoji; noise next to ASCII
# Runs of characters that may go; what goes inside a run is decided per run (``_deletion``).
# One character class keeps the scan in C at hundreds of MB/s.
_DELETE_RUN = re.compile(f"[{_DELETED_CLASS}\r{_JOINERS}]+")
_TO_NEWLINE = "\r\x0b\x0c\x85\u2028\u2029"
_TO_SPACE = "\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_ONE_FOR_ONE = str.maketrans(
    {
        **dict.fromkeys(map(ord, _TO_NEWLINE), "\n"),
        **dict.fromkeys((0x00A0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000), " "),
    }
)
_NEEDS_TRANSLATE = re.compile(f"[{_TO_NEWLINE}{_TO_SPACE}]")
_BLANK_LINES = re.compile(r"\n[ \t]*+\n(?:[ \t]*+\n)++")


@dataclass(frozen=True, slots=True)
class OffsetMap:
    """Edits of one cleaning step: region ``[new_start[i], new_end[i])`` of the step's output
    replaced ``[old_start[i], old_end[i])`` of its input (empty new region: a deletion)."""

    new_start: array[int]
    new_end: array[int]
    old_start: array[int]
    old_end: array[int]

    def start_to_old(self, pos: int) -> int:
        i = bisect_right(self.new_start, pos) - 1
        if i < 0:
            return pos
        if pos < self.new_end[i]:
            return self.old_start[i]
        return pos + self.old_end[i] - self.new_end[i]

    def end_to_old(self, pos: int) -> int:
        i = bisect_left(self.new_start, pos) - 1
        if i < 0:
            return pos
        if pos <= self.new_end[i]:
            return self.old_end[i]
        return pos + self.old_end[i] - self.new_end[i]


def _rewrite(
    text: str, edits: Iterable[tuple[int, int, str]]
) -> tuple[str, OffsetMap | None]:
    """Apply left-to-right, non-overlapping ``(start, end, replacement)`` edits to ``text``."""
    pieces: list[str] = []
    new_start: list[int] = []
    new_end: list[int] = []
    old_start: list[int] = []
    old_end: list[int] = []
    cursor = 0  # next unread position in ``text``
    shift = 0  # output length minus input length so far
    for start, end, new in edits:
        pieces.append(text[cursor:start])
        pieces.append(new)
        new_start.append(start + shift)
        shift += len(new) - (end - start)
        new_end.append(end + shift)
        old_start.append(start)
        old_end.append(end)
        cursor = end
    if not new_start:
        return text, None
    pieces.append(text[cursor:])
    offsets = OffsetMap(
        array("q", new_start), array("q", new_end), array("q", old_start), array("q", old_end)
    )
    return "".join(pieces), offsets


@dataclass(frozen=True, slots=True)
class Cleaned:
    """Cleaned text, whether it was cut at :data:`MAX_CHARS`, and the way back to the original."""

    text: str
    truncated: bool = False
    steps: tuple[OffsetMap, ...] = field(default=(), repr=False)

    @property
    def changed(self) -> bool:
        """True when offsets differ from the original's (one-for-one replacements do not count)."""
        return bool(self.steps)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map span ``[start, end)`` of :attr:`text` to the matching span of the original text."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span ({start}, {end}) outside cleaned text of {len(self.text)}")
        for step in reversed(self.steps):
            start, end = step.start_to_old(start), step.end_to_old(end)
        return start, max(start, end)


def clean_text(text: str) -> Cleaned:
    """Clean ``text`` for extraction; see the module docstring for what changes."""
    truncated = len(text) > MAX_CHARS
    if truncated:
        text = text[:MAX_CHARS]
    steps: list[OffsetMap] = []
    for step in (_delete_characters, _nfc, _collapse_blank_lines):
        text, edits = step(text)
        if edits is not None:
            steps.append(edits)
    return Cleaned(text=text, truncated=truncated, steps=tuple(steps))


def _delete_characters(text: str) -> tuple[str, OffsetMap | None]:
    edits: OffsetMap | None = None
    first = _DELETE_RUN.search(text)
    if first is not None:
        runs = ((m.start(), m.end(), m.group()) for m in _DELETE_RUN.finditer(text, first.start()))
        text, edits = _rewrite(text, ((s, e, kept) for s, e, run in runs
                                      if (kept := _deletion(text, s, e, run)) != run))
    if _NEEDS_TRANSLATE.search(text):
        text = text.translate(_ONE_FOR_ONE)
    return text, edits


def _deletion(text: str, start: int, end: int, run: str) -> str:
    """What remains of ``run`` (``text[start:end]``): controls and invisibles go; a ``\\r`` stays
    unless a ``\\n`` follows the run; ZWJ/ZWNJ stay unless the run touches an ASCII character."""
    has_cr = "\r" in run
    has_joiner = "\u200c" in run or "\u200d" in run
    if not has_cr and not has_joiner:
        return ""
    after = text[end:end + 1]
    before = text[start - 1:start] if start else ""
    drop_joiners = has_joiner and (_is_ascii_char(after) or _is_ascii_char(before))
    kept = run.translate(_DROP_DELETED)
    if drop_joiners:
        kept = kept.replace("\u200c", "").replace("\u200d", "")
    if kept.endswith("\r") and after == "\n":
        kept = kept[:-1]
    return kept


def _is_ascii_char(char: str) -> bool:
    return "\x00" <= char <= "\x7f"  # False for "" (start or end of text)


def _nfc(text: str) -> tuple[str, OffsetMap | None]:
    if unicodedata.is_normalized("NFC", text):
        return text, None
    normalize = unicodedata.normalize
    runs = ((m.start(), m.group()) for m in _unstable_runs().finditer(text))
    return _rewrite(text, (_smallest_edit(start, run, fixed) for start, run in runs
                           if (fixed := normalize("NFC", run)) != run))


def _smallest_edit(start: int, old: str, new: str) -> tuple[int, int, str]:
    """The edit ``old`` → ``new`` at ``start`` without their common prefix and suffix, so a
    singleton (U+212B ANGSTROM SIGN → U+00C5) does not drag the letter before it along."""
    if old[0] != new[0] and old[-1] != new[-1]:
        return start, start + len(old), new  # the usual case: "e" U+0301 → "é"
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return start + head, start + len(old) - tail, new[head:len(new) - tail]


def _collapse_blank_lines(text: str) -> tuple[str, OffsetMap | None]:
    first = _BLANK_LINES.search(text)
    if first is None:
        return text, None
    found = _BLANK_LINES.finditer(text, first.start())
    return _rewrite(text, ((m.start(), m.end(), "\n\n") for m in found))


@cache
def _unstable_runs() -> re.Pattern[str]:
    """A starter followed by characters before which NFC may not be split (built once, lazily:
    it walks the Unicode tables, ~0.2 s, and only texts that are not NFC need it)."""
    unstable: set[int] = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))  # Hangul V, T
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        char = chr(cp)
        if unicodedata.combining(char) or not unicodedata.is_normalized("NFC", char):
            unstable.add(cp)
        decomposition = unicodedata.decomposition(char)
        if decomposition and not decomposition.startswith("<"):
            parts = decomposition.split()
            if len(parts) == 2:
                unstable.add(int(parts[1], 16))  # composes with a preceding starter
    ranges = _ranges(sorted(unstable))
    cls = "".join(_class_range(lo, hi) for lo, hi in ranges)
    return re.compile(f"[^{cls}]?[{cls}]+")


def _ranges(points: list[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for cp in points:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return ranges


def _class_range(lo: int, hi: int) -> str:
    return re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
