"""Text cleaning: what changes, and that every span of the cleaned text maps back to the same
text in the original."""

from __future__ import annotations

import json
import pickle
import random
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from allsource.process.normalize import MAX_CHARS, Cleaned, clean_text
from tests.steps import assert_linear

WORD = re.compile(r"[A-Za-z]+")


def original_of(cleaned: Cleaned, original: str, start: int, end: int) -> str:
    a, b = cleaned.to_original(start, end)
    return original[a:b]


def test_clean_text_leaves_clean_text_alone() -> None:
    text = "APT28 used 1.2.3[.]4\tand evil[.]com.\nSecond line.\n\nNew paragraph."
    cleaned = clean_text(text)
    assert cleaned.text is text
    assert not cleaned.changed and not cleaned.truncated
    assert cleaned.to_original(6, 10) == (6, 10)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\x00b\x07c\x1bd\x7fe\x9ff", "abcdef"),  # C0/C1 controls
        ("tab\tand\nnewline", "tab\tand\nnewline"),  # kept
        ("one\r\ntwo\rthree", "one\ntwo\nthree"),  # line endings
        ("page\x0cbreak\x0bvt\u2028ls\u0085nel", "page\nbreak\nvt\nls\nnel"),
        ("no\u00a0break\u2009thin\u3000cjk\u202fnarrow", "no break thin cjk narrow"),
        ("zero\u200bwidth\ufeffbom\u2060joiner", "zerowidthbomjoiner"),
        ("soft\u00adhyphen", "softhyphen"),
        ("bidi \u202eexe.fdp\u202c and \u200fmark", "bidi exe.fdp and mark"),
        ("evil\u200d.com", "evil.com"),  # a joiner next to ASCII hides an IOC
        ("tag\U000e0041\U000e0042s", "tags"),
        ("Cafe\u0301 and \u212b", "Café and Å"),  # NFD and a singleton, to NFC
        ("\u1100\u1161\u11a8", "각"),  # Hangul jamo compose
        ("one\n\n\n\ntwo\n \n\t\n\nthree", "one\n\ntwo\n\nthree"),  # blank-line runs
        ("one\r\n\r\n\r\n\r\ntwo", "one\n\ntwo"),
        ("one\n\u00a0\n\u200b\n\ntwo", "one\n\ntwo"),  # blank once invisible chars are gone
    ],
)
def test_clean_text_rules(raw: str, expected: str) -> None:
    cleaned = clean_text(raw)
    assert cleaned.text == expected
    assert unicodedata.is_normalized("NFC", cleaned.text)
    assert cleaned.to_original(0, len(cleaned.text)) == (0, len(raw))


def test_joiners_stay_inside_persian_and_emoji() -> None:
    text = "بانک\u200cها و 👩\u200d💻"
    assert clean_text(text).text == text


def test_spans_map_back_to_the_same_words() -> None:
    text = "Caf\u0065\u0301\r\n\r\n\r\nThe\u00a0actor\u200b used evil\u200d.com \u00adand 10.0.0.1"
    cleaned = clean_text(text)
    assert cleaned.text == "Café\n\nThe actor used evil.com and 10.0.0.1"
    for word in ("Café", "The", "actor", "used", "evil.com", "and", "10.0.0.1"):
        at = cleaned.text.index(word)
        found = original_of(cleaned, text, at, at + len(word))
        assert clean_text(found).text == word
    at = cleaned.text.index("used")
    assert original_of(cleaned, text, at, at + 4) == "used"  # not the deleted U+200B before it
    at = cleaned.text.index("evil.com")
    assert original_of(cleaned, text, at, at + 8) == "evil\u200d.com"


def test_a_span_inside_a_rewritten_region_widens_to_the_region() -> None:
    text = "xe\u0301\u0301y"  # NFC composes the first accent only: "x" "é" U+0301 "y"
    cleaned = clean_text(text)
    assert cleaned.text == "x\u00e9\u0301y"
    assert cleaned.to_original(1, 2) == (1, 3)  # "é" is "e" + U+0301 in the original
    assert cleaned.to_original(2, 3) == (3, 4)  # the second accent, unchanged: exact
    assert cleaned.to_original(3, 4) == (4, 5)
    hangul = clean_text("\u1100\u1161\u11a8 x")  # three jamo compose to one syllable
    assert hangul.to_original(0, 1) == (0, 3)
    assert hangul.to_original(2, 3) == (4, 5)


JUNK = ["\x00", "\x1b", "\u200b", "\ufeff", "\u00ad", "\u202e", "\r\n", "\r", "\u00a0",
        "\u3000", "\n\n\n\n", "\n \n \n", "e\u0301", "\u0301", "\u212b", "\u200d", "\t"]


