"""Language detection on real multilingual samples, "und" for text that is not language, and
bounded cost whatever the input."""

from __future__ import annotations

import html
import json
import pickle
import random
import re
import socket
from pathlib import Path

import feedparser
import pytest

from allsource.process import language
from allsource.process.language import (
    UNDETERMINED,
    LanguageDetector,
    LanguageGuess,
    detect_language,
)
from tests.steps import count_calls

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "language"
_TAG = re.compile(r"<[^>]+>")


def plain(markup: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", markup)).split())


# Feeds of the shared samples in legacy encodings, each named after its codec.
CHARDET_FEEDS = {
    "eucjp": ("euc_jp", "ja"), "shiftjis": ("shift_jis", "ja"), "euckr": ("euc_kr", "ko"),
    "gb2312": ("gb18030", "zh"), "big5": ("big5", "zh"), "koi8r": ("koi8_r", "ru"),
    "tis620": ("tis_620", "th"), "windows1255": ("cp1255", "he"),
}


@pytest.mark.parametrize("name", CHARDET_FEEDS)
def test_real_feeds_in_legacy_encodings(samples: Path, name: str) -> None:
    codec, expected = CHARDET_FEEDS[name]
    raw = (samples / "feeds" / "illformed" / "chardet" / f"{name}.xml").read_bytes()
    feed = feedparser.parse(raw.decode(codec, errors="replace"))
    texts = [feed.feed.get("title", "")]
    texts += [e.get(k, "") for e in feed.entries for k in ("title", "summary")]
    text = plain(" ".join(t for t in texts if t))
    guess = detect_language(text)
    assert guess.code == expected, (text[:80], guess)
    assert 0.3 <= guess.confidence <= 1.0


def test_russian_feed_entries(samples: Path) -> None:
    path = samples / "feeds" / "wellformed" / "sanitize"
    feed = feedparser.parse(str(path / "large_atom_feed_that_needs_css_sanitisation.xml"))
    entries = [plain(e.get("title", "") + ". " + e.get("summary", "")) for e in feed.entries]
    assert len(entries) >= 10
    assert [detect_language(t).code for t in entries] == ["ru"] * len(entries)


def test_japanese_misp_event(samples: Path) -> None:
    event = json.loads((samples / "misp" / "japanese_test.json").read_text())["Event"]
    text = next(a["value"] for a in event["Attribute"] if a["type"] == "text")
    assert detect_language(text).code == "ja"


def test_misp_indicators_are_not_a_language(samples: Path) -> None:
    event = json.loads((samples / "misp" / "long_event.json").read_text())["Event"]
    values = [a["value"] for a in event["Attribute"]
              if a["type"] in {"ip-dst", "domain", "hostname", "md5", "sha256", "url"}]
    assert len(values) >= 20
    for i in range(0, len(values), 5):
        chunk = " ".join(values[i:i + 5])
        assert detect_language(chunk) == LanguageGuess(UNDETERMINED, 0.0), chunk


def test_taxonomies_in_spanish_french_german() -> None:
    pytaxonomies = pytest.importorskip("pytaxonomies")
    root = Path(pytaxonomies.__file__).parent / "data" / "misp-taxonomies"
    for name, expected in (("cnsd", "es"), ("vocabulaire-des-probabilites-estimatives", "fr"),
                           ("de-vs", "de")):
        data = json.loads((root / name / "machinetag.json").read_text())
        texts = [v["description"] for p in data["values"] for v in p["entry"]
                 if len(v.get("description", "")) >= 60]
        texts += [v["expanded"] for p in data["values"] for v in p["entry"]
                  if len(v.get("expanded", "")) >= 60]
        assert texts, name
        found = [detect_language(t).code for t in texts]
        assert found.count(expected) / len(found) >= 0.9, (name, found)


def test_authored_sentences() -> None:
    rows = [line.split("\t", 1) for line in
            (FIXTURES / "authored.tsv").read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    assert len({lang for lang, _ in rows}) >= 20
    wrong = [(lang, text) for lang, text in rows if detect_language(text).code != lang]
    assert len(wrong) <= 1, wrong  # measured: none wrong


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "12345 678.90 2024-01-01 10:00:00",
        "1.2.3[.]4 hxxp://evil[.]com/a.php 44d88612fea8a8f36de82e1278abb02f",
        "admin@example.com https://example.org/x?id=1 C:\\Windows\\System32\\evil.dll",
        "漏洞",  # one word
        "Hello there",  # too few letters to tell
        "." * 1_000_000,
        "(" * 100_000 + ")" * 100_000,
    ],
)
def test_not_language_is_undetermined(text: str) -> None:
    assert detect_language(text) == LanguageGuess(UNDETERMINED, 0.0)


def test_binary_decoded_as_latin1_is_undetermined() -> None:
    rnd = random.Random(3)
    for _ in range(20):
        assert detect_language(rnd.randbytes(2_000).decode("latin-1")).code == UNDETERMINED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("攻击者利用服务器漏洞窃取数据", "zh"),  # Han only: Chinese, though the model says ja
        ("攻撃者はサーバーの脆弱性を悪用した", "ja"),
        ("ATTACKERS USED PHISHING EMAILS AGAINST THE BANKS", "en"),  # all caps
        ("The actor used 185.220.101.4 and evil[.]com to deliver the loader", "en"),
    ],
)
def test_short_and_mixed_text(text: str, expected: str) -> None:
    assert detect_language(text).code == expected


def test_settings_and_pickling() -> None:
    strict = LanguageDetector(min_confidence=0.999)
    assert strict.detect("The attackers used spear-phishing emails.").code == UNDETERMINED
    detector = LanguageDetector(sample_chars=200)
    assert detector.detect("Les attaquants ont exploité une faille. " * 100).code == "fr"
    again = pickle.loads(pickle.dumps(detector))
    assert again == detector
    assert again.detect("Die Angreifer nutzten eine bekannte Schwachstelle aus.").code == "de"


def test_model_loads_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("language detection tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    model = language._load_model.__wrapped__()
    labels, _ = model.predict("Bonjour tout le monde, comment allez-vous", k=1)
    assert labels[0] == "__label__fr"


def test_cost_is_bounded_by_the_sample() -> None:
    detector = LanguageDetector()
    detector.detect("warm up the model with a sentence")
    model, seen = detector._model, []

    class Recording:
        def predict(self, text: str, k: int) -> object:
            seen.append(len(text))
            return model.predict(text, k=k)

    detector._model = Recording()
    small = "The attackers used spear-phishing emails. " * 100  # ~4 KB
    big = "The attackers used spear-phishing emails. " * 250_000  # ~10 MB
    assert detector.detect(big).code == "en"
    assert len(seen) == 1 and seen[0] <= language.SAMPLE_CHARS
    # Counted calls, not seconds (tests/steps.py): 2,500 times the text, the same work.
    assert count_calls(lambda: detector.detect(big)) == count_calls(
        lambda: detector.detect(small))
