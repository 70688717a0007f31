"""Circular-reporting detection: which reports of one claim are *independent*.

Twenty outlets repeating one wire story are one source of information, not twenty. Given
the documents that report a claim, :func:`origins` groups them into *origins* — sets of
reports that share one original — by joining two reports when

* **copy**: they are in the same story (near-duplicate text, see the ``stories`` stage);
* **same outlet**: they come from the same outlet (a source repeating itself; for GDELT
  mentions the outlet is the mentioning site, not the GDELT feed);
* **wire**: both attribute the text to the same wire service ("(Reuters) —", "Associated
  Press", "AFP", …) — a shared wire origin;
* **citation**: one links to the other's URL, or names the other's outlet as its source
  ("according to example.com", "as reported by …") — one report repeats the other. An
  outlet is known by its source name, its web host, and the names configured for the
  source (``allsource source add … -o names="The Packet Report"``).

Joins are transitive (union–find), and each origin keeps the reasons that joined it, so a
grade can be explained: "3 reports, 2 independent origins: A and B are copies (same story
S); C is independent". The number of origins is what corroboration counts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

#: wire services whose attribution in a text marks a shared origin
WIRES = {
    "reuters": "Reuters", "associated press": "Associated Press", "(ap)": "Associated Press",
    "agence france-presse": "AFP", "(afp)": "AFP", "afp —": "AFP", "xinhua": "Xinhua",
    "tass": "TASS", "interfax": "Interfax", "dpa": "dpa", "(ani)": "ANI", "(pti)": "PTI",
    "(efe)": "EFE", "ansa": "ANSA", "(upi)": "UPI", "kyodo": "Kyodo", "yonhap": "Yonhap",
    "anadolu": "Anadolu", "bloomberg": "Bloomberg",
}
_WIRE = re.compile("|".join(rf"(?<!\w){re.escape(k)}(?!\w)"
                            for k in sorted(WIRES, key=len, reverse=True)), re.IGNORECASE)
#: where a wire attribution counts: the first and last characters of a text (datelines,
#: bylines, credit lines), not a passing mention in the body
WIRE_WINDOW = 300
_CITE = re.compile(r"\b(?:according to|as reported by|reported by|citing|cited by|via|"
                   r"first reported by|source:)\s+(?:the\s+)?"
                   r"([\w.\-]+(?:\s+[\w.\-]+){0,4})", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Report:
    """One document reporting a claim, with what independence is judged from."""

    document_id: str
    outlet: str
    source_id: str = ""
    story_id: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    text: str = ""
    #: other names the outlet goes by (a source's configured ``names``)
    names: tuple[str, ...] = ()


@dataclass(slots=True)
class Origin:
    """Reports sharing one original; ``reasons`` say why they were joined."""

    reports: list[Report]
    reasons: list[str] = field(default_factory=list)

    @property
    def first(self) -> Report:
        return min(self.reports, key=lambda r: (_stamp(r.published_at), r.document_id))

    @property
    def outlets(self) -> list[str]:
        return sorted({r.outlet for r in self.reports})


def outlet_of(url: str | None, fallback: str) -> str:
    """An outlet name from a URL's host (``www.`` dropped), else ``fallback``."""
    if url:
        host = (urlsplit(url).hostname or "").lower()
        if host:
            return host.removeprefix("www.")
    return fallback


def wire_of(text: str) -> str | None:
    """The wire service a text credits in its dateline/byline/credit line, if any."""
    head, tail = text[:WIRE_WINDOW], text[-WIRE_WINDOW:]
    for part in (head, tail):
        if m := _WIRE.search(part):
            return WIRES[m.group(0).lower()]
    return None


def _norm_url(url: str) -> str:
    parts = urlsplit(url.strip().rstrip(".,;"))
    host = (parts.hostname or "").lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}"


def _squash(text: str) -> str:
    """A name without case, spaces, punctuation or a leading "the": "The Red Lantern",
    "red-lantern" and "redlantern" are one."""
    text = re.sub(r"^the\s+", "", text.strip().lower())
    return re.sub(r"[\W_]+", "", text)


def names_of(report: Report) -> set[str]:
    """What an outlet may be called in another text: its name, its web host and the host
    without its last label(s) ("cyberledger.example" → "cyberledger"), squashed."""
    names = {_squash(report.outlet), *(_squash(n) for n in report.names)}
    for host in (report.outlet if "." in report.outlet else "",
                 urlsplit(report.url).hostname or "" if report.url else ""):
        host = host.lower().removeprefix("www.")
        if host:
            names.add(_squash(host))
            labels = host.split(".")
            if len(labels) >= 2:
                names.add(_squash(labels[-2] if len(labels[-2]) > 3 or len(labels) < 3
                                  else labels[-3]))
    return {n for n in names if len(n) >= 4}


def _cites(a: Report, b: Report) -> str | None:
    """Why ``a`` repeats ``b`` (a link to b's URL, or naming b's outlet as its source)."""
    if b.url and a.text:
        target = _norm_url(b.url)
        if target and any(_norm_url(u) == target for u in _URL.findall(a.text)):
            return f"{a.document_id} links to {b.document_id}"
    if a.text and b.outlet and a.outlet != b.outlet:
        wanted = names_of(b)
        for m in _CITE.finditer(a.text):
            words = m.group(1).split()
            # the cited name is a prefix of the words after the cue ("according to Cyber
            # Ledger, which…"): compare each prefix, squashed, with b's names
            for k in range(1, len(words) + 1):
                if _squash(" ".join(words[:k])) in wanted:
                    return f"{a.document_id} cites {b.outlet}"
    return None


def _stamp(when: datetime | None) -> float:
    return when.timestamp() if when is not None else float("inf")


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, i: int, j: int) -> bool:
        a, b = self.find(i), self.find(j)
        if a == b:
            return False
        self.parent[max(a, b)] = min(a, b)
        return True


def origins(reports: Sequence[Report]) -> list[Origin]:
    """Group ``reports`` into independent origins (largest first, then earliest)."""
    reports = list({r.document_id: r for r in reports}.values())
    n = len(reports)
    union = _Union(n)
    why: list[tuple[int, int, str]] = []

    def link_by(key: str, value_of: dict[int, str | None]) -> None:
        first: dict[str, int] = {}
        for i in range(n):
            value = value_of[i]
            if not value:
                continue
            if value in first:
                j = first[value]
                if union.join(i, j):
                    why.append((i, j, key.format(value=value)))
            else:
                first[value] = i

    link_by("copies: same story {value}", {i: r.story_id for i, r in enumerate(reports)})
    link_by("same outlet: {value}", {i: r.outlet for i, r in enumerate(reports)})
    link_by("shared wire origin: {value}", {i: wire_of(r.text) for i, r in enumerate(reports)})
    for i, a in enumerate(reports):
        for j, b in enumerate(reports):
            if i != j and union.find(i) != union.find(j) and (reason := _cites(a, b)):
                union.join(i, j)
                why.append((i, j, f"citation: {reason}"))
    groups: dict[int, Origin] = {}
    for i, r in enumerate(reports):
        groups.setdefault(union.find(i), Origin([])).reports.append(r)
    for i, _, reason in why:
        groups[union.find(i)].reasons.append(reason)
    out = list(groups.values())
    out.sort(key=lambda o: (-len(o.reports), _stamp(o.first.published_at),
                            o.first.document_id))
    return out
