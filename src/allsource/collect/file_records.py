"""Record files: one document per JSON Lines line or CSV row.

Both readers walk an in-memory file (already size-capped by the caller) and yield a
:class:`~allsource.model.records.Collected` per good record and a
:class:`~allsource.model.records.Rejected` per bad one, whose ref names the file and the
record (``notes.jsonl#line:7``, ``people.csv#row:3``) so the rest of the file goes on.

Progress is written into the caller's ``progress`` dict *after* each item has been
yielded — ``offset``/``line`` for JSON Lines (the byte offset after the line), ``row`` for
CSV — so a checkpoint holding that dict never claims a record the runner has not received
(see :mod:`allsource.collect.runner`), and a resumed read starts at the next record instead
of the top of the file.

JSON Lines is the bulk path (the ingest benchmark pushes 100,000 records through it): lines
are found with ``bytes.find`` and parsed by orjson straight from bytes, with no per-line
decoding. A line is an object with ``title`` and ``text`` (or ``body``/``content``), and
optional ``url``, ``published`` (ISO 8601) and ``id``; a line with an ``id`` is keyed by it
(``{"id": …}``), so a changed line with the same id is the same document. Other keys go to
``meta``.

CSV: the dialect is sniffed from a sample (``csv.Sniffer``), the first non-empty row is the
header, and each row becomes ``column: value`` lines titled by its title/name/subject column
(else its first column). A row whose cell count differs from the header's is rejected.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from allsource.collect.extract_text import TITLE_MAX, first_line
from allsource.collect.inputs import decode_text
from allsource.errors import InputError
from allsource.model.markings import Marking
from allsource.model.records import Collected, Document, Rejected

_TEXT_KEYS = ("text", "body", "content")
_CORE_KEYS = frozenset({"title", "url", "published", "id", *_TEXT_KEYS})
_UNICODE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_TITLE_COLUMNS = ("title", "name", "subject")
_URL_COLUMNS = ("url", "link")
SNIFF_CHARS = 65536


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time (``Z`` allowed); naive times are taken as UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _scalar_text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _record_document(obj: dict[str, Any], n: int, sha: str, marking: Marking
                     ) -> Document | str:
    """The document for one JSON Lines object, or the reason it is unusable."""
    text = next((v for k in _TEXT_KEYS if isinstance(v := obj.get(k), str) and v.strip()), "")
    title = _scalar_text(obj.get("title")) or first_line(text)
    if not title and not text:
        return f"line {n}: the object has no title and no text/body/content string"
    rid = obj.get("id")
    has_id = isinstance(rid, str | int) and not isinstance(rid, bool) and rid != ""
    meta = {k: v for k, v in obj.items() if k not in _CORE_KEYS}
    published = parse_time(obj.get("published"))
    if published is None and obj.get("published") is not None:
        meta["published"] = obj["published"]  # kept, not silently dropped
    if has_id:
        meta["id"] = rid
    url = obj.get("url")
    return Document.build(
        kind="record", title=title[:TITLE_MAX], text=text,
        url=url if isinstance(url, str) and url else None, published_at=published,
        key={"id": rid} if has_id else None, media_type="application/x-ndjson",
        blob_sha256=sha, blob_ref=f"line:{n}", meta=meta, marking=marking)


def _jsonl_line(line: bytes, n: int, ref: str, sha: str, marking: Marking, max_item: int
                ) -> Collected | Rejected:
    where = f"{ref}#line:{n}"
    if len(line) > max_item:
        return Rejected(f"line {n}: {len(line)} bytes, over the {max_item}-byte item cap",
                        line[:max_item], where)
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Rejected(f"line {n}: invalid JSON ({exc})", line, where)
    if not isinstance(obj, dict):
        return Rejected(f"line {n}: expected a JSON object, got {type(obj).__name__}",
                        line, where)
    doc = _record_document(obj, n, sha, marking)
    if isinstance(doc, str):
        return Rejected(doc, line, where)
    return Collected(doc)


def jsonl_items(data: bytes, *, ref: str, sha: str, marking: Marking, max_item: int,
                progress: dict[str, Any]) -> Iterator[Collected | Rejected]:
    """Documents from JSON Lines ``data``, resuming at ``progress["offset"]``."""
    if data.startswith(_UNICODE_BOMS):  # UTF-16/32 lines: re-encode once, then as usual
        data = decode_text(data).encode("utf-8")
    pos = int(progress.get("offset", 0))
    n = int(progress.get("line", 0))
    if pos == 0 and data.startswith(b"\xef\xbb\xbf"):
        pos = 3
    size = len(data)
    find, loads_line = data.find, _jsonl_line
    while pos < size:
        end = find(b"\n", pos)
        if end < 0:
            end = size
        line = data[pos:end]
        n += 1
        pos = end + 1
        if line and not line.isspace():
            yield loads_line(line, n, ref, sha, marking, max_item)
        progress["offset"] = min(pos, size)
        progress["line"] = n


def _sniff(text: str) -> type[csv.Dialect] | csv.Dialect:
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _header(row: list[str]) -> list[str]:
    names: list[str] = []
    for i, cell in enumerate(row, 1):
        name = " ".join(cell.split()) or f"column {i}"
        names.append(name if name not in names else f"{name} ({i})")
    return names


def _row_raw(header: list[str], row: list[str], dialect: type[csv.Dialect] | csv.Dialect
             ) -> bytes:
    """Header + one row as a small CSV file: what a rejected row is quarantined as, so a
    retry can read it on its own."""
    buf = io.StringIO()
    writer = csv.writer(buf, dialect)
    writer.writerow(header)
    writer.writerow(row)
    return buf.getvalue().encode("utf-8")


class _CsvLayout:
    """Which columns title and link a row."""

    def __init__(self, header: list[str]) -> None:
        lower = [h.lower() for h in header]
        self.header = header
        self.title = next((i for name in _TITLE_COLUMNS for i, h in enumerate(lower)
                           if h == name), 0)
        self.url = next((i for name in _URL_COLUMNS for i, h in enumerate(lower)
                         if h == name), None)

    def document(self, row: list[str], n: int, sha: str, marking: Marking) -> Document:
        cells = {h: v.strip() for h, v in zip(self.header, row, strict=True)}
        title = row[self.title].strip() or next((v for v in cells.values() if v), f"row {n}")
        text = "\n".join(f"{h}: {v}" for h, v in cells.items() if v)
        link = row[self.url].strip() if self.url is not None else ""
        return Document.build(
            kind="record", title=first_line(title), text=text,
            url=link if link.startswith(("http://", "https://")) else None,
            media_type="text/csv", blob_sha256=sha, blob_ref=f"row:{n}", meta=cells,
            marking=marking)


def csv_items(data: bytes, *, ref: str, sha: str, marking: Marking,
              progress: dict[str, Any]) -> Iterator[Collected | Rejected]:
    """Documents from CSV ``data`` (one per row), resuming after ``progress["row"]``.

    Raises :class:`InputError` when the file is not text or the CSV breaks off (rows before
    the break have been yielded)."""
    text = decode_text(data)
    dialect = _sniff(text)
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    done = int(progress.get("row", 0))
    layout: _CsvLayout | None = None
    n = 0
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if layout is None:
                layout = _CsvLayout(_header(row))
                continue
            n += 1
            if n <= done:
                continue
            if len(row) != len(layout.header):
                yield Rejected(f"row {n}: expected {len(layout.header)} columns, got "
                               f"{len(row)}", _row_raw(layout.header, row, dialect),
                               f"{ref}#row:{n}")
            else:
                yield Collected(layout.document(row, n, sha, marking))
            progress["row"] = n
    except csv.Error as exc:
        raise InputError(f"malformed CSV after row {n} ({exc}); the rows after it were not "
                         "read") from exc
    if layout is None:
        raise InputError("the CSV file has no rows")
