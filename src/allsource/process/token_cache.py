"""A Hugging Face BERT tokenizer with a memory: each space-separated piece is tokenized once.

The topic embedder (:mod:`allsource.process.topics`) is a static model2vec model: a token
lookup and a mean. Its cost is almost all the tokenizer — about 0.5–0.9 CPU ms per ~1,200
characters in ``tokenizers``' Rust code (normalising, pre-tokenizing and WordPiece with
offset tracking), spread over Rayon threads that a shared two-core machine pays for too.
News text repeats its words, so :class:`PieceCache` cuts each text at spaces and newlines,
looks every piece up in a dict, and sends only the pieces it has not seen to the real
tokenizer (in one call per batch).

Why the result is the tokenizer's own. The model's tokenizer (``BertNormalizer`` +
``BertPreTokenizer`` + ``WordPiece``, no special tokens, no post-processor) splits a text at
every whitespace character and never lets a token span one, and each of its steps works on
one character at a time (control characters removed, CJK characters padded, lower case,
accents stripped after NFD — canonical reordering cannot cross a space, whose combining
class is 0), or on one whitespace-free word (punctuation split, WordPiece). So the ids of
``a + " " + b`` are the ids of ``a`` followed by those of ``b``; a space or a newline is
whitespace for BERT and never a control character, which is why the cut is made only
there (other characters such as ``\\x1c`` are whitespace for Python but removed by BERT,
and stay inside a piece). BERT also makes every punctuation character a token of its own,
so an ASCII punctuation character is a piece too ("attack," is "attack" and ","; URLs and
paths fall apart into known words) — except ``[`` and ``]``: the tokenizer's added tokens
(``[UNK]``, ``[PAD]``) are found in the raw text before any of this, and must stay whole
inside a piece. Truncation is applied to the joined ids exactly as the tokenizer
applies it to one text: the first ``max_length``; a truncated piece is at least that long,
so cutting it first changes nothing. ``tests/process/test_token_cache.py`` compares the ids
with the tokenizer's over real and hostile texts.

Bounded memory: only pieces of at most :data:`MAX_PIECE` characters are remembered, and the
memory is emptied when it holds :data:`MAX_ENTRIES` of them (a corpus of random words costs
the tokenizer's own time, never unbounded memory).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from itertools import chain
from typing import Any, Final

__all__ = ["MAX_ENTRIES", "MAX_PIECE", "PieceCache", "PieceIds", "fits"]

#: longest piece remembered (longer ones are tokenized every time)
MAX_PIECE: Final = 48
#: pieces remembered at most; the memory starts afresh past it
MAX_ENTRIES: Final = 200_000
# a piece: one ASCII punctuation character but the brackets (see the module docstring), or
# a run of anything else but spaces and newlines
_PUNCT = r"!-/:-@\\^_`{-~"
_PIECE = re.compile(f"[{_PUNCT}]|[^ \n{_PUNCT}]+")


def fits(tokenizer: Any) -> bool:
    """Whether ``tokenizer`` is the kind the module docstring reasons about (BERT's
    normaliser, pre-tokenizer and WordPiece, nothing added around the ids)."""
    spec = json.loads(tokenizer.to_str())
    return ((spec.get("normalizer") or {}).get("type") == "BertNormalizer"
            and (spec.get("pre_tokenizer") or {}).get("type") == "BertPreTokenizer"
            and (spec.get("model") or {}).get("type") == "WordPiece"
            and spec.get("post_processor") is None
            # an added token is found in the raw text wherever it occurs: within one piece
            # as within the whole text, unless it holds a space or eats the ones around it
            and all(not (t.get("lstrip") or t.get("rstrip") or t.get("single_word"))
                    and not any(c.isspace() for c in t.get("content", " "))
                    for t in spec.get("added_tokens", [])))


class PieceIds:
    """What model2vec reads of an encoding: its ``ids``."""

    __slots__ = ("ids",)

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids


class PieceCache:
    """Stands in for a ``tokenizers.Tokenizer`` where model2vec uses one: the same ids from
    :meth:`encode_batch_fast`, truncation set through :meth:`enable_truncation` /
    :meth:`no_truncation`; anything else is the wrapped tokenizer's."""

    def __init__(self, tokenizer: Any, max_entries: int = MAX_ENTRIES) -> None:
        self.tokenizer = tokenizer
        self.max_entries = max_entries
        trunc = tokenizer.truncation
        self.max_length: int | None = int(trunc["max_length"]) if trunc else None
        self.pieces: dict[str, tuple[int, ...]] = {}
        #: pieces sent to the real tokenizer (a count the tests read)
        self.tokenized = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tokenizer, name)

    def enable_truncation(self, max_length: int) -> None:
        self.max_length = max_length

    def no_truncation(self) -> None:
        self.max_length = None

    def encode_batch_fast(self, texts: Sequence[str], add_special_tokens: bool = True
                          ) -> list[PieceIds]:
        if add_special_tokens:  # not how model2vec calls it; the plain tokenizer does that
            raise ValueError("PieceCache encodes without special tokens only")
        cut = [_PIECE.findall(text) for text in texts]
        known = self.pieces
        new = {p for pieces in cut for p in pieces if p not in known}
        if new:
            self._learn(new)
            known = self.pieces
        out = []
        limit = self.max_length
        for pieces in cut:
            ids = list(chain.from_iterable(map(known.__getitem__, pieces)))
            if limit is not None and len(ids) > limit:
                del ids[limit:]
            out.append(PieceIds(ids))
        for p in new:  # the long ones were only for this call
            if len(p) > MAX_PIECE:
                del known[p]
        return out

    def _learn(self, new: set[str]) -> None:
        if len(self.pieces) + len(new) > self.max_entries:
            self.pieces = {}
        pieces = sorted(new)
        self.tokenizer.no_truncation()  # a piece's full ids; the text's are cut when joined
        encodings = self.tokenizer.encode_batch_fast(pieces, add_special_tokens=False)
        self.tokenized += len(pieces)
        self.pieces.update(zip(pieces, (tuple(e.ids) for e in encodings), strict=True))
