"""Highlighting a document's mentions without ever turning its text into markup.

The store gives each mention as a character span ``[start, end)`` with the object it names;
spans count in the text the processing stages read, ``title + "\n" + text``
(:attr:`allsource.process.base.Work.full_text`), so the body's spans start after the title.
:func:`segments` cuts the text into plain :class:`Segment` pieces — each
either unmarked text or one mention with its object's ID and type — and the template renders
every piece through Jinja2's autoescaping, wrapping mentions in a link it builds itself. No
HTML is assembled from strings here, so nothing in a document (tags, quotes, ``{{ }}``) can
become markup or template code.

Overlapping mentions (an URL that contains a domain, a name inside a longer name) keep the one
that starts first, and of those the longest; spans outside the text are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    object_id: str | None = None
    object_type: str | None = None
    name: str | None = None


def segments(text: str, mentions: Iterable[Mapping[str, Any]], offset: int = 0
             ) -> list[Segment]:
    """Split ``text`` into unmarked and mentioned pieces (mentions as the store's document
    view lists them: ``{"id", "type", "name", "span": [start, end] | None}``, their spans
    ``offset`` characters ahead of ``text``)."""
    spans = []
    for m in mentions:
        span = m.get("span")
        if not span:
            continue
        start, end = int(span[0]) - offset, int(span[1]) - offset
        if 0 <= start < end <= len(text):
            spans.append((start, -end, m))
    out: list[Segment] = []
    pos = 0
    for start, neg_end, m in sorted(spans, key=lambda s: (s[0], s[1])):
        end = -neg_end
        if start < pos:
            continue
        if start > pos:
            out.append(Segment(text[pos:start]))
        out.append(Segment(text[start:end], str(m["id"]), str(m.get("type") or ""),
                           str(m.get("name") or "")))
        pos = end
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return out

