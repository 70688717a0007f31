"""The ``stories`` stage: cluster near-duplicates into stories, incrementally.

Runs in the parent process (``sequential``): every document is compared with all earlier
ones, in arrival order, through the LSH index kept in the store (see
:mod:`allsource.process.dedup` for the method and :mod:`allsource.store.stories` for the
tables). A batch's assignments commit in one transaction. A variant keeps its own source and
time; its stored result names its story, the canonical (first) document, the document it
matched and the estimated similarity. Option ``threshold`` (Jaccard, default 0.6).

Only narrative documents are clustered — articles, reports, files, records, MISP events,
notes, e-mails (option ``kinds``). Structured records (GDELT rows, ATT&CK techniques,
galaxy clusters) share templates, so their texts look alike without being the same story;
they get ``{"skipped": …}`` instead.
"""

from __future__ import annotations

from typing import ClassVar

from allsource.errors import InputError
from allsource.hookspecs import hookimpl
from allsource.process.base import Stage, Work
from allsource.process.dedup import StoryIndex

DEFAULT_THRESHOLD = 0.6
NARRATIVE_KINDS = frozenset({"article", "report", "file", "record", "misp-event", "note",
                             "email", "document"})


class StoriesStage(Stage):
    name: ClassVar[str] = "stories"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = "near-duplicate story clustering (MinHash LSH, incremental)"
    sequential: ClassVar[bool] = True
    order: ClassVar[int] = 20

    def process(self, batch: list[Work]) -> None:
        if self.store is None:
            raise InputError("the stories stage needs the store (run `allsource process`)")
        from allsource.store.stories import SqlBandStore, SqlMemberStore

        threshold = float(self.options.get("threshold", DEFAULT_THRESHOLD))
        kinds = frozenset(self.options.get("kinds", NARRATIVE_KINDS))
        todo = [w for w in batch if w.kind in kinds]
        for work in batch:
            if work.kind not in kinds:
                work.annotations[self.name] = {"skipped": f"{work.kind} documents are not "
                                                          "clustered into stories"}
        if not todo:
            return
        with self.store.engine.begin() as conn:
            index = StoryIndex(SqlBandStore(self.store, conn), SqlMemberStore(self.store, conn),
                               threshold=threshold)
            assignments = index.assign_batch(
                [(w.id, w.full_text, w.content_hash or None) for w in todo])
        for work, a in zip(todo, assignments, strict=True):
            work.annotations[self.name] = {
                "story_id": a.story_id, "canonical_id": a.canonical_id,
                "similarity": round(a.similarity, 4), "new_story": a.is_new_story,
                "matched_id": a.matched_id, "index": index.fingerprint}


@hookimpl
def register_stages() -> list[type[Stage]]:
    return [StoriesStage]
