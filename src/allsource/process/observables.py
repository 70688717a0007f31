"""Fast observable (IOC) extraction from free text, defanged forms included.

Extractors propose, the value types decide: every candidate goes through
:func:`allsource.model.types.clean`, and only what it accepts becomes a :class:`Found`, with the
cleaned value and the character span of the raw (possibly defanged) match in the input.

How it stays fast — a handful of linear scans, each run only when a cheap test says it can hit,
and Python work only on candidates (~20–25 MB/s per core on report text, ~25× ioc-finder; see
``benchmarks/iocs.py``):

1. **Refang with an offset map.** One regex, whose first character must be ``[``, ``(`` or
   ``{``, finds bracket defangs (``[.]``, ``(.)``, ``{.}``, ``[dot]``, ``[@]``, ``(at)``, ``[:]``,
   ``[://]``, ``[/]``, with the spaces reports put around them, a Markdown escape ``\\[.]`` or a
   doubled dot ``[.].``). If any matched, the scans run on a refanged copy and every span is
   mapped back to the original text (:class:`_OffsetMap`); otherwise the text is used as is.
   Defanged schemes (``hxxp``, ``hXXps``, ``fxp``) have the length of the real ones, so the URL
   scan simply accepts them before ``://``.
2. **Scans.** ``://``, ``@`` and ``.`` are literal searches expanded around each hit (URLs,
   e-mails, and ``label(.label)+`` tokens, which give IPv4, CIDR, domains and file names; the
   label left of a dot is read on the reversed text). Hash and bitcoin candidates are runs of
   hex / base58 characters, found on the bytes mapped through ``bytes.translate`` (a prefilter
   for any text, the scan itself for ASCII text). IPv6 starts at ``:`` + hex, registry keys at
   ``HK``, ASNs at ``AS``, CVE IDs at ``CVE``; ATT&CK IDs have one regex starting with one of six
   capitals. Every regex is linear — bounded, possessive quantifiers, no nested ambiguity — so
   nothing backtracks on a line of dots or nested brackets.
3. **Decide.** A dotted token is an IPv4 (CIDR with a ``/n`` suffix), a file name (its last
   label is a known file extension, or it follows a ``\\`` in a Windows path) or a domain (its
   last label is an IANA TLD, read from the ``tlds`` MISP warninglist). Names that are both
   (``.zip``, ``.py``, ``.sh``, ``.so``, ``.md``) are file names unless they were defanged,
   which only a network indicator ever is; ``.com`` is a domain outside paths. A mixed-case
   name with a capitalised TLD (``System.Net``) is a code identifier, not a domain, unless
   defanged. Candidates then go through the value types; their answers are memoised (a bounded
   LRU cache: the same host or hash recurs across a report and across a feed).
4. **Overlaps.** Anything inside a URL, e-mail, registry key or CIDR span is dropped (the host
   of a URL is not also a domain), except hashes and CVE IDs, which stay meaningful inside a URL
   path. Hex runs count only at their full length, so no MD5 is reported inside a SHA-256.

``extract_observables(text, types)`` equals the full result filtered to ``types``: the
container scans run whenever a requested type could sit inside a container.
"""

from __future__ import annotations

import importlib.util
import json
import re
import string
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from allsource.model.types import clean

__all__ = ["FILE_EXTENSIONS", "TYPES", "Found", "extract_observables"]

TYPES: frozenset[str] = frozenset({
    "ipv4", "ipv6", "cidr", "domain", "url", "email", "md5", "sha1", "sha256", "sha512",
    "cve", "attack-id", "asn", "btc", "filename", "regkey",
})

_EXTENSION_WORDS = (
    "exe dll sys scr bat cmd ps1 psm1 vbs vbe js jse wsf jar doc docx docm dot dotm xls xlsx "
    "xlsm xlsb ppt pptx pptm rtf pdf one zip rar 7z gz tgz tar cab lnk hta iso img vhd vhdx msi "
    "elf so apk dmg deb rpm ocx cpl drv tmp dat bin txt log ini php aspx asp jsp py sh pl md "
    "html htm chm xll iqy slk inf pif dylib dmp hiv evtx pst")
FILE_EXTENSIONS: frozenset[str] = frozenset(_EXTENSION_WORDS.split())

