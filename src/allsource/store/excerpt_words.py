"""Search excerpts cut on word boundaries.

Both excerpt cutters count *index words* — letters and digits, as the full-text indexes split
them (FTS5's ``snippet()``, store/excerpts.py; the stem highlighter, store/blind.py) — so an
excerpt may begin or end inside what a reader sees as one word: ``…mail from`` of
``e-mail from``, ``…28's`` of ``APT28's``, ``www.example`` of ``www.example.org``. This
widens each cut end to the next whitespace of the text it was cut from, by at most
:data:`MAX_WIDEN` characters (a 300-character token, say a hash run, is cut there instead).

The excerpt's plain text (markers and ``…`` removed) is looked up in the title and the text
(``str.find``: the excerpt is a verbatim slice with markers inserted, except the stem
highlighter's ``title — text`` form, looked up in that form); an excerpt not found verbatim
(whitespace rewritten) is returned as it was. Cost: one ``find`` per shown hit.
"""

from __future__ import annotations

__all__ = ["ELLIPSIS", "MAX_WIDEN", "whole_words"]

#: characters an end is widened by at most
MAX_WIDEN = 40
ELLIPSIS = "…"


def _plain(excerpt: str, start: str, end: str) -> str:
    return excerpt.replace(start, "").replace(end, "")


def whole_words(excerpt: str, title: str | None, text: str | None, start: str,
                end: str) -> str:
    """``excerpt`` (cut from ``title`` or ``text``, matches wrapped in ``start``/``end``,
    cut ends marked ``…``) with each cut end moved out to the whitespace around it."""
    if not excerpt:
        return excerpt
    lead = excerpt.startswith(ELLIPSIS)
    tail = excerpt.endswith(ELLIPSIS) and len(excerpt) > 1
    if not lead and not tail:
        return excerpt
    inner = excerpt[1 if lead else 0:len(excerpt) - (1 if tail else 0)]
    plain = _plain(inner, start, end)
    if not plain.strip():
        return excerpt
    source, at = "", -1
    for candidate in (text or "", title or "", f"{title} — {text}" if title else ""):
        if candidate and (at := candidate.find(plain)) >= 0:
            source = candidate
            break
    if at < 0:
        return excerpt
    before = after = ""
    if lead and at > 0 and not source[at - 1].isspace():
        j = at - 1
        while j > 0 and at - j < MAX_WIDEN and not source[j - 1].isspace():
            j -= 1
        if j == 0 or source[j - 1].isspace():
            before = source[j:at]
            lead = j > 0
        else:  # no whitespace near: drop the partial word instead
            cut = inner.find(" ")
            if cut > 0 and start not in inner[:cut] and end not in inner[:cut]:
                inner = inner[cut + 1:]
    stop = at + len(plain)
    if tail and stop < len(source) and not source[stop].isspace():
        k = stop
        while k < len(source) and k - stop < MAX_WIDEN and not source[k].isspace():
            k += 1
        if k == len(source) or source[k].isspace():
            after = source[stop:k]
            tail = k < len(source)
        else:
            cut = inner.rfind(" ")
            if cut > 0 and start not in inner[cut:] and end not in inner[cut:]:
                inner = inner[:cut]
    return (ELLIPSIS if lead else "") + before + inner + after + (ELLIPSIS if tail else "")
