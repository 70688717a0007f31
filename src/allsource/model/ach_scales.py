"""The scales an ACH matrix is written in: the rating of one (evidence, hypothesis) cell and
the relevance of an evidence item. Stored with cases (:mod:`allsource.store.cases`) and
scored by :mod:`allsource.analyze.ach`, so they live below both."""

from __future__ import annotations

from enum import StrEnum


class Rating(StrEnum):
    VERY_CONSISTENT = "CC"
    CONSISTENT = "C"
    NEUTRAL = "N"
    INCONSISTENT = "I"
    VERY_INCONSISTENT = "II"

    @classmethod
    def parse(cls, text: str) -> Rating:
        try:
            return cls(text.strip().upper())
        except ValueError:
            raise ValueError(f"unknown rating {text!r}: use CC, C, N, I or II") from None

    @property
    def value_on_scale(self) -> int:
        return _SCALE[self]

    @property
    def inconsistency(self) -> int:
        return max(0, -_SCALE[self])

    @property
    def flipped(self) -> Rating:
        return _FLIP[self]


_SCALE = {Rating.VERY_CONSISTENT: 2, Rating.CONSISTENT: 1, Rating.NEUTRAL: 0,
          Rating.INCONSISTENT: -1, Rating.VERY_INCONSISTENT: -2}
_FLIP = {r: next(o for o, v in _SCALE.items() if v == -s) for r, s in _SCALE.items()}


class Relevance(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @classmethod
    def parse(cls, text: str) -> Relevance:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(f"unknown relevance {text!r}: use low, medium or high") from None
