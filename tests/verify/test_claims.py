"""Quantity and attribution claims from sentences.

Sentences adapted from FEMA and CISA releases (public domain) and ATT&CK v15 (Sandworm
Team's description) — the patterns are what matters, the spans come from the entities and
places stages in the pipeline tests."""

from __future__ import annotations

import re

from allsource.verify.claims import QUANTITY, QUANTITY_WORDS, Span, text_claims


def _spans(text: str, items: list[tuple[str, str, str]]) -> list[Span]:
    out = []
    for name, kind, oid in items:
        for m in re.finditer(re.escape(name), text):
            out.append(Span(oid, kind, m.start(), m.end(), name))
    return sorted(out, key=lambda s: s.start)


def _sentences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^.]+\.?", text)]


def test_quantities() -> None:
    text = ("At least 450 people were killed and 1,500 injured in the earthquake. "
            "The storm forced thousands evacuated from the coast. Officials said the death "
            "toll rose to 519. The blast killed nobody.")
    got = [(c.key, c.value) for c in text_claims(text, _sentences(text), [], ["PE"])]
    assert got == [("qty:killed:PE", "450"), ("qty:injured:PE", "1500"),
                   ("qty:evacuated:PE", "2000"), ("qty:killed:PE", "519")]


def test_attributions_need_an_incident_and_a_victim() -> None:
    text = ("The 2015 attack on the Ukrainian electric grid was attributed to Sandworm Team. "
            "Researchers linked the campaign against the energy sector to the Russian group "
            "APT28. Sandworm Team has been active since at least 2009. "
            "LinkedIn removed accounts tied to APT28.")
    spans = _spans(text, [("Ukrainian", "location", "location--ua"),
                          ("Sandworm Team", "intrusion-set", "intrusion-set--sw"),
                          ("energy", "identity", "identity--energy"),
                          ("Russian", "location", "location--ru"),
                          ("APT28", "intrusion-set", "intrusion-set--apt28")])
    got = [(c.key, c.value) for c in text_claims(text, _sentences(text), spans, ["UA"])]
    assert got == [("attr:location--ua", "intrusion-set--sw"),
                   ("attr:identity--energy", "intrusion-set--apt28")]


def test_an_actor_never_attacks_the_place_its_name_came_from() -> None:
    text = "The attack on Cuba was attributed to Cuba. The breach in Turkey was blamed on Turkish."
    spans = _spans(text, [("Cuba", "location", "location--cu"),
                          ("Turkey", "location", "location--tr"),
                          ("Turkish", "intrusion-set", "intrusion-set--turkish")])
    spans = [Span("intrusion-set--cuba", "intrusion-set", s.start, s.end, "Cuba")
             if s.start == text.rindex("Cuba") else s for s in spans]
    assert text_claims(text, _sentences(text), spans, []) == []


def test_the_quantity_word_prefilter_misses_nothing() -> None:
    """``text_claims`` runs QUANTITY only on sentences holding a measure word (found in the
    lowercased text), unless the text holds a character IGNORECASE folds differently from
    ``str.lower`` ("İ", "ı", "ſ"): then on every sentence. Both ways give the same claims,
    in every casing, and the characters that fold apart are still matched."""
    base = ("At least 450 people were killed and 1,500 injured in the earthquake. "
            "Officials said the death toll rose to 519. Twelve miners are missing. "
            "The storm left dozens displaced, killing 3. Nothing else happened here.")
    variants = [base, base.upper(), base.title(), base.swapcase(),
                base.replace("killing", "\u212aILLING"),  # the Kelvin sign lowercases to k
                base.replace("killed", "KİLLED").replace("missing", "miſſing"),
                base.replace("injured", "ınjured")]
    for n, text in enumerate(variants):
        sentences = _sentences(text)
        fast = text_claims(text, sentences, [], ["PE"])
        # an "ſ" in a sentence of its own sends the whole text down the slow path
        slow = text_claims(f"{text} ſ.", [*sentences, (len(text), len(text) + 3)], [],
                           ["PE"])
        assert fast == slow
        if n < 5:  # (the measures of the last two are not words MEASURES knows)
            assert [c.value for c in fast] == ["450", "1500", "519", "12", "24", "3"], text
    # why those texts take the slow path: QUANTITY matches where lowercasing finds no word
    assert QUANTITY.search("Twelve miners are miſſing")
    assert not any(word in "twelve miners are miſſing" for word in QUANTITY_WORDS)


def test_attributions_do_not_depend_on_the_order_spans_come_in() -> None:
    text = ("The 2015 attack on the Ukrainian electric grid was attributed to Sandworm Team. "
            "Researchers linked the campaign against the energy sector to APT28.")
    spans = _spans(text, [("Ukrainian", "location", "location--ua"),
                          ("Sandworm Team", "intrusion-set", "intrusion-set--sw"),
                          ("energy", "identity", "identity--energy"),
                          ("APT28", "intrusion-set", "intrusion-set--apt28")])
    forward = text_claims(text, _sentences(text), spans, ["UA"])
    assert len(forward) == 2
    assert text_claims(text, _sentences(text), spans[::-1], ["UA"]) == forward
