"""A real workspace for the web tests: the app from ``create_app`` served by uvicorn on a free
loopback port, over a SQLite store in a session folder holding hostile documents —
``tests/fixtures/web/xss.jsonl`` (classic XSS payloads, kept verbatim by the files collector)
and, when the shared samples are present, a few of feedparser's sanitisation feeds (hostile
HTML/JS in feed titles and content) read by the rss collector — processed for observables and
stories, graded by ``allsource verify``, with two alerts raised on them, an admin token and a
reader token.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa

from allsource.api import create_app
from allsource.assess.alerts import AlertDraft, Severity, raise_alerts
from allsource.assess.watchlists import add_terms, keyword_spec, save_watchlist
from allsource.collect.base import CollectContext
from allsource.collect.files import FilesCollector
from allsource.collect.rss import RssCollector
from allsource.collect.runner import run_source
from allsource.config import Settings, load_settings
from allsource.engine.inline import InlineEngine
from allsource.model.markings import Audience, Marking
from allsource.model.records import Source
from allsource.process.aliases import alias_key
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.store import open_store, users
from allsource.store import schema as t
from allsource.store.blobs import BlobStore
from allsource.store.sql import SqlStore
from tests.conftest import FIXTURES, _samples
from tests.serving import free_port, serve

XSS_FIXTURE = FIXTURES / "web" / "xss.jsonl"
#: feedparser sanitisation cases: script, inline handlers, malformed tags in titles/content
HOSTILE_FEEDS = ("entry_content_crazy.xml", "entry_content_script.xml",
                 "entry_content_onclick.xml", "entry_title_script.xml",
                 "entry_title_onerror.xml", "entry_title_crazy.xml",
                 "entry_summary_script_inline.xml")


@dataclass
class Workspace:
    base_url: str
    store: SqlStore
    admin_token: str
    reader_token: str
    docs: dict[str, str] = field(default_factory=dict)  # title -> id
    alert_ids: list[str] = field(default_factory=list)
    feeds_ingested: bool = False
    entities: dict[str, str] = field(default_factory=dict)  # role -> object id



def _ingest(store: SqlStore, settings: Settings, folder: Path) -> bool:
    ctx = CollectContext(settings=settings, blobs=BlobStore(settings.blob_dir))
    xss = Source(name="xss-desk", kind="files", location=str(XSS_FIXTURE))
    store.add_source(xss)
    result = run_source(store, xss, ctx, collector_cls=FilesCollector)
    assert result.status == "ok" and result.counts.new == 5, result
    samples = _samples()
    if samples is None:
        return False
    feeds = folder / "feeds"
    feeds.mkdir()
    for name in HOSTILE_FEEDS:
        shutil.copy(samples / "feeds" / "wellformed" / "sanitize" / name, feeds / name)
    rss = Source(name="hostile-feeds", kind="rss", location=str(feeds),
                 config={"fulltext": "never"})
    store.add_source(rss)
    result = run_source(store, rss, ctx, collector_cls=RssCollector)
    assert result.status == "ok" and result.counts.new >= 3, result
    return True


HOSTILE_ACTOR = "<img src=x onerror=\"window.__xss.push('entity')\">Fancy Bear"
HOSTILE_MALWARE = "<svg onload=\"window.__xss.push('malware')\">Agent"
HOSTILE_TECHNIQUE = "Phishing <script>window.__xss.push('ttp')</script>"
HOSTILE_PLACE = "<math><mtext>Kyiv<img src=x onerror=\"window.__xss.push('place')\">"
HOSTILE_ALIAS = "<iframe src=javascript:window.__xss.push('alias')>APT-X"


def _risk_components() -> dict[str, Any]:
    def part(name: str, value: float) -> dict[str, Any]:
        return {"name": name, "value": value, "weight": 0.25, "details": {},
                "source": f"<script>window.__xss.push('risk-{name}')</script>"}
    return {"likelihood": {"value": 0.6, "base": 0.6, "parts": [
                part(n, 0.6) for n in ("credibility", "reliability", "corroboration",
                                       "recency")]},
            "impact": {"value": 0.7, "relevance": 0.7, "baseline": 0.5, "warninglists": [],
                       "parts": [part(n, 0.7) for n in ("type", "sector", "watchlist")]},
            "expires_at": None, "now": None}


def _hostile_entities(store: SqlStore, doc_id: str) -> dict[str, str]:
    """An intrusion set, a malware and a technique with hostile names, linked to each other
    and to the document's IP address, mentioned in ``doc_id``, with alias statements and a
    risk score — for the entity page and the graph explorer."""
    now = datetime.now(UTC).replace(tzinfo=None)
    marking = Marking().to_columns()
    with store.engine.connect() as conn:
        ip = conn.execute(sa.select(t.objects.c.id).where(
            t.objects.c.name == "203.0.113.45")).scalar_one()
    ids = {"actor": f"intrusion-set--{uuid4()}", "malware": f"malware--{uuid4()}",
           "technique": f"attack-pattern--{uuid4()}", "place": f"location--{uuid4()}",
           "ip": ip}
    names = {"actor": HOSTILE_ACTOR, "malware": HOSTILE_MALWARE,
             "technique": HOSTILE_TECHNIQUE, "place": HOSTILE_PLACE}
    coordinates = {"latitude": 50.45, "longitude": 30.52, "country": "UA"}
    links = [("actor", "uses", "malware"), ("actor", "uses", "technique"),
             ("malware", "communicates-with", "ip")]
    with store.engine.begin() as conn:
        for role, name in names.items():
            conn.execute(t.objects.insert().values(
                id=ids[role], type=ids[role].split("--")[0], name=name,
                stix={"id": ids[role], "name": name,
                      **(coordinates if role == "place" else {})},
                created_at=now, **marking))
            conn.execute(t.mentions.insert().values(
                object_id=ids[role], document_id=doc_id, extractor="test", span_start=-1,
                span_end=-1))
        for src, rtype, dst in links:
            rel = f"relationship--{uuid4()}"
            conn.execute(t.relationships.insert().values(
                id=rel, relationship_type=rtype, source_ref=ids[src], target_ref=ids[dst],
                stix={}, created_at=now, **marking))
            conn.execute(t.mentions.insert().values(
                object_id=rel, document_id=doc_id, extractor="test", span_start=-1,
                span_end=-1))
        for alias, basis, member in ((HOSTILE_ACTOR, "name", ids["actor"]),
                                     (HOSTILE_ALIAS, "alias", ids["actor"])):
            conn.execute(t.alias_statements.insert().values(
                id=f"x-allsource-alias--{uuid4()}", entity_id=ids["actor"],
                entity_name=HOSTILE_ACTOR, entity_type="intrusion-set", alias=alias,
                alias_key=alias_key(alias), member_id=member, other_id="", basis=basis,
                provenance="misp-galaxy <b>threat-actor</b> v1", origin="gazetteer",
                status="active", reason="", created_at=now, created_by="test"))
        conn.execute(t.risk_scores.insert().values(
            subject_type="entity", subject_id=ids["actor"], name=HOSTILE_ACTOR,
            kind="intrusion-set", score=0.42, likelihood=0.6, impact=0.7,
            components=_risk_components(),
            computed_at=now, **marking))
    return ids


def _facet_rows(store: SqlStore, docs: dict[str, str], script_doc: str) -> None:
    """Topics and places annotations and document grades for the XSS documents (the search
    page's sector, country and grade facets): the script document is ``cyber``/UA graded 2,
    the others ``energy``/PL, one of them graded 6, the rest ungraded."""
    now = datetime.now(UTC).replace(tzinfo=None)
    others = sorted(i for title, i in docs.items() if any(
        k in title for k in ("Image onerror", "attr-break", "javascript URL", "Template inj")))
    with store.engine.begin() as conn:
        for doc in [script_doc, *others]:
            mine = doc == script_doc
            conn.execute(t.stage_annotations.insert().values(
                document_id=doc, stage="topics", version="test", updated_at=now,
                data={"topics": [{"topic": "cyber" if mine else "energy", "score": 0.9}]}))
            conn.execute(t.stage_annotations.insert().values(
                document_id=doc, stage="places", version="test", updated_at=now,
                data={"countries": ["UA" if mine else "PL"]}))
        for doc, cred in ((script_doc, 2), *((d, 6) for d in others[:1])):
            conn.execute(t.grades.insert().values(
                subject_type="document", subject_id=doc, reliability="B", credibility=cred,
                corroboration=0, explanation={}, computed_at=now))


HOSTILE_WATCHLIST = "<script>window.__xss.push('watchlist')</script> C2 hosts"


def _hostile_watchlist(store: SqlStore, doc_id: str) -> None:
    wl, _ = save_watchlist(store, HOSTILE_WATCHLIST, description="<b>desc</b>",
                           marking=Marking())  # shown to every test viewer
    [(term, _)] = add_terms(store, wl, [keyword_spec("<svg onload=alert(1)>beacon")])
    with store.engine.begin() as conn:
        conn.execute(t.watchlist_hits.insert().values(
            term_id=term.id, document_id=doc_id, watchlist_id=wl.id,
            matched="<img src=x onerror=alert('hit')>", evidence="<iframe src=x>",
            occurrences=2, via="process", created_at=datetime.now(UTC).replace(tzinfo=None),
            **Marking().to_columns()))


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("web")
    settings = load_settings(database_url=f"sqlite:///{folder / 'web.db'}",
                             blob_dir=folder / "blobs", batch_size=50)
    store = open_store(settings)
    feeds = _ingest(store, settings, folder)
    pipeline = build_pipeline(["observables", "stories"], store=store)
    process_store(store, pipeline, InlineEngine(pipeline))

    first = users.ensure_first_admin(store)
    assert first is not None
    reader = users.add_user(store, "rita", "reader")
    _, reader_token = users.create_token(store, reader)
    views = [store.get(i, Audience.owner()) for i in store.document_ids()]
    docs = {v["title"]: v["id"] for v in views if v is not None}
    script_doc = next(i for t, i in docs.items() if t.endswith("Script tag in a title"))
    alert_ids = raise_alerts(store, [
        AlertDraft(kind="watchlist", severity=Severity.HIGH,
                   title="<img src=x onerror=\"window.__xss.push('alert-title')\"> C2 seen",
                   group_key="watchlist:203.0.113.45", document_id=script_doc),
        AlertDraft(kind="warning", severity=Severity.MEDIUM,
                   title="\"><script>alert('alert-2')</script> surge",
                   group_key="warning:surge"),
    ])
    entities = _hostile_entities(store, script_doc)
    _hostile_watchlist(store, script_doc)
    _facet_rows(store, docs, script_doc)
    app = create_app(settings)
    port = free_port()
    server, thread = serve(app, port)
    yield Workspace(base_url=f"http://127.0.0.1:{port}", store=store,
                    admin_token=first[1], reader_token=reader_token, docs=docs,
                    alert_ids=alert_ids, feeds_ingested=feeds, entities=entities)
    server.should_exit = True
    thread.join(10)
    store.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Expose each phase's report on the test item (``rep_call``), so the browser fixture
    can tell a failed test and save its screenshot."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