@pytest.mark.parametrize("seed", range(40))
def test_random_text_round_trips_word_by_word(seed: int) -> None:
    rnd = random.Random(seed)
    parts = []
    for _ in range(rnd.randint(1, 60)):
        parts.append("".join(rnd.choice("abcdefghij") for _ in range(rnd.randint(1, 8))))
        parts.append("".join(rnd.choice(JUNK) for _ in range(rnd.randint(0, 3))) or " ")
    text = "".join(parts)
    cleaned = clean_text(text)
    for m in WORD.finditer(cleaned.text):
        found = original_of(cleaned, text, m.start(), m.end())
        assert clean_text(found).text == m.group(), (text, m.group(), found)
    a, b = cleaned.to_original(0, len(cleaned.text))
    assert clean_text(text[a:b]).text == cleaned.text


def test_offsets_are_checked() -> None:
    cleaned = clean_text("abc")
    with pytest.raises(ValueError):
        cleaned.to_original(2, 4)
    with pytest.raises(ValueError):
        cleaned.to_original(2, 1)


def test_cleaned_pickles() -> None:
    text = "one\r\ntwo\u200b three"
    cleaned = clean_text(text)
    again = pickle.loads(pickle.dumps(cleaned))
    assert again == cleaned
    assert again.to_original(4, 7) == cleaned.to_original(4, 7) == (5, 8)


def test_long_text_is_capped() -> None:
    cleaned = clean_text("a" * (MAX_CHARS + 10))
    assert cleaned.truncated
    assert len(cleaned.text) == MAX_CHARS
    assert cleaned.to_original(0, 5) == (0, 5)


def test_japanese_misp_event_maps_back(samples: Path) -> None:
    event = json.loads((samples / "misp" / "japanese_test.json").read_text())["Event"]
    text = next(a["value"] for a in event["Attribute"] if a["type"] == "text")
    assert "\r\n" in text
    cleaned = clean_text(text)
    assert "\r" not in cleaned.text
    for line in cleaned.text.split("\n"):
        if line:
            at = cleaned.text.index(line)
            assert original_of(cleaned, text, at, at + len(line)) == line


def test_mojibake_and_bom_feed_cleans(samples: Path) -> None:
    raw = (samples / "feeds" / "encoding" / "bozo_invalid-bytes-with-bom.xml").read_bytes()
    text = raw.decode("latin-1")  # the wrong codec on purpose: C1 controls and a BOM's bytes
    cleaned = clean_text(text)
    assert not re.search("[\x00-\x08\x0e-\x1f\x7f-\x9f]", cleaned.text)


#: hostile inputs by size n (about n characters each)
HOSTILE: dict[str, Callable[[int], str]] = {
    "a line of dots": lambda n: "." * n,
    "nested brackets": lambda n: "(" * (n // 2) + "x" + ")" * (n // 2),
    "no-break and zero-width spaces": lambda n: "Word\u00a0soup\u200b. " * (n // 14),
    "binary as latin-1": lambda n: random.Random(1).randbytes(n).decode("latin-1"),
    "NFD everywhere": lambda n: "e\u0301" * (n // 2),
    "CRLF": lambda n: "\r\n" * (n // 2),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_is_capped_and_maps_back(name: str) -> None:
    text = HOSTILE[name](10_000_000)
    cleaned = clean_text(text)
    assert len(cleaned.text) <= MAX_CHARS
    a, b = cleaned.to_original(0, len(cleaned.text))
    assert 0 <= a <= b <= len(text)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_work_is_linear(name: str) -> None:
    # Counted calls, not seconds (tests/steps.py); where every character is an edit (NFD,
    # CRLF) the work is a few calls per edit.
    assert_linear(HOSTILE[name], clean_text, 100_000, per_char=10)


def test_the_stage_stores_each_sentence_mapped_back_to_the_document() -> None:
    """Spans of clean text are stored as they are, those of changed text mapped back: both
    are what ``to_original`` gives."""
    from allsource.process.base import Work
    from allsource.process.sentences import split_sentences
    from allsource.process.stages.normalize import NormalizeStage

    texts = ["Clean text. Two sentences here.", "Ctrl\x00 chars\u200b here.\r\n\r\n\r\nNext one.",
             "Caf\u0065\u0301 ouvert. Le\u00a0matin.", ""]
    works = [Work(id=str(i), title="Title", text=t, kind="article")
             for i, t in enumerate(texts)]
    NormalizeStage().process(works)
    for work in works:
        cleaned = clean_text(work.full_text)
        want = [list(cleaned.to_original(s, e)) for s, e in split_sentences(cleaned.text)]
        assert work.annotations["normalize"]["sentences"] == want
        if not cleaned.changed:
            assert want == [[s, e] for s, e in split_sentences(work.full_text)]
    assert [clean_text(w.full_text).changed for w in works] == [False, True, True, False]
