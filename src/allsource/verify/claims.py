"""Claims: the units information is graded by.

A claim is *what* is asserted (``key``) and, for claims that can disagree, the asserted
``value``. Kinds:

* ``relation`` — a relationship between two resolved things ("APT28 uses X-Agent"), from the
  collectors' STIX relationships and the ``relations`` stage; key ``rel:<type>:<src>:<dst>``.
  Reports of one relationship agree by construction.
* ``event`` — one real-world event several outlets report (a GDELT event and its mentions);
  key ``event:gdelt:<id>``.
* ``quantity`` — a count about an event: "at least 12 people were killed". Key
  ``qty:<measure>:<country>`` (the first country the document names, from the ``places``
  stage — a city-level key would miss reports that name only the country), value the
  number. Two independent reports of the same measure, place
  and time with different numbers *contradict* each other (see :mod:`allsource.verify.grading`).
* ``attribution`` — who did it: "the attack on the ministry was attributed to Sandworm".
  Only in sentences that name an incident (attack, intrusion, breach, campaign, …) and a
  victim (a sector or place other than the actor's own, and never the place the actor's name
  comes from: "Cuba" the ransomware does not attack Cuba). Key ``attr:<victim id>``, value the
  actor's canonical entity id; two actors for one victim at one time contradict.

:func:`text_claims` finds quantity and attribution claims in a processed document (the
``claims`` stage runs it); relation and event claims are read from the store by
:mod:`allsource.verify.run`.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from allsource.process.namesakes import named_after

WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
                "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100,
                "a dozen": 12, "dozens": 24, "hundreds": 200, "thousands": 2000}
MEASURES = {"killed": "killed", "dead": "killed", "died": "killed", "deaths": "killed",
            "death toll": "killed", "injured": "injured", "wounded": "injured",
            "hurt": "injured", "arrested": "arrested", "detained": "arrested",
            "missing": "missing", "displaced": "displaced", "evacuated": "evacuated",
            "affected": "affected"}
_NUM = r"(\d{1,3}(?:,\d{3})+|\d+|" + "|".join(sorted(WORD_NUMBERS, key=len, reverse=True)) + ")"
_WHO = (r"(?:\s+(?:more\s+)?(?:people|persons|civilians|soldiers|troops|children|residents|"
        r"workers|police(?:\s+officers)?|protesters|migrants|passengers|miners|others))?")
_VERB = r"\s+(?:(?:were|was|have\s+been|had\s+been|are|is|being)\s+)?"
QUANTITY = re.compile(
    r"\b(?:at\s+least\s+|more\s+than\s+|nearly\s+|about\s+|some\s+|over\s+|up\s+to\s+)?"
    + _NUM + _WHO + _VERB
    + r"(killed|dead|died|injured|wounded|hurt|arrested|detained|missing|displaced|"
      r"evacuated|affected)\b"
    r"|\b(killing|injuring|wounding)\s+(?:at\s+least\s+)?" + _NUM
    + r"|\bdeath\s+toll\s+(?:\w+\s+){0,3}?(?:to|of|at|reached|stands\s+at)\s+" + _NUM,
    re.IGNORECASE)
#: Every QUANTITY match contains one of these (its measure, or "death" of "death toll"),
#: so a sentence without any holds no quantity claim. Looking for them in the lowercased text
#: costs a twentieth of running QUANTITY on every sentence. Lowercasing agrees with
#: QUANTITY's IGNORECASE on these letters except for three characters — "İ" (lowercased to
#: two characters), "ı" and "ſ" (which IGNORECASE takes for i and s) — so a text holding one
#: of those is searched the slow way.
QUANTITY_WORDS = ("kill", "dead", "died", "death", "injur", "wound", "hurt", "arrest",
                  "detain", "missing", "displac", "evacuat", "affected")
_FOLDS_APART = ("\u0130", "\u0131", "\u017f")
ATTRIBUTION = re.compile(
    r"\b(?:attribut(?:ed|es|ing|ion)|blam(?:ed|es|ing)|linked|tied|pinned|accus(?:ed|es|ing))"
    r"\b[^.;]{0,80}?\b(?:to|on)\s+(?:the\s+)?(?:[\w-]+\s+){0,3}$"
    r"|\b(?:carried\s+out|conducted|perpetrated|orchestrated|claimed)\s+by\s+(?:the\s+)?"
    r"(?:[\w-]+\s+){0,3}$",
    re.IGNORECASE)
#: an attribution is about an incident: the sentence must name one
INCIDENT = re.compile(r"\b(?:attacks?|intrusions?|breach(?:es)?|hack\w*|campaigns?|incidents?|"
                      r"compromises?|operations?|cyber-?attacks?|ransomware|bombings?|"
                      r"strikes?|leaks?|espionage)\b", re.IGNORECASE)
#: between a place and the actor it describes ("the Russian group Sandworm", "Iran-based APT33")
OWN = re.compile(r"\s*(?:-?based\s+|-?linked\s+|-?backed\s+)?(?:state-sponsored\s+)?"
                 r"(?:hacking\s+|hacker\s+|threat\s+|cyber\s+|espionage\s+)?"
                 r"(?:group|actor|gang|team|unit|crew)?\s*$", re.IGNORECASE)
BEHIND = re.compile(r"^\s+(?:was|were|is|are)\s+(?:behind|responsible\s+for)\b", re.IGNORECASE)
ACTOR_TYPES = frozenset({"intrusion-set", "threat-actor", "campaign"})
VICTIM_TYPES = frozenset({"identity", "location"})


@dataclass(frozen=True, slots=True)
class TextClaim:
    kind: str
    key: str
    value: str
    text: str
    start: int
    end: int

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "value": self.value, "text": self.text,
                "start": self.start, "end": self.end}


def _number(text: str) -> int | None:
    text = text.lower().replace(",", "")
    if text.isdigit():
        return int(text)
    return WORD_NUMBERS.get(text)


@dataclass(frozen=True, slots=True)
class Span:
    """A resolved thing found in the text (from the document's mentions)."""

    object_id: str
    type: str
    start: int
    end: int
    name: str = ""


def _quantity_words(text: str) -> list[str] | None:
    """The :data:`QUANTITY_WORDS` in ``text`` (None: look the slow way)."""
    if any(c in text for c in _FOLDS_APART):
        return None
    lowered = text.lower()
    return [word for word in QUANTITY_WORDS if word in lowered]


def text_claims(text: str, sentences: list[tuple[int, int]], spans: list[Span],
                countries: list[str]) -> list[TextClaim]:
    """Quantity and attribution claims in ``text`` (offsets into it).

    ``sentences`` are (start, end) spans; ``spans`` the entities/places found; ``countries``
    the ISO2 codes of the places the document names, in order of appearance."""
    where = countries[0] if countries else "unknown"
    out: list[TextClaim] = []
    words = _quantity_words(text)
    starts = [sp.start for sp in spans]
    in_order = all(a <= b for a, b in pairwise(starts))
    for s_start, s_end in sentences or [(0, len(text))]:
        sentence = text[s_start:s_end]
        maybe = words is None or any(word in sentence.lower() for word in words)
        for m in QUANTITY.finditer(sentence) if maybe else ():
            groups = [g for g in m.groups() if g]
            numbers = [n for g in groups if (n := _number(g)) is not None]
            measures = [MEASURES[g.lower()] for g in groups if g.lower() in MEASURES]
            if m.group(0).lower().startswith("death toll"):
                measures = ["killed"]
            verb = next((g for g in groups if g.lower() in ("killing", "injuring",
                                                            "wounding")), None)
            if verb:
                measures = ["killed" if verb.lower() == "killing" else "injured"]
            if not numbers or not measures:
                continue
            out.append(TextClaim("quantity", f"qty:{measures[0]}:{where}",
                                 str(numbers[0]), m.group(0).strip(), s_start + m.start(),
                                 s_start + m.end()))
        # the spans starting in this sentence, in their order (a slice when sorted by start)
        inside = (spans[bisect_left(starts, s_start):bisect_left(starts, s_end)] if in_order
                  else [sp for sp in spans if s_start <= sp.start < s_end])
        actors = [sp for sp in inside if sp.type in ACTOR_TYPES]
        if not actors or not INCIDENT.search(sentence):
            continue
        for actor in actors:
            before = text[s_start:actor.start]
            after = text[actor.end:s_end]
            if not (ATTRIBUTION.search(before[-120:]) or BEHIND.match(after)):
                continue
            # who was hit: a sector or place in the same sentence (not the actor's own
            # country, which often precedes it: "the Russian group Sandworm")
            victim = next((sp for sp in inside if sp.type in VICTIM_TYPES
                           and sp.object_id != actor.object_id
                           and not named_after(actor.name or text[actor.start:actor.end],
                                               sp.name or text[sp.start:sp.end])
                           and not (sp.end <= actor.start
                                    and OWN.match(text, sp.end, actor.start))), None)
            if victim is None:
                continue  # an attribution with no victim cannot be compared with another
            out.append(TextClaim("attribution", f"attr:{victim.object_id}", actor.object_id,
                                 text[s_start:s_end].strip()[:300], s_start, s_end))
    return out
