"""Text extraction for whole files, one small function per format.

Each extractor takes the raw bytes and the file name and returns an :class:`Extracted`
(title, text, media type, publication time, metadata), or raises
:class:`~allsource.errors.InputError` with a reason a user can act on (encrypted PDF, binary
data in a text file, invalid JSON …). :func:`extractor_for` picks one by extension and, for an
unknown extension, by sniffing the bytes: a PDF signature reads as PDF, text reads as plain
text, anything else is refused as an unsupported binary type.

* text / Markdown — encoding detection by :func:`~allsource.collect.inputs.decode_text`;
  title from the first line (a Markdown heading loses its ``#``).
* HTML — main text by trafilatura; when it finds no main content (short pages), a plain tag
  stripper that drops ``script``/``style``/``template`` content. Title from ``<title>``.
* PDF — pdfminer.six within a decompression budget and a page cap
  (:mod:`allsource.collect.pdftext`); title from the document info, else the first line.
* e-mail (RFC 5322) — stdlib :mod:`email` with ``policy.default``: subject as title, plain
  body preferred over HTML (tag-stripped), attachments listed by name but never parsed.
* JSON — one document: title from a ``title``/``name`` key, text a readable
  ``path: value`` flattening of every string value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import PurePosixPath
from typing import Any

import orjson
import trafilatura
from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfexceptions import PDFException
from pdfminer.pdftypes import resolve1
from pdfminer.psexceptions import PSException
from pdfminer.utils import decode_text as pdf_decode_text

from allsource.collect import pdftext
from allsource.collect.htmltext import html_title, html_to_text
from allsource.collect.inputs import decode_text, looks_binary
from allsource.errors import InputError

TITLE_MAX = 200
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9._\-]+)""", re.IGNORECASE)
_PDF_DATE = re.compile(r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?")
# pdfminer signals malformed input with its own exceptions but also with plain Python ones
# from deep inside its parser (a truncated xref gives KeyError/TypeError/IndexError …).
_PDF_ERRORS = (PDFException, PSException, ValueError, KeyError, TypeError, IndexError,
               AttributeError, AssertionError, RecursionError)


@dataclass(slots=True)
class Extracted:
    title: str
    text: str
    media_type: str
    published_at: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)


Extractor = Callable[[bytes, str], Extracted]


def first_line(text: str, limit: int = TITLE_MAX) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line[:limit]
    return ""


def _require_text(text: str, what: str) -> str:
    if not text.strip():
        raise InputError(f"{what} contains no text")
    return text


def plain_text(data: bytes, name: str) -> Extracted:
    text = _require_text(decode_text(data), "the text file")
    return Extracted(first_line(text) or name, text, "text/plain")


def markdown(data: bytes, name: str) -> Extracted:
    text = _require_text(decode_text(data), "the Markdown file")
    return Extracted(first_line(text).lstrip("#").strip() or name, text, "text/markdown")


def _strip_tags(html_text: str) -> tuple[str, str]:
    """``(title, text)`` of an HTML string by plain tag stripping."""
    return html_title(html_text), html_to_text(html_text)


def _main_text(html_text: str) -> str:
    """trafilatura's main text ('' when it finds no main content, e.g. a very short page)."""
    main = trafilatura.extract(html_text, include_comments=False, include_tables=True)
    return main.strip() if main else ""


def html(data: bytes, name: str) -> Extracted:
    declared = _META_CHARSET.search(data[:4096])
    source = decode_text(data, declared.group(1).decode("ascii") if declared else None)
    title, stripped = _strip_tags(source)
    text = _require_text(_main_text(source) or stripped, "the HTML page")
    return Extracted(title or first_line(text) or name, text, "text/html")


def _pdf_info(doc: PDFDocument) -> dict[str, Any]:
    """The PDF document-info dictionary as strings."""
    info: dict[str, Any] = {}
    for entry in doc.info:
        for key, value in entry.items():
            value = resolve1(value)
            if isinstance(value, bytes):
                info[key] = pdf_decode_text(value).strip()
            elif isinstance(value, str):
                info[key] = value.strip()
    return info


