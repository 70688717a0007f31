"""The GDELT collector: published exports and header-ful samples, bad rows, zip bombs,
checkpoints and conditional GETs.

Real data: ``tests/fixtures/gdelt/`` (three events and their mentions in the published
format), the shared samples (``gdelt/``) and the ``gdelt`` package's data file."""

from __future__ import annotations

import csv
import io
import sys
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from allsource.collect.base import CollectContext
from allsource.collect.gdelt import GdeltCollector
from allsource.collect.gdelt_tables import EVENT_COLUMNS
from allsource.collect.runner import run_source
from allsource.config import Settings
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Checkpoint, Collected, Document, Item, Rejected, Source
from allsource.store.blobs import BlobStore
from allsource.store.sql import SqlStore

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gdelt"
EXPORT = FIXTURES / "20170701234500.export.CSV"
MENTIONS = FIXTURES / "20170701234500.mentions.CSV"
OWNER = Audience.owner()


def _source(location: Path | str, **kw: Any) -> Source:
    return Source(name="gdelt", kind="gdelt", location=str(location), **kw)


def _items(ctx: CollectContext, location: Path | str, checkpoint: dict[str, Any] | None = None,
           **kw: Any) -> list[Item]:
    return list(GdeltCollector(_source(location, **kw), ctx).collect(checkpoint or {}))


def _docs(items: list[Item]) -> list[Document]:
    return [i.document for i in items if isinstance(i, Collected)]


def _event_id(event: int) -> str:
    return Document.build(kind="", title="", text="", key={"gdelt_event": event}).id


def _published_form(header_csv: Path, out: Path) -> Path:
    """Rewrite a header-ful comma sample the way GDELT publishes it: tab-separated, no
    header, only the official columns, zipped."""
    with header_csv.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = [h.lower() for h in rows[0]]
    official = [c.lower() for c in EVENT_COLUMNS] if "eventcode" in header else header
    keep = [header.index(c) for c in official]
    tsv = "".join("\t".join(r[i] for i in keep) + "\n" for r in rows[1:])
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(out.name.removesuffix(".zip"), tsv)
    return out


def _comparable(doc: Document) -> tuple[Any, ...]:
    return (doc.id, doc.kind, doc.title, doc.text, doc.url, doc.published_at, doc.meta,
            doc.blob_ref)


def test_published_exports_into_the_store(store: SqlStore, ctx: CollectContext) -> None:
    source = _source(FIXTURES, marking=Marking(tlp=TLP.CLEAR))
    store.add_source(source)
    result = run_source(store, source, ctx, collector_cls=GdeltCollector)
    assert (result.status, result.counts.new, result.counts.quarantined) == ("ok", 6, 0)

    event = store.get(_event_id(669666361), OWNER)
    assert event is not None
    assert event["kind"] == "gdelt-event"
    assert event["title"] == ("UNITED KINGDOM provide economic aid CONGLOMERATE "
                              "(Port Talbot, Neath Port Talbot, United Kingdom)")
    assert "Goldstein scale: +7.4" in event["text"]
    assert "Average tone: 0.57" in event["text"]
    assert "Location: Port Talbot, Neath Port Talbot, United Kingdom [UK] (51.6000, -3.7833)" \
        in event["text"]
    assert event["url"] == ("https://www.thetimes.co.uk/edition/business/action-on-pension-"
                            "loophole-to-save-port-talbot-steel-2f69bxcqw")
    assert event["published_at"].startswith("2017-07-01T23:45:00")
    meta = event["meta"]
    assert (meta["GoldsteinScale"], meta["NumMentions"], meta["EventCode"]) == (7.4, 2, "071")
    assert (meta["ActionGeo_Lat"], meta["ActionGeo_CountryCode"]) == (51.6, "UK")
    assert event["blob_ref"] == "row:2"

    mention_id = Document.build(kind="", title="", text="", key={"gdelt_mention": [
        669666361, event["url"]]}).id
    mention = store.get(mention_id, OWNER)
    assert mention is not None
    assert mention["title"] == "thetimes.co.uk: mention of event 669666361"
    assert "Confidence: 20%" in mention["text"]
    assert mention["url"] == event["url"]
    assert mention["meta"]["MentionDocTone"] == pytest.approx(0.56818181818182)


