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
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn

from allsource.api import create_app
from allsource.assess.alerts import AlertDraft, Severity, raise_alerts
from allsource.collect.base import CollectContext
from allsource.collect.files import FilesCollector
from allsource.collect.rss import RssCollector
from allsource.collect.runner import run_source
from allsource.config import Settings, load_settings
from allsource.engine.inline import InlineEngine
from allsource.model.markings import Audience
from allsource.model.records import Source
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.store import open_store, users
from allsource.store.blobs import BlobStore
from allsource.store.sql import SqlStore
from tests.conftest import FIXTURES, _samples

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield Workspace(base_url=f"http://127.0.0.1:{port}", store=store,
                    admin_token=first[1], reader_token=reader_token, docs=docs,
                    alert_ids=alert_ids, feeds_ingested=feeds)
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