def _pdf_date(value: str) -> datetime | None:
    m = _PDF_DATE.match(value)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(p) if p else dflt
                          for p, dflt in zip(m.groups(), (0, 1, 1, 0, 0, 0), strict=True))
    try:
        return datetime(y, mo, d, h, mi, s, tzinfo=UTC)
    except ValueError:
        return None


def pdf(data: bytes, name: str) -> Extracted:
    try:
        doc, got = pdftext.extract(data)  # bounded: a decompression budget and a page cap
        info = _pdf_info(doc)
    except pdftext.OverBudget:
        raise
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise InputError("the PDF is encrypted and cannot be read without its password"
                         ) from exc
    except _PDF_ERRORS as exc:
        raise InputError(f"the PDF is damaged or truncated ({type(exc).__name__}: {exc})"[:300]
                         ) from exc
    text = got.text.replace("\x0c", "\n").strip()
    _require_text(text, "the PDF (it may be a scanned image; OCR it first)")
    meta: dict[str, Any] = {k.lower(): v for k, v in info.items() if k in (
        "Title", "Author", "Subject", "Creator", "Producer")}
    if got.truncated:
        meta["truncated"] = f"only the first {got.pages} pages were read"
    published = _pdf_date(info.get("CreationDate", ""))
    return Extracted(info.get("Title") or first_line(text) or name, text, "application/pdf",
                     published, meta)


def _email_date(msg: EmailMessage) -> datetime | None:
    raw = msg.get("Date")
    if raw is None:
        return None
    try:
        when = parsedate_to_datetime(str(raw))
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _email_body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):
        payload = part.get_payload(decode=True)
        content = decode_text(payload) if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    # An e-mail body has no page furniture to remove: plain tag stripping keeps all of it.
    return _strip_tags(content)[1] if part.get_content_type() == "text/html" else content.strip()


def eml(data: bytes, name: str) -> Extracted:
    msg = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(msg, EmailMessage)  # guaranteed by policy.default
    subject = " ".join(str(msg.get("Subject", "")).split())
    text = _email_body(msg)
    if not subject and not text:
        raise InputError("the e-mail has neither a subject nor a text body")
    attachments = [part.get_filename() or part.get_content_type()
                   for part in msg.iter_attachments()]
    meta: dict[str, Any] = {k.lower(): str(msg[k]) for k in ("From", "Date", "Message-ID")
                            if msg.get(k) is not None}
    if attachments:
        meta["attachments"] = attachments
    return Extracted(subject or first_line(text) or name, text, "message/rfc822",
                     _email_date(msg), meta)


def _flatten(value: Any) -> list[str]:
    """``path: value`` lines for every string inside a JSON value (iterative: no recursion
    limit to hit on deep documents)."""
    lines: list[str] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if item.strip():
                lines.append(f"{path}: {item.strip()}" if path else item.strip())
        elif isinstance(item, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v)
                         for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend((path, v) for v in reversed(item))
    return lines


def json_document(data: bytes, name: str) -> Extracted:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            value = orjson.loads(decode_text(data))
        except orjson.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc}") from exc
    text = _require_text("\n".join(_flatten(value)), "the JSON document")
    title = ""
    if isinstance(value, dict):
        title = next((value[k].strip() for k in ("title", "name")
                      if isinstance(value.get(k), str) and value[k].strip()), "")
    return Extracted(title[:TITLE_MAX] or PurePosixPath(name).stem or name, text,
                     "application/json")


EXTRACTORS: dict[str, Extractor] = {
    ".txt": plain_text, ".text": plain_text, ".log": plain_text,
    ".md": markdown, ".markdown": markdown,
    ".html": html, ".htm": html, ".xhtml": html,
    ".pdf": pdf,
    ".eml": eml,
    ".json": json_document,
}


def extractor_for(name: str, data: bytes) -> Extractor:
    """The extractor for a file: by extension, else by sniffing its bytes."""
    found = EXTRACTORS.get(PurePosixPath(name).suffix.lower())
    if found is not None:
        return found
    if data.startswith(b"%PDF-"):
        return pdf
    if looks_binary(data):
        raise InputError("unsupported binary file type")
    return plain_text
