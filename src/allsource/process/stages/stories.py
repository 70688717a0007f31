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

The text work (tokens, MinHash, band keys) reads no store: :meth:`~StoriesStage.precompute`
does it on its own (a :class:`~allsource.process.dedup.Sketch` per document)
and keeps it in ``work.scratch["stories"]``: a multi-process engine runs it on the workers,
on the same trip as the parallel stages, so the parent process (which also writes every
batch) is left with the ordered, store-bound part: :meth:`~StoriesStage.process` does only
that for the documents that have a sketch (and everything for those that have none, as the
inline engine runs it).

The index itself is read from the store once per run and then kept in memory
(:class:`~allsource.store.stories.RunTables`): a batch reads no story table and writes
each once, so this process's share does not grow with the store. Option ``memory_rows``
bounds that copy (band rows; past it the stage looks up in SQL per batch, as before).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from allsource.errors import InputError
from allsource.hookspecs import hookimpl
from allsource.process.base import Stage, Work
from allsource.process.dedup import BandStore, MemberStore, Sketch, Sketcher, StoryIndex

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore
    from allsource.store.stories import RunTables

DEFAULT_THRESHOLD = 0.6
_UNLOADED: Any = object()  # the run's tables are read at its first batch
NARRATIVE_KINDS = frozenset({"article", "report", "file", "record", "misp-event", "note",
                             "email", "document"})


class StoriesStage(Stage):
    name: ClassVar[str] = "stories"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = "near-duplicate story clustering (MinHash LSH, incremental)"
    sequential: ClassVar[bool] = True
    order: ClassVar[int] = 20
    #: only its own sketches, which travel apart from the scratch (``precompute``)
    reads_scratch: ClassVar[bool] = False

    def __init__(self, options: dict[str, Any] | None = None,
                 store: SqlStore | None = None) -> None:
        super().__init__(options, store)
        self._sketcher: Sketcher | None = None
        self._tables: RunTables | None = _UNLOADED

    def setup(self) -> None:
        """A run starts (each engine sets its stages up): the index is read again at its
        first batch."""
        self._tables = _UNLOADED

    def _max_rows(self) -> int:
        from allsource.store.stories import MAX_ROWS

        return int(self.options.get("memory_rows", MAX_ROWS))

    def _threshold(self) -> float:
        return float(self.options.get("threshold", DEFAULT_THRESHOLD))

    def _kinds(self) -> frozenset[str]:
        return frozenset(self.options.get("kinds", NARRATIVE_KINDS))

    def precompute(self, batch: list[Work]) -> None:
        """Sketch the batch's narrative documents (no store, no state: may run anywhere,
        before the stages ordered ahead of this one — it reads only the document)."""
        sketcher = self._sketcher
        if sketcher is None or sketcher.threshold != self._threshold():
            sketcher = self._sketcher = Sketcher(threshold=self._threshold())
        kinds = self._kinds()
        for work in batch:
            if work.kind in kinds:
                work.scratch[self.name] = sketcher.sketch(work.id, work.full_text,
                                                          work.content_hash or None)

    def process(self, batch: list[Work]) -> None:
        if self.store is None:
            raise InputError("the stories stage needs the store (run `allsource process`)")
        from allsource.store.stories import RunTables, SqlBandStore, SqlMemberStore

        kinds = self._kinds()
        todo = [w for w in batch if w.kind in kinds]
        for work in batch:
            if work.kind not in kinds:
                work.annotations[self.name] = {"skipped": f"{work.kind} documents are not "
                                                          "clustered into stories"}
        if not todo:
            return
        # precomputed sketches are used (and dropped: scratch ends as without them) only when
        # every document has one; either way the result is the same
        sketches = [s for w in todo if isinstance(s := w.scratch.pop(self.name, None), Sketch)
                    and s.doc_id == w.id]
        with self.store.engine.begin() as conn:
            if self._tables is _UNLOADED:
                self._tables = RunTables.load(conn, self._max_rows())
            tables = self._tables
            if tables is None:  # too big to keep in memory: look up in SQL per batch
                bands: BandStore = SqlBandStore(self.store, conn)
                members: MemberStore = SqlMemberStore(self.store, conn)
            else:
                bands, members = run_stores = tables.stores(self.store, conn)
            index = StoryIndex(bands, members, threshold=self._threshold())
            if len(sketches) == len(todo):
                assignments = index.assign_sketches(sketches)
            else:
                assignments = index.assign_batch(
                    [(w.id, w.full_text, w.content_hash or None) for w in todo])
        if tables is not None and not tables.commit(*run_stores):
            self._tables = None
        for work, a in zip(todo, assignments, strict=True):
            work.annotations[self.name] = {
                "story_id": a.story_id, "canonical_id": a.canonical_id,
                "similarity": round(a.similarity, 4), "new_story": a.is_new_story,
                "matched_id": a.matched_id, "index": index.fingerprint}


@hookimpl
def register_stages() -> list[type[Stage]]:
    return [StoriesStage]