def test_header_samples(ctx: CollectContext, samples: Path) -> None:
    events = _docs(_items(ctx, samples / "gdelt" / "events2samp.csv"))
    assert len(events) == 50 and {d.kind for d in events} == {"gdelt-event"}
    cairo = next(d for d in events if d.meta["GLOBALEVENTID"] == 669666359)
    assert cairo.title == "CAIRO host a visit SAUDI (Cairo, Al Qahirah, Egypt)"
    assert "CAMEOCodeDescription" not in cairo.meta  # gdeltPyR's extra column is not GDELT's
    mentions = _docs(_items(ctx, samples / "gdelt" / "mentionssamp.csv"))
    assert len(mentions) == 50 and {d.kind for d in mentions} == {"gdelt-mention"}
    lower_header = _docs(_items(ctx, samples / "gdelt" / "mentions-1635.csv"))
    assert len(lower_header) == 1635
    assert lower_header[0].meta["MentionDocTranslationInfo"] == "srclc:ara;eng:GT-ARA 1.0"


def test_gdelt_package_data_file(ctx: CollectContext) -> None:
    path = Path(sys.prefix) / "data" / "mentionssamp.csv"
    if not path.is_file():
        pytest.skip("the gdelt package's data/mentionssamp.csv is not installed")
    items = _items(ctx, path)
    assert not [i for i in items if isinstance(i, Rejected)]
    assert len(_docs(items)) == 1635


@pytest.mark.parametrize("name", ["events2samp.csv", "mentionssamp.csv"])
def test_published_form_gives_identical_documents(ctx: CollectContext, samples: Path,
                                                  tmp_path: Path, name: str) -> None:
    sample = samples / "gdelt" / name
    table = "export" if name.startswith("events") else "mentions"
    zipped = _published_form(sample, tmp_path / f"20170701234500.{table}.CSV.zip")
    from_header = _docs(_items(ctx, sample))
    from_export = _docs(_items(ctx, zipped))
    assert len(from_export) == 50
    assert [_comparable(d) for d in from_export] == [_comparable(d) for d in from_header]


def test_bad_rows_are_rejected_and_the_rest_goes_on(ctx: CollectContext,
                                                    tmp_path: Path) -> None:
    rows = EXPORT.read_text().splitlines()
    short = rows[1].rsplit("\t", 1)[0]  # SOURCEURL cut off: 60 columns
    bad_id = "abc" + rows[2][rows[2].index("\t"):]
    path = tmp_path / "20170701234500.export.CSV"
    path.write_text("\n".join([rows[0], short, bad_id]) + "\n")
    items = _items(ctx, path)
    rejected = {i.ref: i.reason for i in items if isinstance(i, Rejected)}
    assert rejected == {
        "20170701234500.export.CSV#row:2": "row 2: expected 61 columns, got 60",
        "20170701234500.export.CSV#row:3": "row 3: GLOBALEVENTID 'abc' is not a number"}
    assert [d.meta["GLOBALEVENTID"] for d in _docs(items)] == [669666359]
    raw = next(i.raw for i in items if isinstance(i, Rejected))
    assert raw.decode().rstrip("\n") == short  # quarantined as the row itself
    # Once the missing column is restored, retrying the quarantined row reads it.
    fixed = raw.rstrip(b"\n") + b"\t" + rows[1].rsplit("\t", 1)[1].encode()
    [retried] = GdeltCollector(_source(path), ctx).reparse(fixed, "x.export.CSV#row:2")
    assert isinstance(retried, Collected)
    assert retried.document.meta["GLOBALEVENTID"] == 669666361


