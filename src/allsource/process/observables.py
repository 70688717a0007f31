"""Fast observable (IOC) extraction from free text, defanged forms included.

Extractors propose, the value types decide: every candidate goes through
:func:`allsource.model.types.clean`, and only what it accepts becomes a :class:`Found`, with the
cleaned value and the character span of the raw (possibly defanged) match in the input.

How it stays fast — a handful of linear scans, each run only when a cheap test says it can hit,
and Python work only on candidates (~20 MB/s per core on report text on a quiet machine, ~25×
ioc-finder; see ``benchmarks/iocs.py``):

1. **Refang with an offset map.** One regex, whose first character must be ``[``, ``(`` or
   ``{``, finds bracket defangs (``[.]``, ``(.)``, ``{.}``, ``[dot]``, ``[@]``, ``(at)``, ``[:]``,
   ``[://]``, ``[/]``, with the spaces reports put around them, a Markdown escape ``\\[.]`` or a
   doubled dot ``[.].``) and runs of stray brackets before a dot (``10.10[[[.10``). A literal
   search for ``.`` finds stray closers after one (``10.10.10.]]]10``), one for ``\\.`` dots
   escaped as in a regular expression (``10\\.10\\.10\\.10``; not in registry keys or paths:
   ``HKCR\\.zip``). If any matched, the scans run on a refanged copy and every span is mapped
   back to the original text (:class:`_OffsetMap`); otherwise the text is used as is.
   Defanged schemes (``hxxp``, ``hXXps``, ``fxp``) have the length of the real ones, so the URL
   scan simply accepts them before ``://`` (a second pattern, used only when the text has
   ``:// `` or ``://[``, takes the space of a space-defang and an ``[IPv6]`` host; one for
   ``%3A%2F%2F`` decodes percent-encoded URLs, which a URL around them keeps inside itself).
2. **Scans.** ``://``, ``@`` and ``.`` are literal searches expanded around each hit (URLs,
   e-mails, and ``label(.label)+`` tokens, which give IPv4, CIDR, domains and file names; the
   label left of a dot is read on the reversed text). Hash and bitcoin candidates are runs of
   hex / base58 characters, found on the bytes mapped through ``bytes.translate`` (a prefilter
   for any text, the scan itself for ASCII text); ``0x`` before a hash is a hex literal's prefix
   (``0x`` + 40 digits in EIP-55 mixed case, or near "wallet"/"address", is an Ethereum
   address, not a SHA-1), and a hash the text calls ``imphash``, ``import hash`` or
   ``authentihash`` just before it gets that type. IPv6 starts at ``:`` + hex, CVE IDs at
   ``CVE``; ASNs at ``AS``, in lower case only as ``asn 1234`` or ``as1234`` ("as 1234 people"
   is prose). ATT&CK IDs have one regex starting with one of six capitals; lower-case technique
   and tactic IDs count only as Sigma tags (``attack.t1059``), as a field's whole value, or in
   a text that names ATT&CK, MITRE, a technique or a tactic (``t1000`` is also a product).
   Registry keys start at a root (``HKLM``, ``<HKCU>``) and are read one component at a time:
   ``<placeholders>`` (names, not HTML tags) and single spaces between words stay when a
   backslash follows the words; a word starting with ``HK``, a value (``%APPDATA%``, ``:``)
   or text without a backslash after it ends the key. Every regex is linear — bounded,
   possessive quantifiers, no nested ambiguity — and every Python loop moves forward, so nothing
   backtracks on a line of dots, brackets or backslashes.
3. **Decide.** A dotted token is an IPv4 (CIDR with a ``/n`` suffix), a file name (its last
   label is a known file extension, or it follows a ``\\`` in a Windows path) or a domain (its
   last label is an IANA TLD, read from the ``tlds`` MISP warninglist, or ``onion``). Names
   that are both (``.zip``, ``.py``, ``.sh``, ``.so``, ``.md``) are file names unless they were
   defanged, which only a network indicator ever is; ``.com`` is a domain outside paths. A
   mixed-case name with a capitalised TLD (``System.Net``, ``System.IO``) is a code identifier,
   not a domain, unless defanged; ``bar.COM`` and ``Evil.Com`` are hosts. A host or address
   followed by a path (``evil[.]com:8080/gate.php``, ``203.0.113.9/api``) is a URL with
   ``http://`` assumed, unless it sits in a file path (after ``/`` or ``\\``). An e-mail's
   domain must end in a real TLD unless defanged (``foobar@gmail.comahhhh`` is not one), and a
   space before or after its ``@`` is a defang only when the domain is defanged. Candidates then
   go through the value types (host labels may hold ``_``, registered names may not); their
   answers are memoised (a bounded LRU cache: the same host or hash recurs across a report and
   across a feed).
4. **Overlaps.** Anything the scans find inside a URL, e-mail, registry key or CIDR span is
   dropped, except hashes and CVE IDs, which stay meaningful inside a URL path. Hex runs count
   only at their full length, so no MD5 is reported inside a SHA-256.
5. **What containers hold** (:func:`_held`), each its own observable with its own span, as
   peer extractors report them and analysts block and pivot on them: a URL's host (a domain
   with a real TLD, an IPv4 or an IPv6), an e-mail's domain (or its address literal,
   ``user@[192.0.2.1]``), a CIDR's written address when it is a host (``10.1.2.3/24``,
   ``1.2.3.4/32``; not the network ``10.0.0.0/8``), the ATT&CK IDs of an ``attack.mitre.org``
   URL, and URLs written inside a URL (a redirect's ``?url=http%3A%2F%2F…``, an archive's
   ``/web/2020/http://…``; a query value ends at ``&``, and each inner URL ends where the next
   one starts, so a chain is read once). A registry key holds none: ``…\\evil.example.com\\x``
   is a key's name.

``extract_observables(text, types)`` equals the full result filtered to ``types``: the
container scans run whenever a requested type could sit inside a container.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import re
import string
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

from allsource.model.types import clean

__all__ = ["FILE_EXTENSIONS", "TYPES", "Found", "extract_observables"]

TYPES: frozenset[str] = frozenset({
    "ipv4", "ipv6", "cidr", "domain", "url", "email", "md5", "sha1", "sha256", "sha512",
    "cve", "attack-id", "asn", "btc", "filename", "regkey", "imphash", "authentihash",
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
# Words of prose written as a domain ("the dot.com boom"): a domain only when defanged.
_PROSE_NAMES = frozenset({"dot.com", "dot.net", "dot.org", "dot-com.com"})

_CONTAINERS = frozenset({"url", "email", "regkey", "cidr"})
_KEPT_INSIDE = frozenset({"md5", "sha1", "sha256", "sha512", "imphash", "authentihash", "cve"})
_HASH_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
_MAX_TOKEN = 253

# --- defanging -----------------------------------------------------------------------------
# One scan whose first character is an opening bracket (so the regex engine skips to those):
# "[.]"-style defangs, or a run of stray brackets before a dot ("10.10[[[.10").
_DEFANG = re.compile(r"[\[({](?:\s?(\.|dot|DOT|@|at|AT|:|://|:/|/)\s?[\])}]\s?"
                     r"|[\[({]{0,7}+\.(?=[A-Za-z0-9]))")
# Stray closing brackets after a dot ("10.10.10.]]]10"): a literal search for ".".
_DOT_CLOSERS = re.compile(r"\.[\])}]{1,8}+(?=[A-Za-z0-9])")
_BRACKET_VALUE = {".": ".", "dot": ".", "DOT": ".", "@": "@", "at": "@", "AT": "@",
                  ":": ":", "://": "://", ":/": ":/", "/": "/"}
_ESCAPED_LABEL = re.compile(r"[A-Za-z0-9-]{1,63}+")

# --- scans ---------------------------------------------------------------------------------
# Latin and Cyrillic letters too: internationalised names and homographs ("аpple.com" with a
# Cyrillic "а") are hosts; other scripts are left out, since CJK text runs into ASCII names
# without a space ("詳細はexample.com").
_LABEL_CHARS = "A-Za-z0-9_~$\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0400-\u04ff-"
_LABEL = rf"[{_LABEL_CHARS}]{{1,63}}+"
_DOT = re.compile(rf"\.(?=[{_LABEL_CHARS}])")
_LABEL_REVERSED = re.compile(rf"[{_LABEL_CHARS}]{{1,64}}+")
_TOKEN = re.compile(rf"{_LABEL}(?:\.{_LABEL})++")
_LABEL_SET = frozenset(string.ascii_letters + string.digits + "_~$-")
_NOT_BEFORE_TOKEN = _LABEL_SET | {"@", "."}
_CIDR_SUFFIX = re.compile(r"/(\d{1,3})(?!\d)(?!\.\d)")
_URL_CHARS = r"[^\s<>\"'`{}|\\^\[\]\u2018-\u201f\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]"
# "://" and what follows, up to a character no URL holds unescaped.
_URL = re.compile(rf"://({_URL_CHARS}{{1,2048}}+)")
# Rarer: one space that space-defanged reports put after "://", or an "[IPv6]" host.
_URL_ODD = re.compile(rf"://( ?)(\[[0-9A-Fa-f:.]{{2,45}}+\])?({_URL_CHARS}{{0,2048}}+)")
# A percent-encoded URL ("http%3A%2F%2Fexample%2Ecom%2Fa", from HTML and mail artefacts).
_URL_ENCODED = re.compile(r"(?<![A-Za-z0-9])(?:https?|hxxps?|ftp)%3[Aa]%2[Ff]%2[Ff]"
                          r"[A-Za-z0-9%._~!$&()*+,;=:@/?#-]{1,2048}+")
# After a host without a scheme: an optional port, then a path (a URL), or a port alone.
_HOST_TAIL = re.compile(rf"(?::\d{{1,5}}+)?/{_URL_CHARS}{{0,2048}}+")
# Scheme as written (defanged ones too: same length, so no offset change) → scheme.
_URL_SCHEMES = {"https": "https", "http": "http", "hxxps": "https", "hxxp": "http",
                "sftp": "sftp", "ftp": "ftp", "fxp": "ftp", "wss": "wss", "ws": "ws"}
_URL_TRAILING = frozenset(".,;:!?*'\")")
# An e-mail's domain written as an address literal (RFC 5321): "user@[192.0.2.1]",
# "user@[IPv6:2001:db8::1]".
_ADDRESS_LITERAL = re.compile(r"\[(?:\d{1,3}(?:\.\d{1,3}){3}|IPv6:[0-9A-Fa-f:.]{2,45}+)\]")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9._%+=-]{1,64}\Z")
# "imphash: <md5>", "import hash <md5>", "authentihash - <sha256>": what the text calls the hash.
_PE_HASH_LABEL = re.compile(r"(imphash|import[ _-]?hash|authentihash)[\s:=|\"'-]{0,8}+\Z",
                            re.IGNORECASE)
_PE_HASH_WINDOW = 24
_HEX = re.compile(r"[0-9A-Fa-f]{32,}+")
_V6 = re.compile(r"[0-9A-Fa-f]{0,4}+:[0-9A-Fa-f:.]{1,45}+")
# Case-sensitive, one pattern per spelling, so each scan is a literal search for its prefix.
_CVE_TAIL = r"[\s_\u2010-\u2014\u00ad-]{1,3}(\d{4})[\s_\u2010-\u2014\u00ad-]{1,3}(\d{4,7})(?!\d)"
_CVES = tuple(re.compile(prefix + _CVE_TAIL) for prefix in ("CVE", "cve", "Cve"))
_ATTACK = re.compile(r"[TGSMDC](?:1\d{3}(?:\.\d{3})?|A0\d{3}|[01]\d{3}|S0\d{3}|0\d{3})")
_ATTACK_SHAPE = re.compile(
    r"T1\d{3}(?:\.\d{3})?|TA0\d{3}|[GS][01]\d{3}|M1\d{3}|DS0\d{3}|C0\d{3}")
# Lower-case technique and tactic IDs (Sigma tags "attack.t1059.001", analysts' notes) count
# only in ATT&CK context: "t1000" is also a part number or a model name.
_ATTACK_LOWER = re.compile(r"t(?:1\d{3}(?:\.\d{3})?|a00\d{2})")
_ATTACK_CONTEXT = re.compile(r"att&ck|mitre|techniques?\b|tactics?\b|attack\.[tT]", re.IGNORECASE)
_ASN = re.compile(r"AS(?:N ?:?)? ?(\d{1,10})(?!\d)(?!\.\d)")
# Lower case: "asn 1234", "asn:1234", "as1234"; never "as 1234" (the English word, a number).
_ASN_LOWER = re.compile(r"as(?:n ?:? ?)?(\d{1,10})(?!\d)(?!\.\d)")
_B58 = re.compile(r"[1-9A-HJ-NP-Za-km-z]{26,}+")
_BTC_BECH32 = re.compile(r"bc1[02-9ac-hj-np-z]{11,71}+")
# A root ("<HKCU>" as some sandboxes write it), then components read one at a time: a
# component holds "<placeholders>" ("<USER SID>") and single spaces between words when a
# backslash follows the words ("Windows NT\", "Image File Execution Options\"); words
# before the next root ("…\Run HKLM\…") or without a backslash after them end the key.
_REGKEY_ROOT = re.compile(
    r"<?(HK(?:EY_(?:LOCAL_MACHINE|CURRENT_USER|CLASSES_ROOT|USERS|CURRENT_CONFIG)"
    r"|LM|CU|CR|U|CC))>?(:?)(?=\\)")
# A placeholder is a name in angle brackets ("<USER SID>", "<executable>"), never an HTML tag
# ("…\\Run</code> and <code>HKLM…" is two keys in a web page).
_REG_PLACEHOLDER = (r"<(?!(?i:code|pre|kbd|samp|tt|br|b|i|p|a|em|strong|span|div|sub|sup|u|li"
                    r"|td|tr|th|mark|font)\b)[A-Za-z][A-Za-z0-9 _.-]{0,62}+>")
# No ":" inside components: "…\\Run:%appdata%\\x.exe" is a key, a colon, then its value.
_REG_CHARS = rf"(?:[^\\\s\"'`<>|,;:*?\u2018-\u201f]|{_REG_PLACEHOLDER})"
_REG_PART = re.compile(rf"{_REG_CHARS}{{0,255}}+")
# Components of plain characters, read in one go; placeholders and spaces go the slow way.
_REG_PLAIN = re.compile(r"(?:\\[^\\\s\"'`<>|,;:*?\u2018-\u201f]{0,255}+){1,64}+")
# Words start with a letter, digit or bracket: not "– %APPDATA%\\…" or ": C:\\…" (a value).
_REG_WORDS = re.compile(rf"(?: (?!HK)(?=[A-Za-z0-9(\[{{<_]){_REG_CHARS}{{1,255}}+){{1,6}}+(?=\\)")
_REG_MAX_PARTS = 64
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


def _escaped_dots(text: str, edits: list[tuple[int, int, str]]) -> None:
    """``10\\.10\\.10\\.10``, ``evil\\.com``: dots escaped as in a regular expression. Not in
    Windows paths and registry keys (``Classes\\.zip``, ``Microsoft\\.NETFramework``): only
    between digits, or before a lower-case IANA TLD or another escaped dot, after a label that
    does not follow a backslash itself."""
    p = text.find("\\.")
    prev_p = prev_a = -1
    while p != -1:
        before = text[p - 1] if p else ""
        after = _ESCAPED_LABEL.match(text, p + 2)
        if before.isascii() and before.isalnum() and after:
            label = after.group()
            a = p - 1  # the token's start, escaped dots included, at most a name's length
            while a > 0 and p - a < _MAX_TOKEN:
                if prev_p >= 0 and a <= prev_p + 2:
                    a = prev_a  # reached the escaped dot before: the same token (linear)
                    break
                c = text[a - 1]
                if not (c.isalnum() or c in "-." or (c == "\\" and text[a:a + 1] == ".")):
                    break
                a -= 1
            prev_p, prev_a = p, a
            path = (a > 0 and text[a - 1] == "\\") or text.startswith("HK", a)
            if (before.isdigit() and label.isdigit()) or (not path and (
                    text.startswith("\\.", after.end()) or label in _tlds())):
                edits.append((p, p + 2, "."))
        p = text.find("\\.", p + 2)


def _refang(text: str) -> tuple[str, _OffsetMap | None]:
    """Return the text with defangs undone, and the offset map (``None`` if nothing changed)."""
    edits: list[tuple[int, int, str]] = []
    if "\\." in text:
        _escaped_dots(text, edits)
    for m in _DOT_CLOSERS.finditer(text):
        a = m.start()
        if a > 0 and text[a - 1].isascii() and text[a - 1].isalnum():
            edits.append((a, m.end(), "."))
    for m in _DEFANG.finditer(text):
        a, b = m.span()
        if m.group(1) is None:  # stray opening brackets, kept only right after a label
            if a > 0 and text[a - 1].isascii() and text[a - 1].isalnum():
                edits.append((a, b, "."))
            continue
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
    edits.sort(key=lambda e: (e[0], -e[1]))
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
    matches: Iterable[re.Match[str]] = _URL.finditer(s)
    if ":// " in s or "://[" in s:
        matches = _URL_ODD.finditer(s)
    for m in matches:
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
        if m.re is _URL:
            space, body = "", m.group(1)
        else:
            space, body = m.group(1), (m.group(2) or "") + m.group(3)
        if not body:
            continue
        if body[-1] in _URL_TRAILING:
            body = _trim_url(body)
            if not body:
                continue
        b = p + 3 + len(space) + len(body)
        out.append(("url", f"{scheme}://{body}", a, b))


def _encoded_urls(s: str, out: list[_Hit]) -> None:
    for m in _URL_ENCODED.finditer(s):
        raw = _trim_url(m.group())
        url = unquote(raw)
        scheme, sep, rest = url.partition("://")
        if sep and raw:
            out.append(("url", f"{_URL_SCHEMES.get(scheme.lower(), scheme)}://{rest}",
                        m.start(), m.start() + len(raw)))


def _emails(s: str, omap: _OffsetMap | None, out: list[_Hit]) -> None:
    tlds = _tlds()
    p = s.find("@")
    while p != -1:
        host = _TOKEN.match(s, p + 1) if s[p + 1:p + 2] != "[" else _ADDRESS_LITERAL.match(s, p + 1)
        if host is None and s[p + 1:p + 2] == " " and omap is not None:
            host = _TOKEN.match(s, p + 2)  # "user@ example[.]com": a space after "@"
            if host is not None and not omap.defanged(host.start(), host.end()):
                host = None
        nxt = p + 1
        if host is not None and host.re is _TOKEN and \
                host.group().rpartition(".")[2].lower() not in tlds and not (
                omap is not None and omap.defanged(p - 1, host.end())):
            host = None  # "foobar@gmail.comahhhh": a domain ends in a real TLD (or is defanged)
        end = p
        if p > 1 and s[p - 1] == " " and host and omap is not None and \
                omap.defanged(host.start(), host.end()):
            end = p - 1  # "myuser @example[.]com": a space put before "@" to defang it
        local = _EMAIL_LOCAL.search(s, max(0, end - 64), end)
        if local and host:
            a = local.start()
            eq = s.rfind("=", a, end)
            if eq != -1:
                a = eq + 1  # "smtp.mailfrom=user@host": a header's key is not the address
            while a < end and s[a] in ".-+":
                a += 1
            # Not spaces on both sides ("reach me @ evil[.]com" is prose around a host).
            if a < end and (end == p or host.start() == p + 1):
                out.append(("email", f"{s[a:end]}@{host.group()}", a, host.end()))
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
    # "onion" is a special-use name (RFC 7686), not in the root zone, but Tor hosts are hosts.
    return frozenset(str(t).lower() for t in data["list"]) | {"onion"}


def _dotted(s: str, omap: _OffsetMap | None, out: list[_Hit]) -> None:
    """Tokens ``label(.label)+``: found from their first inner dot, whose left label is read
    on the reversed text, so the scan itself is a literal search for ``.``."""
    n = len(s)
    rev = s[::-1]
    tlds = _tlds()
    pos = 0
    after_overlong = -1  # where a name may start after a label too long to be one
    for d in _DOT.finditer(s):
        p = d.start()
        if p < pos:
            continue  # inside the token just read
        left = _LABEL_REVERSED.match(rev, n - p)
        if left is None:
            continue
        a = p - left.end() + (n - p)
        if left.end() - (n - p) == 64:
            after_overlong = p + 1  # "aaaa…(100).bar.com": no label is that long
            continue
        wildcard = False
        if a > 0 and s[a - 1] in _NOT_BEFORE_TOKEN and not _after_punctuation(s, a) and \
                a != after_overlong:
            if not _wildcard_dot(s, a):
                continue  # inside a longer word, or after "@" (an e-mail's host) or a dot
            wildcard = True
        m = _TOKEN.match(s, a)
        if m is None or (wildcard and m.group()[-1].isdigit()):
            continue  # ".1.1.1.1": the tail of a longer number, not an address
        pos = m.end()
        _classify(s, m.group(), a, pos, omap, tlds, out)


def _after_punctuation(s: str, a: int) -> bool:
    """``.!@..127.0.0.1``: a token after a run of dots that follows punctuation, not a label."""
    if s[a - 1] != ".":
        return False
    j = a - 1
    while j > 0 and a - j < 16 and s[j - 1] == ".":
        j -= 1
    return j > 0 and s[j - 1] not in _LABEL_SET and not s[j - 1].isspace()


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
    if not defanged and token.lower() in _PROSE_NAMES:
        return
    in_path = a > 0 and s[a - 1] == "\\"  # C:\Temp\mskmde.com: a file, whatever its suffix
    if in_path or (ext in FILE_EXTENSIONS and not (defanged and ext in tlds)):
        out.append(("filename", token, a, b))
    elif ext in tlds and (defanged or not _code_identifier(token, last)) and not (
            b < len(s) and s[b] in ":/" and _schemeless_url(s, token, a, b, out)):
        out.append(("domain", token, a, b))


def _schemeless_url(s: str, host: str, a: int, b: int, out: list[_Hit]) -> bool:
    """``evil[.]com:8080/gate.php``, ``203.0.113.9/api/info``: a host followed by a path is a
    URL (``http://`` assumed), its path kept. A bare ``host/`` or ``host:port`` is not; nor is a
    host inside a file path (``/var/www/example.com/x``: after ``/`` or ``\\``)."""
    if b >= len(s) or s[b] not in ":/" or (a > 0 and s[a - 1] in "/\\"):
        return False
    m = _HOST_TAIL.match(s, b)
    if m is None:
        return False
    tail = m.group()
    if tail[-1] in _URL_TRAILING:
        tail = _trim_url(tail)
    path = tail[tail.find("/"):]
    if len(path) < 2 and not (tail[0] == ":" and path == "/"):
        return False
    out.append(("url", f"http://{host}{tail}", a, b + len(tail)))
    return True


# Capitalised TLDs that are not words of code namespaces: "Evil.Com" is a host.
_TITLE_CASE_HOST_TLDS = frozenset({"com", "org", "ru", "cn", "info", "biz", "xyz", "top",
                                   "onion", "su", "ir", "kp", "tk", "uk", "de", "fr", "jp"})


def _code_identifier(token: str, last: str) -> bool:
    """``System.Net``, ``Microsoft.Office``, ``System.IO``: a capitalised TLD in a mixed-case
    name. Not ``bar.COM`` (only the TLD in capitals), ``EVIL.COM`` or ``Evil.Com``."""
    if last.islower() or token.isupper():
        return False
    name = token[:-len(last) - 1]
    if len(name) - name.rfind(".") - 1 < 2:  # "f.NZ", "u.Ru": letters around a dot
        return True
    if last.isupper() and name.islower():
        return False
    return not (last.istitle() and last.lower() in _TITLE_CASE_HOST_TLDS)


def _ip_token(s: str, token: str, a: int, b: int, out: list[_Hit]) -> None:
    if token.count(".") != 3:
        return
    m = _CIDR_SUFFIX.match(s, b)
    if m and int(m.group(1)) <= 32:
        out.append(("cidr", s[a:m.end()], a, m.end()))
    elif not (b < len(s) and s[b] in ":/" and _schemeless_url(s, token, a, b, out)):
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
            if m and (not (a > 0 and (s[a - 1] in _WORD_CHARS or s[a - 1] in ":."))
                      or s[max(0, a - 6):a].lower() == "[ipv6:"):  # an address literal
                _v6_candidate(s, m.group().rstrip("."), a, out)
                nxt = m.end()
        p = s.find(":", nxt)


def _v6_candidate(s: str, cand: str, a: int, out: list[_Hit]) -> None:
    if cand.count(":") < 2 or cand.strip(":.") == "":
        return  # "::" alone is punctuation in prose and code, not the unspecified address
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
        if kind is None:
            continue
        start = a
        if not _bounded(s, a, b):
            if not (s[a - 2:a] in ("0x", "0X") and _bounded(s, a - 2, b)):
                continue
            if kind == "sha1" and _ethereum(s, a, b):
                continue
            start = a - 2  # "0x1a1d…": a hash written as a hex literal
        window = s[max(0, start - _PE_HASH_WINDOW):start]
        if kind in ("md5", "sha256") and "hash" in window.lower():
            label = _PE_HASH_LABEL.search(window)
            if label is not None:
                named = label.group(1).lower()
                pe_kind = "authentihash" if named == "authentihash" else "imphash"
                if _HASH_LENGTH[pe_kind] == b - a:
                    kind = pe_kind
        out.append((kind, s[a:b], start, b))


_HASH_LENGTH = {"imphash": 32, "authentihash": 64}
_ETHEREUM_CONTEXT = re.compile(r"eth|ether|wallet|contract|address", re.IGNORECASE)


def _ethereum(s: str, a: int, b: int) -> bool:
    """``0x`` + 40 hex digits is also an Ethereum address: one in EIP-55 mixed case, or named
    as an address nearby, is not a SHA-1."""
    run = s[a:b]
    if run != run.lower() and run != run.upper():
        return True
    return _ETHEREUM_CONTEXT.search(s, max(0, a - 40), a) is not None


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
        if a == 0 or s[a - 1] != "." or _sigma_tag(s, a):
            out.append(("attack-id", ident, a, b))
    if "t1" in s or "ta00" in s:
        _attack_ids_lower(s, out)


def _sigma_tag(s: str, a: int) -> bool:
    """``attack.t1059.001``, ``attack.TA0002``: how Sigma rules tag ATT&CK IDs."""
    return s[max(0, a - 7):a].lower() == "attack." and (a == 7 or s[a - 8] not in _WORD_CHARS)


def _attack_ids_lower(s: str, out: list[_Hit]) -> None:
    """Lower-case technique and tactic IDs: in a Sigma tag, as a field's whole value, or in a
    text that speaks of ATT&CK (searched once, only when a candidate exists)."""
    context: bool | None = None
    for m in _ATTACK_LOWER.finditer(s):
        a, b = m.span()
        if not _bounded(s, a, b) or (s[b:b + 1] == "." and s[b + 1:b + 2].isdigit()):
            continue
        if a > 0 and s[a - 1] == "." and not _sigma_tag(s, a):
            continue
        if not _sigma_tag(s, a) and s.strip() != m.group():
            if context is None:
                context = _ATTACK_CONTEXT.search(s) is not None
            if not context:
                continue
        out.append(("attack-id", m.group().upper(), a, b))


def _asns(s: str, out: list[_Hit]) -> None:
    for pattern, prefix in ((_ASN, "AS"), (_ASN_LOWER, "as")):
        if prefix not in s:
            continue
        for m in pattern.finditer(s):
            a, b = m.span()
            # "ASN1"/"asn1" is ASN.1, the encoding; a one-digit number glued to the prefix too
            # ("AS1") is more often a name than an AS.
            if _bounded(s, a, b) and (b - m.start(1) > 1 or s[m.start(1) - 1] in " :"):
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
    n = len(s)
    for m in _REGKEY_ROOT.finditer(s):
        a = m.start()
        if a > 0 and s[a - 1] in _WORD_CHARS:
            continue
        if (m.group().startswith("<")) != (s[m.end(1):m.end(1) + 1] == ">"):
            continue  # "<HKCU" or "HKCU>": not a placeholder root
        end = m.end()
        parts = 0
        while end < n and s[end] == "\\" and parts < _REG_MAX_PARTS:
            plain = _REG_PLAIN.match(s, end)
            if plain is not None and plain.end() < n and s[plain.end()] not in " <":
                end = plain.end()  # the common case: no placeholder, no space after
                break
            part = _REG_PART.match(s, end + 1)  # {0,…}: always matches
            end = part.end() if part is not None else end + 1
            words = _REG_WORDS.match(s, end)
            if words is not None:
                end = words.end()
            parts += 1
        while end > m.end() and s[end - 1] in ".:)]":
            end -= 1
        if end > m.end() + 1:
            out.append(("regkey", m.group(1) + m.group(2) + s[m.end():end], a, end))


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
    if "url" in wanted and ("%3A%2F%2F" in s or "%3a%2f%2f" in s):
        _encoded_urls(s, out)
    if "email" in wanted and "@" in s:
        _emails(s, omap, out)
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
    if "asn" in wanted and ("AS" in s or "as" in s):
        _asns(s, out)
    if "regkey" in wanted and "HK" in s:
        _regkeys(s, out)
    return out


_DOTTED_TYPES = frozenset({"ipv4", "cidr", "domain", "filename"})
_HASH_TYPES = frozenset(_HASH_BY_LENGTH.values()) | {"imphash", "authentihash"}


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


# --- what containers hold ------------------------------------------------------------------
# An ATT&CK page's URL names its object: ".../techniques/T1059/001/" is T1059.001.
_ATTACK_URL_HOST = "attack.mitre.org"
_ATTACK_SUB = re.compile(r"/(\d{3})(?!\d)")


def _held(boxes: list[_Hit], hits: list[_Hit], s: str) -> list[_Hit]:
    """The observables a container names inside itself, each with its own span: the host of a
    URL (a domain, IPv4 or IPv6) and the domain (or address literal) of an e-mail, as analysts
    block and pivot on them; the written address of a CIDR when it is a host (host bits set, or
    a full-length prefix: ``10.1.2.3/24``, ``1.2.3.4/32``; not the network ``10.0.0.0/8``); and
    the ATT&CK IDs in an ``attack.mitre.org`` URL. A host must end in a real TLD, as a dotted
    token must: ``http://intranet.local/`` names no domain."""
    out: list[_Hit] = []
    attack: list[tuple[int, int]] = []
    for kind, cand, a, b in boxes:
        if kind == "url":
            host = _url_host(cand)
            if host is not None:
                i = s.find(host[1], a, b)
                if i != -1:  # else percent-encoded: the host as written is not the host
                    out.append((host[0], host[1], i, i + len(host[1])))
                    if host[1].lower() == _ATTACK_URL_HOST:
                        attack.append((a, b))
            own = s.find("://", a, b)
            if s.find("://", own + 3, b) != -1 or s.find("%3", a, b) != -1:
                _inner_urls(s, a, b, out)
        elif kind == "email":
            domain = cand.rpartition("@")[2]
            i = b - len(domain)
            if domain.startswith("["):  # an address literal: "user@[192.0.2.1]"
                inner = domain[1:-1]
                v6 = inner[:5].lower() == "ipv6:"
                inner = inner[5:] if v6 else inner
                out.append(("ipv6" if v6 else "ipv4", inner, b - 1 - len(inner), b - 1))
            elif domain.rpartition(".")[2].lower() in _tlds():
                out.append(("domain", domain, i, b))
        elif kind == "cidr":
            address, _, prefix = cand.partition("/")
            v6 = ":" in address
            if _host_address(address, prefix, v6):
                out.append(("ipv6" if v6 else "ipv4", address, a, a + len(address)))
    if attack:  # spans in order, apart: one bisect per ID
        starts = [x for x, _ in attack]
        for kind, cand, a, b in hits:
            if kind != "attack-id":
                continue
            i = bisect_right(starts, a) - 1
            if i >= 0 and b <= attack[i][1]:
                sub = _ATTACK_SUB.match(s, b)
                if sub is not None and cand.startswith("T") and "." not in cand:
                    out.append((kind, f"{cand}.{sub.group(1)}", a, sub.end()))
                else:
                    out.append((kind, cand, a, b))
    return out


# A URL inside a URL: a redirect's target ("?url=http%3A%2F%2F…", "?q=https://…"), an
# archived page ("web.archive.org/web/2020/http://…"). Inside a URL nothing else reads "http://".
_SCHEME_SEPARATOR = re.compile(r"://|%3[Aa]%2[Ff]%2[Ff]")
_INNER_URL = re.compile(r"(https?|hxxps?|ftp)(://|%3[Aa]%2[Ff]%2[Ff])", re.IGNORECASE)


def _inner_urls(s: str, a: int, b: int, out: list[_Hit]) -> None:
    """The URLs written inside the URL at ``s[a:b]``, and their hosts. One that is a query
    parameter's value (after ``=``) ends at the next ``&``; each ends where the next inner URL
    starts, so a chain of them is read once (linear)."""
    own = _SCHEME_SEPARATOR.search(s, a, b)  # the outer URL's own "://", as written
    if own is None:
        return
    matches = list(_INNER_URL.finditer(s, own.end(), b))
    for j, m in enumerate(matches):
        q = m.start()
        end = matches[j + 1].start() if j + 1 < len(matches) else b
        if s[q - 1] == "=":
            amp = s.find("&", q, end)
            end = amp if amp != -1 else end
        raw = _trim_url(s[q:end])
        body = raw[m.end() - q:]
        if not body:
            continue
        if m.group(2) != "://":
            body = unquote(body)
        url = f"{_URL_SCHEMES.get(m.group(1).lower(), 'http')}://{body}"
        if _clean("url", url) is None:
            continue
        out.append(("url", url, q, q + len(raw)))
        host = _url_host(url)
        if host is not None:
            i = s.find(host[1], q, q + len(raw))
            if i != -1:
                out.append((host[0], host[1], i, i + len(host[1])))


# After "://": userinfo up to "@", then "[IPv6]" or a host up to ":", "/", "?", "#" or "\\".
_NETLOC = re.compile(r"(?:[^/?#\\@]{0,256}+@)?+"
                     r"(?:\[([0-9A-Fa-f:.]{2,45}+)\]|([^/?#\\:@\[]{1,253}+))")


def _url_host(url: str) -> tuple[str, str] | None:
    """(type, host as written) of a URL candidate (``scheme://[userinfo@]host[:port]/…``)."""
    m = _NETLOC.match(url, url.find("://") + 3)
    if m is None:
        return None
    if m.group(1) is not None:
        return "ipv6", m.group(1)
    host = m.group(2).rstrip(".")
    last = host[host.rfind(".") + 1:]
    if not host or "." not in host:
        return None
    if last.isdigit():
        return "ipv4", host
    return ("domain", host) if last.lower() in _tlds() else None


def _host_address(address: str, prefix: str, v6: bool) -> bool:
    """Whether a CIDR's written address is a host: host bits set, or a full-length prefix."""
    try:
        ip = ipaddress.ip_address(address)
        net = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    except ValueError:
        return False
    return (ip.version == 6) == v6 and (
        ip != net.network_address or net.prefixlen == net.max_prefixlen)


def extract_observables(text: str, types: Collection[str] | None = None) -> list[Found]:
    """Find observables in ``text``, refanged and cleaned by their value types, by start."""
    wanted = _wanted(types)
    s, omap = _refang(text)
    hits = _scan(s, wanted, omap)
    boxes = _outermost([h for h in hits if h[0] in _CONTAINERS and _clean(h[0], h[1])])
    others = _outside([h for h in hits if h[0] not in _CONTAINERS], boxes)
    held = _held(boxes, hits, s) if boxes else []
    found: list[Found] = []
    for kind, candidate, a, b in (*boxes, *others, *held):
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
