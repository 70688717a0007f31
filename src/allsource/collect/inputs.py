"""Input guards shared by collectors: size-capped reads, text decoding with encoding
detection, binary-garbage rejection and safe XML pre-checks.

Each guard raises :class:`~allsource.errors.InputError` with a reason a user can act on; the
runner turns that into a quarantine entry and the batch goes on.

Binary or text is decided by proportion: input is binary when more than
:data:`MAX_CONTROL_SHARE` of its first 8 KB are C0 control bytes that text never carries (all
but tab, newline, form feed, carriage return and escape; NUL included). Text copied out of a
PDF can hold a stray NUL where a ligature was, and one such byte must not refuse a whole
report; random or compressed bytes are about 10 % such bytes, executables and zero-filled
files far more. :func:`decode_text` then strips those bytes from the text it returns.

Decoding order: a byte-order mark, a declared charset that decodes, valid UTF-8, then a
single-byte code page. Detection by charset-normalizer is unreliable on short text (it reads
"Café München" in Latin-1 as Urdu cp1006 or Baltic cp1257, "Cafķ M³nchen"), so
:func:`western_text` first asks whether the bytes read as Western European text in
Windows-1252 (a superset of Latin-1's printable characters) and takes that for short inputs;
for longer ones it is taken when charset-normalizer finds Windows-1252 as coherent as its own
pick, which also keeps French "à" from becoming Czech "ŕ".
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from charset_normalizer import from_bytes

from allsource.errors import InputError

_BOMS = (("utf-8-sig", b"\xef\xbb\xbf"), ("utf-32", b"\xff\xfe\x00\x00"),
         ("utf-32", b"\x00\x00\xfe\xff"), ("utf-16", b"\xff\xfe"), ("utf-16", b"\xfe\xff"))
_XML_DECL_ENC = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._\-]+)["']""")
_DTD_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


def read_file(path: Path, max_bytes: int) -> bytes:
    """Read a file, refusing anything over ``max_bytes`` before reading it."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    if size > max_bytes:
        raise InputError(f"{path} is {size} bytes, over the {max_bytes}-byte input cap")
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    if len(data) > max_bytes:
        raise InputError(f"{path} grew past the {max_bytes}-byte input cap while reading")
    return data


#: Control bytes that text never carries (C0 less tab, newline, form feed, CR and escape).
CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))
#: Above this share of :data:`CONTROL_BYTES` in its first bytes, input is binary.
MAX_CONTROL_SHARE = 0.05
_STRIP = dict.fromkeys(CONTROL_BYTES)


def looks_binary(data: bytes, sample: int = 8192) -> bool:
    """True for data that is not text in any encoding: more than :data:`MAX_CONTROL_SHARE`
    of the first ``sample`` bytes are control bytes (a BOM says it is text)."""
    head = data[:sample]
    if not head:
        return False
    for _, bom in _BOMS:
        if head.startswith(bom):
            return False
    controls = len(head) - len(head.translate(None, CONTROL_BYTES))
    return controls > MAX_CONTROL_SHARE * len(head)


def strip_controls(text: str) -> str:
    """``text`` without the control characters of :data:`CONTROL_BYTES`."""
    return text.translate(_STRIP)


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Decode bytes to text without control characters (:func:`strip_controls`): BOM, then a
    declared charset that actually decodes, then detection. Raises :class:`InputError` for
    binary garbage."""
    return strip_controls(_decode(data, declared))


def _decode(data: bytes, declared: str | None) -> str:
    for name, bom in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name)
            except UnicodeDecodeError:
                break
    if looks_binary(data):
        raise InputError("input is binary, not text")
    if declared:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    western = western_text(data)
    if western is not None and len(data) < SHORT_TEXT:
        return western  # detection has too little to go on; see the module docstring
    matches = from_bytes(data[:1_000_000])
    best = matches.best()
    if western is not None and (best is None or any(
            m.encoding == "cp1252" and m.coherence >= best.coherence for m in matches)):
        return western
    if best is None:
        raise InputError("cannot detect the text encoding of the input")
    try:
        return data.decode(best.encoding, errors="replace")
    except LookupError as exc:
        raise InputError(f"unknown encoding {best.encoding!r}") from exc


#: inputs shorter than this (bytes) that read as Western text are taken as Windows-1252
SHORT_TEXT = 4096
#: non-letters a Western (Windows-1252 / Latin-1) text plausibly holds beyond ASCII
_WESTERN_MARKS = frozenset("\u00a0’‘“”‚„–—…•€«»°·©®™§£¥¢†‡‰")
_WORD = re.compile(r"[^\W\d_]+")


def western_text(data: bytes) -> str | None:
    """``data`` as Windows-1252 when that reads as Western European text, else ``None``.

    Plausible means: every non-ASCII character is a Latin letter or a usual mark (quotes,
    dashes, €, «», NBSP …), and at least 80 % of the words holding such a letter hold ASCII
    letters too ("Café", "München", "été"). Text in another single-byte code page read as
    Windows-1252 fails one of these: Cyrillic and Greek give words of accented letters only
    ("Ïðèâåò"), Central European gives symbols inside words ("Za¿ó³æ")."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    for char in {c for c in text if ord(c) > 127}:
        if char in _WESTERN_MARKS:
            continue
        if not (char.isalpha() and unicodedata.name(char, "").startswith("LATIN")):
            return None
    mixed = accented = 0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        accented += 1
        if len(word) == 1 or any(c.isascii() for c in word):
            mixed += 1
    return text if mixed >= 0.8 * accented else None


def xml_declared_encoding(data: bytes) -> str | None:
    m = _XML_DECL_ENC.match(data[:512])
    return m.group(1).decode("ascii") if m else None


def check_xml_safe(data: bytes) -> None:
    """Refuse XML that declares entities (billion laughs, external entities/XXE).

    Feeds, STIX-in-XML and similar inputs never need a DTD with entity declarations; any
    document that has one is rejected before it reaches a parser.
    """
    head = data[:65536]
    if _DOCTYPE.search(head) and _DTD_ENTITY.search(data):
        raise InputError("XML declares entities in a DTD (possible entity-expansion bomb or "
                         "external-entity attack); refused")