def test_zip_bomb_is_quarantined(store: SqlStore, settings: Settings, tmp_path: Path) -> None:
    capped = settings.model_copy(update={"max_input_bytes": 64 * 1024})
    ctx = CollectContext(settings=capped, blobs=BlobStore(capped.blob_dir))
    bomb = tmp_path / "20170701234500.export.CSV.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("20170701234500.export.CSV", EXPORT.read_bytes() * 2000)  # ~3 MB
    assert bomb.stat().st_size < 64 * 1024
    source = _source(bomb)
    store.add_source(source)
    result = run_source(store, source, ctx, collector_cls=GdeltCollector)
    assert (result.counts.new, result.counts.quarantined) == (0, 1)
    [entry] = store.list_quarantine()
    assert "over the 65536-byte input cap (possible zip bomb)" in entry["reason"]
    assert store.blobs.get(entry["blob_sha256"]) == bomb.read_bytes()

    # Retried with a cap that fits, the kept raw zip reads fine (3 distinct events).
    roomy = CollectContext(settings=settings, blobs=BlobStore(settings.blob_dir))
    again = _docs(list(GdeltCollector(source, roomy).reparse(
        store.blobs.get(entry["blob_sha256"]), entry["item_ref"])))
    assert len({d.id for d in again}) == 3


def test_not_a_gdelt_table(ctx: CollectContext, samples: Path) -> None:
    [rejected] = [i for i in _items(ctx, samples / "gdelt" / "gkg2samp.csv")
                  if isinstance(i, Rejected)]
    assert "not a GDELT 2.0 events (61 columns) or mentions (16 columns) table" in \
        rejected.reason


def test_unchanged_files_are_skipped(store: SqlStore, ctx: CollectContext,
                                     tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / EXPORT.name).write_bytes(EXPORT.read_bytes())
    source = _source(folder)
    store.add_source(source)
    assert run_source(store, source, ctx, collector_cls=GdeltCollector).counts.new == 3
    assert run_source(store, source, ctx, collector_cls=GdeltCollector).counts.items == 0
    (folder / MENTIONS.name).write_bytes(MENTIONS.read_bytes())
    third = run_source(store, source, ctx, collector_cls=GdeltCollector)
    assert (third.counts.items, third.counts.new) == (3, 3)


def test_url_with_conditional_get(settings: Settings) -> None:
    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(EXPORT, EXPORT.name)
    body = payload.getvalue()
    seen: list[dict[str, str]] = []

    def serve(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.headers))
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304)
        return httpx.Response(200, content=body, headers={"ETag": '"v1"'})

    ctx = CollectContext(settings=settings, blobs=BlobStore(settings.blob_dir),
                         transport=httpx.MockTransport(serve),
                         resolver=lambda host: ["93.184.216.34"])  # never dialled: MockTransport
    url = "http://data.gdeltproject.org/gdeltv2/20170701234500.export.CSV.zip"
    collector = GdeltCollector(_source(url), ctx)
    first = list(collector.collect({}))
    assert len(_docs(first)) == 3
    state = [i.state for i in first if isinstance(i, Checkpoint)][-1]
    assert state["urls"][url]["etag"] == '"v1"'
    assert _docs(list(collector.collect(state))) == []
    assert seen[-1]["if-none-match"] == '"v1"'


def test_detect(samples: Path) -> None:
    head = EXPORT.read_bytes()[:4096]
    assert GdeltCollector.detect(str(EXPORT), head) >= 90
    assert GdeltCollector.detect("http://data.gdeltproject.org/gdeltv2/"
                                 "20170701234500.mentions.CSV.zip", b"") >= 90
    assert GdeltCollector.detect("/tmp/anything.csv", b"GLOBALEVENTID,SQLDATE,MonthYear") >= 90
    assert GdeltCollector.detect("/tmp/headless.tsv", head) >= 70
    assert GdeltCollector.detect(str(FIXTURES), b"") >= 80
    assert GdeltCollector.detect(str(samples / "gdelt"), b"") >= 80  # header-ful samples
    assert GdeltCollector.detect(str(samples / "misp"), b"") == 0
    gkg = samples / "gdelt" / "gkg2samp.csv"
    assert GdeltCollector.detect(str(gkg), gkg.read_bytes()[:4096]) == 0
    assert GdeltCollector.detect("/tmp/report.csv", b"date,title\n2024-01-01,x\n") == 0
