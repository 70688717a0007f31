"""The ``watchlist`` stage: every processed document matched against the analysts' watchlists
(priority intelligence requirements), incrementally — see :mod:`allsource.assess.watchlists`
for the terms and the matching.

It runs last, after the stages whose results it reads (entity ids, observables, places,
topics), in the parent process (``sequential``): :meth:`WatchlistStage.prepare` loads the
enabled watchlists into the options once per run, and :meth:`~WatchlistStage.process`
records each batch's new hits in ``watchlist_hits`` and raises one alert per watchlist and
document at once (grouped per story by the alerts). Hits are unique per (term, document), so
reprocessing a document records and raises nothing twice.

The watchlists are deliberately not part of the stage's version: editing a watchlist must not
make ``allsource process`` read the whole store again. A new term applies to documents
processed from then on; ``allsource watchlist add … --backfill`` applies it to the documents
already processed, through the store's indexes (:func:`~allsource.assess.watchlists.backfill`).

``annotations["watchlist"]`` lists the document's hits (``{"hits": [...], "watchlists":
[names]}``) as matched when it was processed (hits found later by a backfill are in the
table only). Without a store the stage matches the watchlists of its ``watchlists`` option and
records nothing (``allsource extract`` leaves sequential stages out altogether).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from allsource.assess.watchlists import (
    MAX_LISTED,
    DocumentRef,
    Hit,
    Matcher,
    Watchlist,
    deliver,
    load_active,
)
from allsource.hookspecs import hookimpl
from allsource.process.base import Stage, Work

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore


class WatchlistStage(Stage):
    name: ClassVar[str] = "watchlist"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = "watchlist matching: hits recorded, alerts raised"
    requires: ClassVar[tuple[str, ...]] = ("entities", "observables", "places", "topics")
    sequential: ClassVar[bool] = True
    order: ClassVar[int] = 90
    reads_scratch: ClassVar[bool] = False  # the stages' findings and the document only

    def prepare(self, store: SqlStore) -> None:
        if "watchlists" not in self.options:
            self.options["watchlists"] = [w.as_json() for w in load_active(store)]

    def setup(self) -> None:
        self.matcher = Matcher(Watchlist.from_json(w)
                               for w in self.options.get("watchlists") or ())

    def process(self, batch: list[Work]) -> None:
        if not hasattr(self, "matcher"):
            self.setup()
        found: list[tuple[DocumentRef, list[Hit]]] = []
        for work in batch:
            hits = self.matcher.match(work) if len(self.matcher) else []
            names = sorted({self.matcher.watchlists[h.term.watchlist_id].name for h in hits})
            work.annotations[self.name] = {
                "hits": [{"watchlist": self.matcher.watchlists[h.term.watchlist_id].name,
                          **h.as_json()} for h in hits[:MAX_LISTED]],
                "watchlists": names}
            if hits:
                found.append((DocumentRef(work.id, work.title, work.marking), hits))
        if found and self.store is not None:
            deliver(self.store, found, self.matcher.watchlists)


@hookimpl
def register_stages() -> list[type[Stage]]:
    return [WatchlistStage]
