"""Small real stages used to test the processing framework (not shipped: tests only).

``ipv4`` finds dotted quads with a plain regex and proposes them through the model's value
types; ``words`` counts words; ``flaky`` fails on documents whose text contains "POISON"."""

from __future__ import annotations

import re
from typing import ClassVar

from allsource.model.types import observable
from allsource.process.base import Stage, Work

_IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")


class Words(Stage):
    name = "words"
    version = "1"
    description = "word count"
    order = 10

    def process(self, batch: list[Work]) -> None:
        for w in batch:
            w.annotations[self.name] = {"words": len(w.full_text.split())}


class IPv4(Stage):
    name = "ipv4"
    version = "1"
    description = "dotted quads"
    requires: ClassVar[tuple[str, ...]] = ("words",)

    def process(self, batch: list[Work]) -> None:
        for w in batch:
            text = w.full_text
            found = 0
            for m in _IP.finditer(text):
                obj = observable("ipv4", m.group())
                if obj is not None:
                    w.add_object(obj, self.extractor, m.start(), m.end())
                    found += 1
            w.annotations[self.name] = {"found": found}


class Flaky(Stage):
    name = "flaky"
    version = "1"
    description = "fails on poison"
    default = False

    def process(self, batch: list[Work]) -> None:
        for w in batch:
            if "POISON" in w.text:
                raise ValueError(f"cannot handle {w.id}")
            w.annotations[self.name] = {"ok": True}


class Ordered(Stage):
    name = "ordered"
    version = "1"
    description = "sequential: numbers documents in order"
    sequential = True
    default = False
    order = 20

    def process(self, batch: list[Work]) -> None:
        seen = self.options.setdefault("seen", 0)
        for i, w in enumerate(batch):
            w.annotations[self.name] = {"position": seen + i}
        self.options["seen"] = seen + len(batch)


ALL: dict[str, type[Stage]] = {c.name: c for c in (Words, IPv4, Flaky, Ordered)}
