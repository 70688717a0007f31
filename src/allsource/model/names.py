"""Name keys: the comparison form of names, shared by extraction, resolution and the store.

Text and names are compared in a *folded* form that has exactly as many characters as the
original, so offsets found in the folded text are offsets in the original: lowercase, and every
non-word character (anything but letters, digits and ``_``, as ``re``'s ``\\W``) becomes a
space. A name's *key* is its folded form with runs of spaces collapsed and the ends trimmed:
"Fancy-Bear", "FANCY BEAR" and "fancy  bear" all have the key ``fancy bear``. Its *shape* is the
same without lowercasing (case kept, separators unified).

This is vocabulary, not a stage: the store keys alias statements and verdicts by it, so it
lives here, below both (:mod:`allsource.process.aliases` decides how names are matched).
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["alias_key", "alias_shape", "fold", "fold_document"]

_NON_WORD = re.compile(r"\W")
_ASCII_FOLD = bytes(
    (c if chr(c).isalnum() or c == 0x5F else 0x20) if c < 0x80 else c for c in range(256)
).lower()


def _lower_same_length(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    # A few characters lowercase to two ("İ" → "i̇"): keep those as they are.
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def fold(text: str) -> str:
    """Lowercase, non-word characters to spaces; the result has the length of ``text``."""
    low = _lower_same_length(text)
    if low.isascii():
        return low.encode("ascii").translate(_ASCII_FOLD).decode("ascii")
    return _NON_WORD.sub(" ", low)


#: documents up to this many characters are remembered by :func:`fold_document`
FOLD_MEMO_CHARS = 32_768


def fold_document(text: str) -> str:
    """:func:`fold` of a document's text, remembered for the last 256 documents of up to
    :data:`FOLD_MEMO_CHARS` characters: the entities and places stages fold the same text
    one after the other, and folding text that is not pure ASCII is a regex pass."""
    return _fold_memo(text) if len(text) <= FOLD_MEMO_CHARS else fold(text)


@lru_cache(maxsize=256)
def _fold_memo(text: str) -> str:
    return fold(text)


def alias_key(name: str) -> str:
    """The comparison key of a name: folded, single spaces, trimmed."""
    return " ".join(fold(name).split())


def alias_shape(name: str) -> str:
    """A name with its case kept and separators unified (the case-sensitive form)."""
    return " ".join(_NON_WORD.sub(" ", name).split())
