"""Helpers for the feed collector: the bytes a feed arrives as, the fields of its entries, and
the plain text a document keeps.

* :func:`ascii_view` re-encodes UTF-16/32 and EBCDIC input as UTF-8, so byte-level guards
  (binary check, DTD entity check) see the markup whatever the encoding — a UTF-16 billion
  laughs must not slip past a check that searches for ``<!ENTITY`` in ASCII.
* :func:`charset_headers` adds a detected charset for feeds that declare none (no BOM, no XML
  ``encoding=``, no HTTP charset) and are not UTF-8 — feedparser would otherwise decode a Big5
  or KOI8-R feed as windows-1252 mojibake. Declared encodings always win.
* feed HTML becomes plain text through :mod:`allsource.collect.htmltext`; feedparser's own
  regex-era sanitizer is not needed (and leaks script bodies from malformed tags).
* :func:`entry_text`, :func:`published`, :func:`tags` read a feedparser entry's fields.
* :func:`article_text` extracts the main text of a fetched article page with trafilatura
  (no network inside trafilatura: it only reads the bytes it is given).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import trafilatura
from charset_normalizer import from_bytes

from allsource.collect.htmltext import html_to_text, normalize_space
from allsource.collect.inputs import decode_text, xml_declared_encoding
from allsource.errors import InputError

_WIDE_PREFIXES = (
    (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
    (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"), (b"<\x00?\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),  # "<?xm" in EBCDIC
)
_BOM_PREFIXES = (b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe")
_CHARSET = re.compile(r"charset\s*=", re.IGNORECASE)
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _wide_codec(data: bytes) -> str | None:
    for prefix, codec in _WIDE_PREFIXES:
        if data.startswith(prefix):
            return codec
    return None


def ascii_view(data: bytes) -> bytes:
    """``data`` as UTF-8 when it is in an ASCII-incompatible encoding, else unchanged."""
    codec = _wide_codec(data)
    if codec is None:
        return data
    return data.decode(codec, errors="replace").lstrip("\ufeff").encode("utf-8")


def charset_headers(data: bytes, headers: Mapping[str, str]) -> dict[str, str]:
    """Headers for feedparser, with a detected charset when the feed declares none."""
    out = {k.lower(): v for k, v in headers.items()}
    content_type = out.get("content-type", "")
    declared = (_CHARSET.search(content_type) or xml_declared_encoding(data)
                or data.startswith(_BOM_PREFIXES) or _wide_codec(data))
    if declared:
        return out
    try:
        data.decode("utf-8")
        return out
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[:1_000_000]).best()
    if best is not None:
        out["content-type"] = f"application/xml; charset={best.encoding}"
    return out


def detail_text(value: str, detail: Mapping[str, Any] | None) -> str:
    """Plain text of a feedparser text construct (``title_detail``, ``content[i]`` …)."""
    kind = str((detail or {}).get("type") or "text/html").lower()
    if kind in _HTML_TYPES or kind.endswith(("/html", "+html")):
        return html_to_text(value)
    return normalize_space(value)


# -- entry fields (feedparser entries) ------------------------------------------------------

def entry_text(entry: Any) -> str:
    """The fullest text the feed carries for an entry: its longest content, else summary."""
    texts = [detail_text(str(c.get("value") or ""), c) for c in entry.get("content") or []]
    texts.append(detail_text(str(entry.get("summary") or ""), entry.get("summary_detail")))
    return max(texts, key=len)


def published(entry: Any) -> datetime | None:
    """Publication time (feedparser's parsed times are UTC ``struct_time``)."""
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(name)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (TypeError, ValueError, OverflowError, OSError):
                continue
    return None


def tags(entry: Any) -> list[str]:
    terms = (normalize_space(str(t.get("term") or t.get("label") or ""))
             for t in entry.get("tags") or [])
    return list(dict.fromkeys(t for t in terms if t))


def fallback_title(text: str, link: str) -> str:
    """A title for an untitled entry: its first line of text, else its link."""
    first = text.split("\n", 1)[0]
    if first:
        return first if len(first) <= 120 else first[:119].rstrip() + "…"
    return link


# -- article pages ----------------------------------------------------------------------------

def article_text(data: bytes, content_type: str, url: str) -> str:
    """Main text of an article page; raises :class:`InputError` when there is none."""
    mime = content_type.split(";")[0].strip().lower()
    if mime and mime not in _HTML_TYPES:
        raise InputError(f"{url} is {mime}, not an HTML page")
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.IGNORECASE)
    page = decode_text(data, match.group(1) if match else None)
    text = trafilatura.extract(page, url=url, include_comments=False, include_tables=True,
                               favor_precision=True, deduplicate=False)
    if not text or not text.strip():
        raise InputError(f"no article text found at {url}")
    return normalize_space(text)
