"""The Admiralty (NATO AJP-2.1 / STANAG 2511) grading system: two separate axes, never
folded into one number.

* **Source reliability** A–F: how far the *source* has proved trustworthy in the past
  (A completely reliable … E unreliable, F reliability cannot be judged — where every new
  source starts).
* **Information credibility** 1–6: how far *this piece of information* is borne out
  (1 confirmed by other independent sources … 5 improbable, 6 truth cannot be judged).

A grade is written reliability then credibility (``B2``). For sharing, credibility maps to
STIX 2.1 ``confidence`` with the spec's Admiralty Credibility table (appendix "Confidence
scales": 1→90, 2→70, 3→50, 4→30, 5→10, 6→no confidence), and both axes travel as custom
properties; for MISP they are the ``admiralty-scale`` taxonomy tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Reliability(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"

    @property
    def meaning(self) -> str:
        return RELIABILITY_MEANINGS[self]

    @classmethod
    def parse(cls, text: str) -> Reliability:
        try:
            return cls(text.strip().upper())
        except ValueError:
            raise ValueError(f"not a source reliability grade: {text!r} (A–F)") from None

    @property
    def rank(self) -> int:
        """0 for A … 5 for F (lower is better)."""
        return "ABCDEF".index(self.value)


RELIABILITY_MEANINGS = {
    Reliability.A: "completely reliable",
    Reliability.B: "usually reliable",
    Reliability.C: "fairly reliable",
    Reliability.D: "not usually reliable",
    Reliability.E: "unreliable",
    Reliability.F: "reliability cannot be judged",
}


class Credibility(IntEnum):
    CONFIRMED = 1
    PROBABLY_TRUE = 2
    POSSIBLY_TRUE = 3
    DOUBTFUL = 4
    IMPROBABLE = 5
    CANNOT_BE_JUDGED = 6

    @property
    def meaning(self) -> str:
        return CREDIBILITY_MEANINGS[self]

    @classmethod
    def parse(cls, text: str | int) -> Credibility:
        try:
            return cls(int(text))
        except ValueError:
            raise ValueError(f"not an information credibility grade: {text!r} (1–6)") from None

    @property
    def stix_confidence(self) -> int | None:
        """STIX 2.1 ``confidence`` for this credibility (None: do not state one)."""
        return STIX_CONFIDENCE[self]


CREDIBILITY_MEANINGS = {
    Credibility.CONFIRMED: "confirmed by other independent sources",
    Credibility.PROBABLY_TRUE: "probably true",
    Credibility.POSSIBLY_TRUE: "possibly true",
    Credibility.DOUBTFUL: "doubtful",
    Credibility.IMPROBABLE: "improbable",
    Credibility.CANNOT_BE_JUDGED: "truth cannot be judged",
}

STIX_CONFIDENCE: dict[Credibility, int | None] = {
    Credibility.CONFIRMED: 90, Credibility.PROBABLY_TRUE: 70, Credibility.POSSIBLY_TRUE: 50,
    Credibility.DOUBTFUL: 30, Credibility.IMPROBABLE: 10, Credibility.CANNOT_BE_JUDGED: None,
}

# MISP ``admiralty-scale`` taxonomy values (predicates source-reliability and
# information-credibility)
MISP_RELIABILITY = {r: r.value.lower() for r in Reliability}


@dataclass(frozen=True, slots=True)
class Grade:
    reliability: Reliability
    credibility: Credibility

    def __str__(self) -> str:
        return f"{self.reliability.value}{self.credibility.value}"

    @classmethod
    def parse(cls, text: str) -> Grade:
        text = text.strip()
        if len(text) != 2:
            raise ValueError(f"not an Admiralty grade: {text!r} (e.g. B2)")
        return cls(Reliability.parse(text[0]), Credibility.parse(text[1]))

    def stix_properties(self) -> dict[str, object]:
        """Properties to set on a STIX 2.1 object carrying this grade."""
        props: dict[str, object] = {"x_allsource_reliability": self.reliability.value,
                                    "x_allsource_credibility": int(self.credibility)}
        if (confidence := self.credibility.stix_confidence) is not None:
            props["confidence"] = confidence
        return props

    def misp_tags(self) -> list[str]:
        return [f'admiralty-scale:source-reliability="{MISP_RELIABILITY[self.reliability]}"',
                f'admiralty-scale:information-credibility="{int(self.credibility)}"']
