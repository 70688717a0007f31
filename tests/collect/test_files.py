"""The files collector: formats, bad input, checkpoints and mid-file resume.

Fixtures: ``tests/fixtures/files/`` (see tests/fixtures/README.md). PDFs are synthetic: tiny
valid PDF files written by :func:`make_pdf` below (one page, Helvetica text), since no real
PDF may be downloaded at test time; pdfminer has to extract their text like any other PDF.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from allsource.collect.base import CollectContext
from allsource.collect.files import FilesCollector
from allsource.collect.runner import run_source
from allsource.config import Settings
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Checkpoint, Collected, Document, Item, Rejected, Source
from allsource.store.blobs import BlobStore
from allsource.store.sql import SqlStore

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "files"
OWNER = Audience.owner()

# A news-style paragraph in French: accented letters that latin-1/cp1252 encode as single bytes.
FRENCH = ("Le ministère de l'Intérieur a confirmé mercredi qu'une cyberattaque avait visé "
          "plusieurs hôpitaux de la région. Selon le communiqué, les données des patients n'ont "
          "pas été dérobées, mais les systèmes de réservation ont été paralysés pendant près de "
          "deux jours. L'enquête est confiée à la section cybercriminalité du parquet de Paris.\n")
# cp1252-only characters (’ and €) on top of latin-1 ones.
FRENCH_CP1252 = FRENCH.replace("'", "’").replace(
    "deux jours.", "deux jours. Le coût estimé dépasse 2 millions d’€.")


def make_pdf(lines: list[str], *, title: str | None = None, encrypt: bool = False) -> bytes:
    """A minimal, valid single-page PDF (synthetic test data) with ``lines`` of text.

    With ``encrypt`` it carries a Standard security handler whose user password is not the
    empty string, so it cannot be opened without a password."""
    content = b"BT /F1 12 Tf 72 720 Td 14 TL " + b" ".join(
        b"(" + line.encode("latin-1") + b") '" for line in lines) + b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    trailer = b""
    if title:
        objects.append(b"<< /Title (" + title.encode("latin-1")
                       + b") /CreationDate (D:20240315093000Z) >>")
        trailer += b" /Info %d 0 R" % len(objects)
    if encrypt:
        objects.append(b"<< /Filter /Standard /V 1 /R 2 /O <" + b"11" * 32 + b"> /U <"
                       + b"22" * 32 + b"> /P -4 >>")
        trailer += b" /Encrypt %d 0 R /ID [<%s><%s>]" % (len(objects), b"ab" * 16, b"ab" * 16)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += (b"trailer\n<< /Size %d /Root 1 0 R" % (len(objects) + 1) + trailer
            + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    return bytes(out)


def _source(location: Path | str, name: str = "local files", **kw: Any) -> Source:
    return Source(name=name, kind="files", location=str(location), **kw)


def _items(ctx: CollectContext, location: Path, checkpoint: dict[str, Any] | None = None
           ) -> list[Item]:
    return list(FilesCollector(_source(location), ctx).collect(checkpoint or {}))


def _docs(items: list[Item]) -> dict[str, Document]:
    return {i.document.title: i.document for i in items if isinstance(i, Collected)}


def _rejected(items: list[Item]) -> dict[str, str]:
    return {i.ref: i.reason for i in items if isinstance(i, Rejected)}


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """An empty folder to collect from (tmp_path itself also holds the test's blobs)."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A folder with every format, a sub-folder, a hidden file and two symlinks."""
    root = tmp_path / "corpus"
    shutil.copytree(FIXTURES, root)
    (root / "reports").mkdir()
    (root / "reports" / "summary.pdf").write_bytes(make_pdf(
        ["Quarterly threat summary", "Phishing attempts against finance staff rose in March."],
        title="Threat Summary Q1"))
    (root / ".secret-notes.txt").write_text("hidden file: must not be read\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("outside the root: must not be read\n")
    (root / "escape.txt").symlink_to(outside)
    (root / "notes-link.md").symlink_to(root / "triage-notes.md")
    return root


def test_folder_of_every_format_into_the_store(store: SqlStore, ctx: CollectContext,
                                               corpus: Path) -> None:
    source = _source(corpus, marking=Marking(tlp=TLP.AMBER))
    store.add_source(source)
    result = run_source(store, source, ctx, collector_cls=FilesCollector)

    # 5 whole files (html, eml, md, md via symlink, pdf) + 4 jsonl lines + 3 csv rows
    assert result.status == "ok"
    assert (result.counts.items, result.counts.quarantined) == (15, 3)
    assert result.counts.new == 11  # the symlinked Markdown file is the same document
    docs = {d["title"]: d for d in (store.get(i, OWNER) for i in store.document_ids()) if d}
    assert len(docs) == 11
    assert not any("must not be read" in d["text"] for d in docs.values())

    html = docs["Advisory: Ransomware group exploits unpatched VPN appliances"]
    assert html["kind"] == "file" and html["media_type"] == "text/html"
    assert "authentication bypass" in html["text"]
    assert "analytics" not in html["text"] and "font-family" not in html["text"]
    assert "Advisories" not in html["text"] and "Copyright" not in html["text"]  # furniture
    assert html["blob_ref"] == "file"
    assert store.blobs.get(html["blob_sha256"]) == (FIXTURES / "advisory.html").read_bytes()
    assert html["marking"]["tlp"] == "TLP:AMBER"

    pdf = docs["Threat Summary Q1"]
    assert pdf["media_type"] == "application/pdf"
    assert "Phishing attempts against finance staff rose in March." in pdf["text"]
    assert pdf["published_at"].startswith("2024-03-15T09:30")

    record = docs["VPN appliance exploitation"]
    assert (record["kind"], record["blob_ref"]) == ("record", "line:2")
    assert record["published_at"].startswith("2024-03-04T08:00")
    row = docs["Supplier portal breach"]
    assert (row["kind"], row["blob_ref"], row["media_type"]) == ("record", "row:4", "text/csv")
    assert "country: DE" in row["text"]

    quarantined = {q["item_ref"]: q["reason"] for q in store.list_quarantine()}
    assert quarantined["reports.jsonl#line:3"].startswith("line 3: invalid JSON")
    assert quarantined["reports.jsonl#line:5"] == "line 5: expected a JSON object, got list"
    assert quarantined["incidents.csv#row:3"] == "row 3: expected 5 columns, got 4"


def test_jsonl_records(ctx: CollectContext) -> None:
    items = _items(ctx, FIXTURES / "reports.jsonl")
    docs = _docs(items)
    assert sorted(docs) == ["Credential phishing against finance staff",
                            "Exfiltration over cloud storage", "Supplier compromise notice",
                            "VPN appliance exploitation"]
    first = docs["Credential phishing against finance staff"]
    assert first.url == "https://intel.example.org/reports/rpt-001"
    assert first.published_at == datetime(2024, 3, 12, 8, 15, tzinfo=UTC)
    assert first.meta == {"tags": ["phishing", "finance"], "id": "rpt-001"}
    # A line with an id is keyed by it: same id, edited text → same document.
    edited = Document.build(kind="record", title="x", text="y", key={"id": "rpt-001"})
    assert first.id == edited.id
    # "content" is read when there is no text/body; an unparsable date is kept in meta.
    assert docs["Exfiltration over cloud storage"].published_at is None
    assert docs["Exfiltration over cloud storage"].meta == {"published": "not a date"}
    assert docs["Supplier compromise notice"].meta == {"severity": "medium", "id": 5}
    # The rest of the file goes on after each bad line.
    assert [i.document.blob_ref for i in items if isinstance(i, Collected)] == [
        "line:1", "line:2", "line:4", "line:7"]


def test_csv_rows_sniff_the_dialect_and_pick_the_title_column(ctx: CollectContext,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "sightings.csv"
    path.write_bytes("Name;First seen;Country\nSandworm;2009;RU\n\"Lazarus; APT38\";2009;KP\n"
                     .encode("cp1252"))
    docs = _docs(_items(ctx, path))
    assert sorted(docs) == ["Lazarus; APT38", "Sandworm"]
    assert docs["Sandworm"].text == "Name: Sandworm\nFirst seen: 2009\nCountry: RU"
    assert docs["Sandworm"].meta == {"Name": "Sandworm", "First seen": "2009", "Country": "RU"}


def test_email_message(ctx: CollectContext) -> None:
    [doc] = _docs(_items(ctx, FIXTURES / "phishing-report.eml")).values()
    assert doc.title == "Invoice-themed phishing targeting finance staff"
    assert doc.text.startswith("Team,")
    assert "Jane — Security Operations" in doc.text  # quoted-printable UTF-8 decoded
    assert "HTML part" not in doc.text  # the plain alternative is preferred
    assert doc.published_at == datetime(2024, 3, 12, 8, 15, tzinfo=UTC)
    assert doc.meta["from"] == "Jane Analyst <jane.analyst@example.org>"
    assert doc.meta["message-id"] == "<20240312091500.4711@mail.example.org>"
    assert doc.meta["attachments"] == ["sample-lure.eml", "headers.pdf"]
    assert "Overdue invoice" not in doc.text  # attachments are listed, never parsed
    assert doc.media_type == "message/rfc822"


def test_html_only_email_is_tag_stripped(ctx: CollectContext, inbox: Path) -> None:
    (inbox / "outage.eml").write_bytes(
        b"From: IT Service Desk <servicedesk@example.org>\r\nTo: staff@example.org\r\n"
        b"Subject: VPN portal outage\r\nDate: Wed, 13 Mar 2024 16:02:11 +0000\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        b"<html><body><p>Hello <b>team</b>,</p><script>track()</script>"
        b"<p>the VPN portal is down while we apply the vendor\xb4s patch.</p></body></html>\r\n")
    [doc] = _docs(_items(ctx, inbox)).values()
    assert doc.text == "Hello team,\nthe VPN portal is down while we apply the vendor\u00b4s patch."


def test_markdown_and_real_json_document(ctx: CollectContext, samples: Path,
                                         tmp_path: Path) -> None:
    [md] = _docs(_items(ctx, FIXTURES / "triage-notes.md")).values()
    assert md.title == "Triage notes: VPN appliance intrusion"
    assert md.media_type == "text/markdown"
    shutil.copy(samples / "misp" / "japanese_test.json", tmp_path / "event.json")
    [event] = _docs(_items(ctx, tmp_path / "event.json")).values()
    assert (event.title, event.media_type) == ("event", "application/json")
    assert "Event.info: Japanese Lorem Ipsum 条イ音態ぞゃご法説イシ技" in event.text


def test_wrong_encodings_are_decoded(ctx: CollectContext, inbox: Path) -> None:
    (inbox / "latin1.txt").write_bytes(FRENCH.encode("latin-1"))
    (inbox / "cp1252.txt").write_bytes(FRENCH_CP1252.encode("cp1252"))
    (inbox / "utf16.txt").write_bytes(FRENCH.encode("utf-16"))  # with BOM
    texts = {i.document.meta["path"]: i.document.text for i in _items(ctx, inbox)
             if isinstance(i, Collected)}
    assert texts == {"latin1.txt": FRENCH, "cp1252.txt": FRENCH_CP1252, "utf16.txt": FRENCH}


def test_bad_files_are_rejected_and_the_rest_goes_on(ctx: CollectContext,
                                                      inbox: Path) -> None:
    garbage = bytes((i * 131 + 7) % 256 for i in range(4096))  # binary, NULs included
    (inbox / "garbage.txt").write_bytes(garbage)
    full = make_pdf(["Incident report", "Contained on day two."])
    (inbox / "truncated.pdf").write_bytes(full[: len(full) // 2])
    (inbox / "locked.pdf").write_bytes(make_pdf(["secret"], encrypt=True))
    (inbox / "blob.bin").write_bytes(garbage)
    (inbox / "empty.txt").write_bytes(b"")
    (inbox / "notes.dat").write_bytes(b"Unknown extension, but plain text.\n")
    items = _items(ctx, inbox)
    rejected = _rejected(items)
    assert rejected == {
        "garbage.txt": "garbage.txt: input is binary, not text",
        "truncated.pdf": rejected["truncated.pdf"],
        "locked.pdf": "locked.pdf: the PDF is encrypted and cannot be read without its password",
        "blob.bin": "blob.bin: unsupported binary file type",
        "empty.txt": "empty.txt: the text file contains no text",
    }
    assert rejected["truncated.pdf"].startswith("truncated.pdf: the PDF is damaged or truncated")
    quarantined_raw = {i.ref: i.raw for i in items if isinstance(i, Rejected)}
    assert quarantined_raw["truncated.pdf"] == full[: len(full) // 2]
    assert list(_docs(items)) == ["Unknown extension, but plain text."]


def test_oversized_file_is_rejected_without_reading(settings: Settings, inbox: Path) -> None:
    small = settings.model_copy(update={"max_input_bytes": 2048})
    ctx = CollectContext(settings=small, blobs=BlobStore(small.blob_dir))
    (inbox / "big.txt").write_text(FRENCH * 10)
    (inbox / "small.txt").write_text(FRENCH)
    items = _items(ctx, inbox)
    assert "over the 2048-byte input cap" in _rejected(items)["big.txt"]
    assert [d.meta["path"] for d in _docs(items).values()] == ["small.txt"]


def test_rerun_skips_unchanged_files(store: SqlStore, ctx: CollectContext,
                                     tmp_path: Path) -> None:
    root = tmp_path / "watch"
    shutil.copytree(FIXTURES, root)
    source = _source(root)
    store.add_source(source)
    first = run_source(store, source, ctx, collector_cls=FilesCollector)
    assert (first.counts.new, first.counts.quarantined) == (10, 3)
    assert run_source(store, source, ctx, collector_cls=FilesCollector).counts.items == 0

    # Same bytes, new mtime: hashed, found unchanged, skipped.
    os.utime(root / "advisory.html", ns=(1, 1))
    assert run_source(store, source, ctx, collector_cls=FilesCollector).counts.items == 0

    with (root / "reports.jsonl").open("ab") as fh:
        fh.write(orjson.dumps({"title": "New lead", "text": "A new record appended."}) + b"\n")
    again = run_source(store, source, ctx, collector_cls=FilesCollector)
    assert (again.counts.new, again.counts.duplicates, again.counts.quarantined) == (1, 4, 2)
    assert set(store.get_checkpoint(source.id)["files"]) == {
        "advisory.html", "incidents.csv", "phishing-report.eml", "reports.jsonl",
        "triage-notes.md"}


def test_file_name_that_is_not_utf8(store: SqlStore, ctx: CollectContext, inbox: Path
                                    ) -> None:
    (inbox / os.fsdecode(b"rapport-\xe9t\xe9.txt")).write_text(FRENCH)  # latin-1 name
    source = _source(inbox)
    store.add_source(source)
    result = run_source(store, source, ctx, collector_cls=FilesCollector)
    assert (result.status, result.counts.new) == ("ok", 1)
    assert list(store.get_checkpoint(source.id)["files"]) == ["rapport-\ufffdt\ufffd.txt"]


def _write_jsonl(path: Path, n: int) -> None:
    with path.open("wb") as fh:
        for i in range(1, n + 1):
            fh.write(orjson.dumps({"id": f"rec-{i}", "title": f"Record {i}",
                                   "text": f"Adversaries may use valid accounts. Case {i}."})
                     + b"\n")


def test_killed_run_resumes_mid_file_exactly(ctx: CollectContext, tmp_path: Path) -> None:
    """Replays what the runner does — when item 501 arrives, commit the 500 buffered items
    with the newest checkpoint — then stops at 1,250 items as if killed; the resumed read
    starts right after the last committed item."""
    path = tmp_path / "big.jsonl"
    _write_jsonl(path, 2000)
    collector = FilesCollector(_source(path), ctx)
    committed: bytes = b"{}"
    pending: dict[str, Any] | None = None
    seen = buffered = 0
    for item in collector.collect({}):
        if isinstance(item, Checkpoint):
            pending = item.state
            continue
        if buffered == 500:
            committed = orjson.dumps(pending)  # the store serialises at commit time
            buffered = 0
        buffered += 1
        seen += 1
        if seen == 1250:
            break
    resumed = [i for i in collector.collect(orjson.loads(committed)) if isinstance(i, Collected)]
    assert len(resumed) == 1000
    assert resumed[0].document.blob_ref == "line:1001"
    assert resumed[-1].document.title == "Record 2000"


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs in the collector."""


def test_run_killed_after_a_commit_resumes_with_no_duplicates(store: SqlStore,
                                                              ctx: CollectContext,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    _write_jsonl(path, 120)
    source = _source(path)
    store.add_source(source)

    def die(_: object) -> None:  # called right after each batch commits
        raise Killed

    with pytest.raises(Killed):
        run_source(store, source, ctx, collector_cls=FilesCollector, progress=die)
    assert store.count("documents") == ctx.settings.batch_size == 50
    rest = run_source(store, source, ctx, collector_cls=FilesCollector)
    assert (rest.status, rest.counts.new, rest.counts.duplicates) == ("ok", 70, 0)
    assert store.count("documents") == 120


def test_reparse_reads_a_quarantined_line_or_file(ctx: CollectContext) -> None:
    collector = FilesCollector(_source(FIXTURES), ctx)
    fixed = b'{"id": "rpt-003", "title": "Defacement", "content": "Restored from backup."}'
    [item] = collector.reparse(fixed, "reports.jsonl#line:3")
    assert isinstance(item, Collected)
    assert item.document.title == "Defacement"
    assert item.document.id == Document.build(kind="record", title="", text="",
                                              key={"id": "rpt-003"}).id
    still_bad = list(collector.reparse(b'{"id": "rpt-003", "title": ', "reports.jsonl#line:3"))
    assert isinstance(still_bad[0], Rejected)
    [pdf] = collector.reparse(make_pdf(["Recovered text"]), "reports/summary.pdf")
    assert isinstance(pdf, Collected) and pdf.document.text == "Recovered text"


def test_detect_is_a_low_fallback(tmp_path: Path) -> None:
    assert FilesCollector.detect(str(tmp_path), b"") == 10
    assert FilesCollector.detect(str(FIXTURES / "advisory.html"), b"<!DOCTYPE html>") == 10
    assert FilesCollector.detect("https://example.org/report.pdf", b"%PDF-") == 0
    assert FilesCollector.detect(str(tmp_path / "missing.txt"), b"") == 0
