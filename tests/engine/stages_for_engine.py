"""Small stages that exercise the multi-process schedule (tests only; workers import them).

Each appends to every list and dict of a :class:`Work`, so the splice of worker output and
sequential output must put everything in the inline order to compare equal. ``sequencer``
is sequential with a ``precompute`` step; ``numbered`` requires it (a second round);
``fail_early``/``fail_late`` raise on "POISON" before/after the sequential stage."""

from __future__ import annotations

from typing import ClassVar

from allsource.model.records import Mention, Relationship, StixObject
from allsource.process.base import Stage, Work


def _note(stage: str, work: Work, value: object) -> None:
    obj = StixObject(id=f"note--{stage}-{work.id}", type="note", name=f"{stage} {work.id}",
                     stix={"type": "note", "content": str(value)})
    work.add_object(obj, f"{stage}@1", 0, 1)
    work.relationships.append(Relationship(
        id=f"relationship--{stage}-{work.id}", relationship_type="related-to",
        source_ref=obj.id, target_ref=obj.id, stix={"by": stage}, marking=work.marking))
    work.scratch[f"{stage}.seen"] = value


class Lengths(Stage):
    name = "lengths"
    order = 10

    def process(self, batch: list[Work]) -> None:
        for w in batch:
            w.annotations[self.name] = {"chars": len(w.full_text)}
            _note(self.name, w, len(w.full_text))


class Sequencer(Stage):
    """Numbers documents across batches (state in options); marks where the text
    was measured (by precompute, on a worker, or by process)."""

    name = "sequencer"
    order = 20
    sequential = True

    def precompute(self, batch: list[Work]) -> None:
        for w in batch:
            w.scratch[self.name] = w.full_text.count(" ")

    def process(self, batch: list[Work]) -> None:
        seen = self.options.setdefault("seen", 0)
        for i, w in enumerate(batch):
            spaces = w.scratch.pop(self.name, None)
            if spaces is None:
                spaces = w.full_text.count(" ")
            else:  # how many documents came with their precomputed count
                self.options["precomputed"] = self.options.get("precomputed", 0) + 1
            w.annotations[self.name] = {"position": seen + i, "spaces": spaces}
            _note(self.name, w, seen + i)
        self.options["seen"] = seen + len(batch)


class Words(Stage):
    name = "words"
    order = 30
    requires: ClassVar[tuple[str, ...]] = ("lengths",)

    def process(self, batch: list[Work]) -> None:
        for w in batch:
            w.annotations[self.name] = {"words": len(w.full_text.split()),
                                        "chars": w.annotations["lengths"]["chars"]}
            _note(self.name, w, len(w.full_text.split()))
            w.mentions.append(Mention(f"note--lengths-{w.id}", f"{self.name}@1", 1, 2))


class Numbered(Stage):
    name = "numbered"
    order = 40
    requires: ClassVar[tuple[str, ...]] = ("sequencer",)

    def process(self, batch: list[Work]) -> None:
        for w in batch:
            w.annotations[self.name] = {"twice": 2 * w.annotations["sequencer"]["position"]}
            _note(self.name, w, w.annotations["sequencer"]["position"])


class Awkward(Exception):
    """Cannot be rebuilt from its args when unpickled."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(f"{code}: {why}")


class FailEarly(Stage):
    name = "fail_early"
    order = 15
    default = False

    def process(self, batch: list[Work]) -> None:
        for w in batch:
            if "POISON" in w.text:
                raise ValueError(f"early on {w.id}")
            w.annotations[self.name] = {"ok": True}


class FailLate(Stage):
    name = "fail_late"
    order = 35
    default = False

    def process(self, batch: list[Work]) -> None:
        for w in batch:
            if "POISON" in w.text:
                raise ValueError(f"late on {w.id}")
            if "AWKWARD" in w.text:
                raise Awkward(7, f"awkward {w.id}")
            w.annotations[self.name] = {"ok": True}


class Helpers(Stage):
    """Does its work in a thread of its own and waits for it, as a native library's thread
    pool does (the tokenizers' Rayon threads): records the CPU seconds that thread used."""

    name = "helpers"
    order = 12

    def process(self, batch: list[Work]) -> None:
        import threading
        import time

        used: list[float] = []

        def work() -> None:
            started, total = time.thread_time(), 0
            for i in range(300_000 * len(batch)):  # counted work, never timed
                total += i % 7
            used.append(time.thread_time() - started)

        helper = threading.Thread(target=work)
        helper.start()
        helper.join()
        for w in batch:
            w.annotations[self.name] = {"cpu": used[0] / len(batch)}


class NoScratchSequencer(Sequencer):
    """:class:`Sequencer` declaring that it reads no other stage's scratch."""

    name = "no_scratch_sequencer"
    reads_scratch = False


ALL: dict[str, type[Stage]] = {c.name: c for c in (Lengths, Sequencer, Words, Numbered,
                                                   FailEarly, FailLate, Helpers,
                                                   NoScratchSequencer)}
