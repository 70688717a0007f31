"""The ``normalize`` stage: clean the text, detect its language, split sentences.

Later stages read the cleaned text from ``work.scratch["clean"]`` (a
:class:`~allsource.process.normalize.Cleaned`, which maps cleaned offsets back to the stored
text) and the sentence spans from ``work.scratch["sentences"]`` (offsets in the cleaned text).
The stored result holds the language, its confidence, and the sentence spans mapped back to
the document (``title + "\\n" + text``).
"""

from __future__ import annotations

from typing import ClassVar

from allsource.hookspecs import hookimpl
from allsource.process.base import Stage, Work
from allsource.process.language import LanguageDetector
from allsource.process.normalize import clean_text
from allsource.process.sentences import split_sentences

MAX_STORED_SENTENCES = 2000


class NormalizeStage(Stage):
    name: ClassVar[str] = "normalize"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = "clean text, detect language, split sentences with offsets"
    order: ClassVar[int] = 10

    def setup(self) -> None:
        self.detector = LanguageDetector()

    def process(self, batch: list[Work]) -> None:
        if not hasattr(self, "detector"):
            self.setup()
        for work in batch:
            cleaned = clean_text(work.full_text)
            sentences = split_sentences(cleaned.text)
            guess = self.detector.detect(cleaned.text)
            work.scratch["clean"] = cleaned
            work.scratch["sentences"] = sentences
            work.scratch["language"] = guess.code
            kept = sentences[:MAX_STORED_SENTENCES]
            work.annotations[self.name] = {
                "language": guess.code, "language_confidence": round(guess.confidence, 3),
                "truncated": cleaned.truncated,
                # cleaning that changed no offset maps every span to itself
                "sentences": ([list(cleaned.to_original(s, e)) for s, e in kept]
                              if cleaned.changed else [[s, e] for s, e in kept]),
            }


@hookimpl
def register_stages() -> list[type[Stage]]:
    return [NormalizeStage]