# Technology names that look like file names or domains in prose.
_NOT_OBSERVABLES = frozenset({
    "node.js", "vue.js", "next.js", "nuxt.js", "react.js", "angular.js", "ember.js", "d3.js",
    "three.js", "chart.js", "express.js", "asp.net", "vb.net", "ado.net",
})

_CONTAINERS = frozenset({"url", "email", "regkey", "cidr"})
_KEPT_INSIDE = frozenset({"md5", "sha1", "sha256", "sha512", "cve"})
_HASH_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
_MAX_TOKEN = 253

# --- defanging -----------------------------------------------------------------------------
_DEFANG = re.compile(r"[\[({]\s?(\.|dot|DOT|@|at|AT|:|://|:/|/)\s?[\])}]\s?")
_BRACKET_VALUE = {".": ".", "dot": ".", "DOT": ".", "@": "@", "at": "@", "AT": "@",
                  ":": ":", "://": "://", ":/": ":/", "/": "/"}

# --- scans ---------------------------------------------------------------------------------
_LABEL_CHARS = "A-Za-z0-9_~$-"
_LABEL = rf"[{_LABEL_CHARS}]{{1,63}}+"
_DOT = re.compile(rf"\.(?=[{_LABEL_CHARS}])")
_LABEL_REVERSED = re.compile(rf"[{_LABEL_CHARS}]{{1,64}}+")
_TOKEN = re.compile(rf"{_LABEL}(?:\.{_LABEL})++")
_NOT_BEFORE_TOKEN = frozenset(string.ascii_letters + string.digits + "_~$-@.")
_CIDR_SUFFIX = re.compile(r"/(\d{1,3})(?!\d)(?!\.\d)")
_URL = re.compile(
    r"://([^\s<>\"'`{}|\\^\[\]\u2018-\u201f\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]{1,2048}+)")
# Scheme as written (defanged ones too: same length, so no offset change) → scheme.
_URL_SCHEMES = {"https": "https", "http": "http", "hxxps": "https", "hxxp": "http",
                "sftp": "sftp", "ftp": "ftp", "fxp": "ftp", "wss": "wss", "ws": "ws"}
_URL_TRAILING = frozenset(".,;:!?*'\")")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9._%+=-]{1,64}\Z")
_HEX = re.compile(r"[0-9A-Fa-f]{32,}+")
_V6 = re.compile(r"[0-9A-Fa-f]{0,4}+:[0-9A-Fa-f:.]{2,45}+")
# Case-sensitive, one pattern per spelling, so each scan is a literal search for its prefix.
_CVE_TAIL = r"[\s_\u2010-\u2014\u00ad-]{1,3}(\d{4})[\s_\u2010-\u2014\u00ad-]{1,3}(\d{4,7})(?!\d)"
_CVES = tuple(re.compile(prefix + _CVE_TAIL) for prefix in ("CVE", "cve", "Cve"))
_ATTACK = re.compile(r"[TGSMDC](?:1\d{3}(?:\.\d{3})?|A0\d{3}|[01]\d{3}|S0\d{3}|0\d{3})")
_ATTACK_SHAPE = re.compile(
    r"T1\d{3}(?:\.\d{3})?|TA0\d{3}|[GS][01]\d{3}|M1\d{3}|DS0\d{3}|C0\d{3}")
_ASN = re.compile(r"AS(?:N ?:?)? ?(\d{1,10})(?!\d)(?!\.\d)")
_B58 = re.compile(r"[1-9A-HJ-NP-Za-km-z]{26,}+")
_BTC_BECH32 = re.compile(r"bc1[02-9ac-hj-np-z]{11,71}+")
_REGKEY = re.compile(
    r"HK(?:EY_(?:LOCAL_MACHINE|CURRENT_USER|CLASSES_ROOT|USERS|CURRENT_CONFIG)|LM|CU|CR|U|CC)"
    r":?(?:\\[^\\\s\"'`<>|,;*?]{0,255}+(?: [A-Z0-9%{][^\\\s\"'`<>|,;*?]{0,255}+)*+){1,64}+")
_WORD_CHARS = frozenset(string.ascii_letters + string.digits + "_")
_HEX_CHARS = "0123456789abcdefABCDEF"


