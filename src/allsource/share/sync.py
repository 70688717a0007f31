"""Partner sync: two allsource instances (or allsource and any TAXII 2.1 server) kept in step
over TAXII, one round at a time.

A *partner* is a TAXII source (``allsource source add peer-a taxii https://a/taxii2/ -o
token_env=… -o collection=all``). One round of :func:`sync_source`:

1. **Pull** the partner's collection with the TAXII collector's checkpoint (resumable after
   either side stops, see :mod:`allsource.collect.taxii`), walking its *manifest* and
   fetching only the object versions this store does not hold (:func:`held_ids`). So what the
   partner holds because it came from us — pulled from us, or posted to it by us — comes back
   as one manifest record per version and is neither downloaded nor stored again (*echo
   suppression*), and the same holds for anything we got from a third party. An allsource
   partner is asked, besides, to leave out of its manifest what came from us
   (``match[x_allsource_origin]=others``, :mod:`allsource.share.taxii.origin`): then the
   echo costs no manifest record at all. A partner that does not know the filter ignores it.
2. **Push back** the sightings, notes and opinions our analysts wrote about objects that came
   from the partner (:mod:`allsource.share.sync_push`), once each, to the partner's writable
   collection.

The loop that repeats rounds on a schedule with backoff is :mod:`allsource.share.sync_loop`;
the command is ``allsource sync``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from allsource.collect.base import CollectContext
from allsource.collect.runner import Progress, RunResult, run_source
from allsource.collect.taxii import TaxiiCollector
from allsource.errors import AllsourceError
from allsource.model.records import Source
from allsource.share.sync_push import PushResult, push_back
from allsource.share.taxii.origin import ORIGIN_FILTER, OTHERS
from allsource.store.object_log import normalize_modified, versions_of
from allsource.store.sql import SqlStore

__all__ = ["SyncResult", "held_ids", "sync_collector", "sync_source"]


def held_ids(store: SqlStore, records: Sequence[tuple[str, str]]) -> set[str]:
    """Of the manifest ``records`` (id, version), the ids whose version ``store`` holds: the
    same ``modified``, or — for an object that has none (a cyber observable, whose id is a
    hash of its content; the manifest then shows its ``created`` or ``date_added``) — the id.
    """
    have: dict[str, set[str]] = {}
    with store.engine.connect() as conn:
        for rows in versions_of(conn, sorted({i for i, _ in records})):
            for oid, modified in rows:
                have.setdefault(oid, set()).add(modified)
    # only the ids held are compared by version (a delta's records mostly are not)
    return {i for i, version in records if i in have
            and ("" in have[i] or normalize_modified(version) in have[i])}


def sync_collector(store: SqlStore) -> type[TaxiiCollector]:
    """The TAXII collector that knows what ``store`` holds (so it walks the manifest)."""

    class SyncCollector(TaxiiCollector):
        def held_ids(self, records: Sequence[tuple[str, str]]) -> set[str] | None:
            return held_ids(store, records)

        def manifest_filters(self) -> dict[str, str]:
            return {ORIGIN_FILTER: OTHERS}

    return SyncCollector


@dataclass(slots=True)
class SyncResult:
    """One round with one partner: the pull's run result and what was pushed back."""

    source: str
    pulled: RunResult
    pushed: PushResult = field(default_factory=PushResult)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.pulled.status == "ok" and not self.errors


def sync_source(store: SqlStore, source: Source, ctx: CollectContext, *,
                progress: Progress | None = None) -> SyncResult:
    """One sync round with the partner ``source``: pull the delta, then push back. A failed
    pull still pushes (the two directions are independent); errors are one-line messages."""
    if source.kind != "taxii":
        raise AllsourceError(f"source {source.name!r} is a {source.kind} source; partner sync "
                             "runs over TAXII sources")
    pulled = run_source(store, source, ctx, progress=progress,
                        collector_cls=sync_collector(store))
    result = SyncResult(source.name, pulled, errors=[f"pull: {e}" for e in pulled.errors]
                        if pulled.status != "ok" else [])
    try:
        result.pushed = push_back(store, source, ctx)
    except AllsourceError as exc:
        result.errors.append(f"push: {exc}")
    return result