def _run_table(chars: str) -> bytes:
    """A bytes.translate table: ``chars`` → ``x``, every other byte → space."""
    table = bytearray(b" " * 256)
    for c in chars.encode():
        table[c] = ord("x")
    return bytes(table)


# Hex and base58 runs are found on the UTF-8 bytes mapped to "x"/" " (``bytes.translate``, then
# a literal search): a prefilter for any text, and the scan itself when the text is ASCII (byte
# offsets are then character offsets).
_HEX_TABLE = _run_table(_HEX_CHARS)
_B58_TABLE = _run_table("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class Found:
    """One observable in a text: its value type, cleaned value and raw span."""

    type: str
    value: str
    start: int
    end: int
    raw: str


# A candidate in the (possibly refanged) scan text, before cleaning: (type, candidate, start,
# end). Plain tuples: there are tens of thousands per megabyte.
_Hit = tuple[str, str, int, int]


class _OffsetMap:
    """Maps offsets in a refanged text back to the original text."""

    def __init__(self, segments: list[tuple[int, int, int, int]]) -> None:
        # (orig_start, orig_end, new_start, new_end) for each replacement, in order.
        self.orig_a = [s[0] for s in segments]
        self.orig_b = [s[1] for s in segments]
        self.new_a = [s[2] for s in segments]
        self.new_b = [s[3] for s in segments]

    def start(self, x: int) -> int:
        i = bisect_right(self.new_a, x) - 1
        if i < 0:
            return x
        if x < self.new_b[i]:
            return self.orig_a[i]
        return x + self.orig_b[i] - self.new_b[i]

    def end(self, x: int) -> int:
        i = bisect_left(self.new_a, x) - 1
        if i < 0:
            return x
        if x <= self.new_b[i]:
            return self.orig_b[i]
        return x + self.orig_b[i] - self.new_b[i]

    def defanged(self, a: int, b: int) -> bool:
        """Whether the refanged span [a, b) touches a replacement."""
        i = bisect_left(self.new_b, a + 1)
        return i < len(self.new_a) and self.new_a[i] < b


def _refang(text: str) -> tuple[str, _OffsetMap | None]:
    """Return the text with defangs undone, and the offset map (``None`` if nothing changed)."""
    edits: list[tuple[int, int, str]] = []
    for m in _DEFANG.finditer(text):
        a, b = m.span()
        value = _BRACKET_VALUE[m.group(1)]
        if a >= 1 and text[a - 1] == "\\":
            a -= 1  # "evil\[.]ru": a bracket escaped for Markdown
        elif value in ".@" and a >= 2 and text[a - 1] == " " and text[a - 2] != " ":
            a -= 1  # "example [.] com": the space before the bracket goes too
        if value in ".@" and text[b:b + 1] == value:
            b += 1  # "dart18[.].com": a doubled separator
        elif text[b - 1].isspace() and value not in ".@":
            b -= 1  # keep the space after "[:]", "[/]"
        edits.append((a, b, value))
    if not edits:
        return text, None
    parts: list[str] = []
    segments: list[tuple[int, int, int, int]] = []
    pos = new_len = 0
    for a, b, value in edits:
        if a < pos:
            continue  # overlapping edits: keep the first
        parts.append(text[pos:a])
        new_len += a - pos
        parts.append(value)
        segments.append((a, b, new_len, new_len + len(value)))
        new_len += len(value)
        pos = b
    parts.append(text[pos:])
    return "".join(parts), _OffsetMap(segments)


# --- URLs, e-mails -------------------------------------------------------------------------
def _trim_url(body: str) -> str:
    """Drop trailing punctuation and unbalanced closing brackets from a URL body."""
    while body:
        last = body[-1]
        if (last in _URL_TRAILING and last != ")") or (
                last == ")" and body.count("(") < body.count(")")):
            body = body[:-1]
        else:
            break
    return body


def _urls(s: str, out: list[_Hit]) -> None:
    for m in _URL.finditer(s):
        p = m.start()
        tail = s[max(0, p - 5):p].lower()
        for k in (5, 4, 3, 2):
            scheme = _URL_SCHEMES.get(tail[-k:])
            if scheme is not None and len(tail) >= k:
                break
        else:
            continue
        a = p - k
        if a > 0 and s[a - 1] in _WORD_CHARS:
            continue
        body = m.group(1)
        if body[-1] in _URL_TRAILING:
            body = _trim_url(body)
            if not body:
                continue
        b = p + 3 + len(body)
        out.append(("url", f"{scheme}://{body}", a, b))


def _emails(s: str, out: list[_Hit]) -> None:
    p = s.find("@")
    while p != -1:
        local = _EMAIL_LOCAL.search(s, max(0, p - 64), p)
        host = _TOKEN.match(s, p + 1)
        nxt = p + 1
        if local and host:
            a = local.start()
            while a < p and s[a] == ".":
                a += 1
            if a < p:
                out.append(("email", s[a:host.end()], a, host.end()))
                nxt = host.end()
        p = s.find("@", nxt)


# --- dotted tokens: IPv4, CIDR, domains, file names ----------------------------------------
def warninglists_dir() -> Path:
    """The ``lists`` folder shipped in ``pymispwarninglists``, found without importing the
    package (its import pulls in its whole API, ~1 s)."""
    spec = importlib.util.find_spec("pymispwarninglists")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pymispwarninglists is needed for TLDs and warninglists")
    return Path(next(iter(spec.submodule_search_locations))) / "data/misp-warninglists/lists"


@lru_cache(maxsize=1)
def _tlds() -> frozenset[str]:
    """IANA top-level domains, from the ``tlds`` list shipped with pymispwarninglists."""
    data = json.loads((warninglists_dir() / "tlds" / "list.json").read_text(encoding="utf-8"))
    return frozenset(str(t).lower() for t in data["list"])


def _dotted(s: str, omap: _OffsetMap | None, out: list[_Hit]) -> None:
    """Tokens ``label(.label)+``: found from their first inner dot, whose left label is read
    on the reversed text, so the scan itself is a literal search for ``.``."""
    n = len(s)
    rev = s[::-1]
    tlds = _tlds()
    pos = 0
    for d in _DOT.finditer(s):
        p = d.start()
        if p < pos:
            continue  # inside the token just read
        left = _LABEL_REVERSED.match(rev, n - p)
        if left is None:
            continue
        a = p - left.end() + (n - p)
        if a > 0 and s[a - 1] in _NOT_BEFORE_TOKEN and not _wildcard_dot(s, a):
            continue  # inside a longer word, or after "@" (an e-mail's host) or a dot
        m = _TOKEN.match(s, a)
        if m is None:
            continue
        pos = m.end()
        _classify(s, m.group(), a, pos, omap, tlds, out)


def _wildcard_dot(s: str, a: int) -> bool:
    """``*.example.com``, `` .example.com``: a dot that starts a name, not one inside it."""
    return s[a - 1] == "." and (a < 2 or s[a - 2] not in _NOT_BEFORE_TOKEN)


def _classify(s: str, token: str, a: int, b: int, omap: _OffsetMap | None,
              tlds: frozenset[str], out: list[_Hit]) -> None:
    if b - a > _MAX_TOKEN:
        return
    last = token[token.rfind(".") + 1:]
    if last.isdigit():
        _ip_token(s, token, a, b, out)
        return
    ext = last.lower()
    if ext not in tlds and ext not in FILE_EXTENSIONS:
        return
    if token.lower() in _NOT_OBSERVABLES:
        return
    defanged = omap is not None and omap.defanged(a, b)
    in_path = a > 0 and s[a - 1] == "\\"  # C:\Temp\mskmde.com: a file, whatever its suffix
    if in_path or (ext in FILE_EXTENSIONS and not (defanged and ext in tlds)):
        out.append(("filename", token, a, b))
    elif ext in tlds and (defanged or not _code_identifier(token, last)):
        out.append(("domain", token, a, b))


def _code_identifier(token: str, last: str) -> bool:
    """``System.Net``, ``Microsoft.Office``: a capitalised TLD in a mixed-case name."""
    return not last.islower() and not token.isupper() and any(c.isupper() for c in last)


def _ip_token(s: str, token: str, a: int, b: int, out: list[_Hit]) -> None:
    if token.count(".") != 3:
        return
    m = _CIDR_SUFFIX.match(s, b)
    if m and int(m.group(1)) <= 32:
        out.append(("cidr", s[a:m.end()], a, m.end()))
    else:
        out.append(("ipv4", token, a, b))


def _ipv6(s: str, out: list[_Hit]) -> None:
    p = s.find(":")
    while p != -1:
        nxt = p + 1
        if p + 1 < len(s) and (s[p + 1] == ":" or s[p + 1] in _HEX_CHARS):
            a = p
            while a > 0 and p - a < 4 and s[a - 1] in _HEX_CHARS:
                a -= 1
            m = _V6.match(s, a)
            if m and not (a > 0 and (s[a - 1] in _WORD_CHARS or s[a - 1] in ":.")):
                _v6_candidate(s, m.group().rstrip("."), a, out)
                nxt = m.end()
        p = s.find(":", nxt)


def _v6_candidate(s: str, cand: str, a: int, out: list[_Hit]) -> None:
    if cand.count(":") < 2:
        return
    b = a + len(cand)
    m = _CIDR_SUFFIX.match(s, b)
    if m and int(m.group(1)) <= 128:
        out.append(("cidr", s[a:m.end()], a, m.end()))
    else:
        out.append(("ipv6", cand, a, b))


# --- identifiers ---------------------------------------------------------------------------
def _bounded(s: str, a: int, b: int) -> bool:
    """No word character right before ``a`` or right after ``b``."""
    return (a == 0 or s[a - 1] not in _WORD_CHARS) and (b >= len(s) or s[b] not in _WORD_CHARS)


def _runs(s: str, data: bytes, table: bytes, shortest: int,
          fallback: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """Spans of runs of at least ``shortest`` of the table's characters: ``bytes.find`` on the
    mapped bytes if ``s`` is ASCII (byte offsets are character offsets), else a regex on ``s``."""
    mapped = data.translate(table)
    needle = b"x" * shortest
    a = mapped.find(needle)
    if a == -1:
        return
    if len(data) != len(s):
        for m in fallback.finditer(s):
            yield m.span()
        return
    while a != -1:
        b = mapped.find(b" ", a + shortest)
        b = len(mapped) if b == -1 else b
        yield a, b
        a = mapped.find(needle, b)


def _hashes(s: str, data: bytes, out: list[_Hit]) -> None:
    for a, b in _runs(s, data, _HEX_TABLE, 32, _HEX):
        kind = _HASH_BY_LENGTH.get(b - a)
        if kind and _bounded(s, a, b):
            out.append((kind, s[a:b], a, b))


def _cves(s: str, out: list[_Hit]) -> None:
    for pattern in _CVES:
        if pattern.pattern[:3] not in s:
            continue
        for m in pattern.finditer(s):
            a, b = m.span()
            if a == 0 or s[a - 1] not in _WORD_CHARS:
                out.append(("cve", f"CVE-{m.group(1)}-{m.group(2)}", a, b))


def _attack_ids(s: str, out: list[_Hit]) -> None:
    for m in _ATTACK.finditer(s):
        a, b = m.span()
        ident = m.group()
        if _ATTACK_SHAPE.fullmatch(ident) is None or not _bounded(s, a, b):
            continue
        if s[b:b + 1] == "." and s[b + 1:b + 2].isdigit():
            continue  # "T1059.0", "S0001.5": not an ID on its own
        if a == 0 or s[a - 1] != ".":
            out.append(("attack-id", ident, a, b))


def _asns(s: str, out: list[_Hit]) -> None:
    for m in _ASN.finditer(s):
        a, b = m.span()
        if _bounded(s, a, b):
            out.append(("asn", f"AS{m.group(1)}", a, b))


def _bitcoin(s: str, data: bytes, out: list[_Hit]) -> None:
    for a, b in _runs(s, data, _B58_TABLE, 26, _B58):
        if s[a] in "13" and b - a <= 35 and _bounded(s, a, b):
            out.append(("btc", s[a:b], a, b))
    if "bc1" in s:
        for m in _BTC_BECH32.finditer(s):
            a, b = m.span()
            if _bounded(s, a, b):
                out.append(("btc", m.group(), a, b))


def _regkeys(s: str, out: list[_Hit]) -> None:
    for m in _REGKEY.finditer(s):
        a = m.start()
        if a > 0 and s[a - 1] in _WORD_CHARS:
            continue
        key = _trim_regkey(m.group())
        if "\\" in key:
            out.append(("regkey", key, a, a + len(key)))


def _trim_regkey(key: str) -> str:
    """Keep spaces inside a key's middle components, not words after its last component."""
    head, sep, last = key.rpartition("\\")
    last = last.split(" ", 1)[0]
    key = head + sep + last
    while key and key[-1] in ".:)]":
        key = key[:-1]
    return key


# --- assembly ------------------------------------------------------------------------------
def _wanted(types: Collection[str] | None) -> frozenset[str]:
    if types is None:
        return TYPES
    unknown = set(types) - TYPES
    if unknown:
        raise ValueError(f"unknown observable types: {sorted(unknown)}; known: {sorted(TYPES)}")
    wanted = frozenset(types)
    if wanted - _KEPT_INSIDE:  # containers decide what survives inside them
        wanted |= _CONTAINERS
    return wanted


def _scan(s: str, wanted: frozenset[str], omap: _OffsetMap | None) -> list[_Hit]:
    """Run every scan that can produce a wanted type and whose prefilter passes."""
    out: list[_Hit] = []
    if "url" in wanted and "://" in s:
        _urls(s, out)
    if "email" in wanted and "@" in s:
        _emails(s, out)
    if wanted & _DOTTED_TYPES and "." in s:
        _dotted(s, omap, out)
    if wanted & {"ipv6", "cidr"} and ":" in s:
        _ipv6(s, out)
    data = s.encode("utf-8", "surrogatepass")
    if wanted & _HASH_TYPES:
        _hashes(s, data, out)
    if "btc" in wanted:
        _bitcoin(s, data, out)
    if "cve" in wanted:
        _cves(s, out)
    if "attack-id" in wanted:
        _attack_ids(s, out)
    if "asn" in wanted and "AS" in s:
        _asns(s, out)
    if "regkey" in wanted and "HK" in s:
        _regkeys(s, out)
    return out


_DOTTED_TYPES = frozenset({"ipv4", "cidr", "domain", "filename"})
_HASH_TYPES = frozenset(_HASH_BY_LENGTH.values())


def _outermost(containers: list[_Hit]) -> list[_Hit]:
    """Containers not inside another container (an e-mail inside a URL is dropped)."""
    containers.sort(key=lambda h: (h[2], -h[3]))
    kept: list[_Hit] = []
    reach = -1
    for h in containers:
        if h[3] > reach:
            kept.append(h)
            reach = h[3]
    return kept


def _outside(hits: list[_Hit], boxes: list[_Hit]) -> list[_Hit]:
    """Hits not inside a box, except the types that stay meaningful inside one (hashes)."""
    if not boxes:
        return hits
    starts = [b[2] for b in boxes]
    reach: list[int] = []
    furthest = -1
    for b in boxes:
        furthest = max(furthest, b[3])
        reach.append(furthest)
    kept = []
    for h in hits:
        if h[0] not in _KEPT_INSIDE:
            i = bisect_right(starts, h[2]) - 1
            if i >= 0 and reach[i] >= h[3]:
                continue
        kept.append(h)
    return kept


_clean = lru_cache(maxsize=1 << 14)(clean)


def extract_observables(text: str, types: Collection[str] | None = None) -> list[Found]:
    """Find observables in ``text``, refanged and cleaned by their value types, by start."""
    wanted = _wanted(types)
    s, omap = _refang(text)
    hits = _scan(s, wanted, omap)
    boxes = _outermost([h for h in hits if h[0] in _CONTAINERS and _clean(h[0], h[1])])
    others = _outside([h for h in hits if h[0] not in _CONTAINERS], boxes)
    found: list[Found] = []
    for kind, candidate, a, b in (*boxes, *others):
        if types is not None and kind not in types:
            continue
        value = _clean(kind, candidate)
        if value is None:
            continue
        if omap is not None:
            a, b = omap.start(a), omap.end(b)
        found.append(Found(kind, value, a, b, text[a:b]))
    found.sort(key=lambda f: (f.start, -f.end, f.type))
    return found
