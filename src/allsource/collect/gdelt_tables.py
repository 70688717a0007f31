"""GDELT 2.0 table formats: column lists, form detection, safe unpacking, typed fields.

An export is read in four steps, each answered from the bytes alone:

1. zip or not — a zip is unpacked with a cap on the total uncompressed size: the declared
   member sizes are checked first, then the bytes actually inflated are counted, so a zip
   bomb is refused at the cap whatever its headers claim;
2. delimiter — a tab in the first line means tab-separated (the published form), else comma;
3. header — a first cell ``GLOBALEVENTID`` (any case) means a header row, mapped to the
   official column names by name; other columns (e.g. gdeltPyR's ``CAMEOCodeDescription``)
   are ignored;
4. table — events (61 columns) or mentions (16 columns), by header names or column count.

Fields are typed from the GDELT codebooks: counts, ids, dates and offsets as ``int``, tone,
scale and coordinates as ``float``; codes (CAMEO ``"040"``, FIPS, ADM, feature ids) stay
strings so their leading zeros survive.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

from allsource.errors import InputError

_ACTOR = ("Code", "Name", "CountryCode", "KnownGroupCode", "EthnicCode", "Religion1Code",
          "Religion2Code", "Type1Code", "Type2Code", "Type3Code")
_GEO = ("Type", "FullName", "CountryCode", "ADM1Code", "ADM2Code", "Lat", "Long", "FeatureID")
EVENT_COLUMNS: tuple[str, ...] = (
    "GLOBALEVENTID", "SQLDATE", "MonthYear", "Year", "FractionDate",
    *(f"Actor1{a}" for a in _ACTOR), *(f"Actor2{a}" for a in _ACTOR),
    "IsRootEvent", "EventCode", "EventBaseCode", "EventRootCode", "QuadClass",
    "GoldsteinScale", "NumMentions", "NumSources", "NumArticles", "AvgTone",
    *(f"Actor1Geo_{g}" for g in _GEO), *(f"Actor2Geo_{g}" for g in _GEO),
    *(f"ActionGeo_{g}" for g in _GEO), "DATEADDED", "SOURCEURL")
MENTION_COLUMNS: tuple[str, ...] = (
    "GLOBALEVENTID", "EventTimeDate", "MentionTimeDate", "MentionType", "MentionSourceName",
    "MentionIdentifier", "SentenceID", "Actor1CharOffset", "Actor2CharOffset",
    "ActionCharOffset", "InRawText", "Confidence", "MentionDocLen", "MentionDocTone",
    "MentionDocTranslationInfo", "Extras")
_INTS = frozenset({
    "GLOBALEVENTID", "SQLDATE", "MonthYear", "Year", "IsRootEvent", "QuadClass", "NumMentions",
    "NumSources", "NumArticles", "Actor1Geo_Type", "Actor2Geo_Type", "ActionGeo_Type",
    "DATEADDED", "EventTimeDate", "MentionTimeDate", "MentionType", "SentenceID",
    "Actor1CharOffset", "Actor2CharOffset", "ActionCharOffset", "InRawText", "Confidence",
    "MentionDocLen"})
_FLOATS = frozenset({
    "FractionDate", "GoldsteinScale", "AvgTone", "MentionDocTone",
    *(f"{p}_{c}" for p in ("Actor1Geo", "Actor2Geo", "ActionGeo") for c in ("Lat", "Long"))})


@dataclass(frozen=True, slots=True)
class Layout:
    """How to read the rows of one table."""

    kind: str  #: "events" or "mentions"
    names: tuple[str | None, ...]  #: canonical field per column (None: ignored)
    header: list[str] | None  #: the header row, when the table has one


def layout_for(first: list[str]) -> tuple[Layout, bool]:
    """The layout of a table from its first row, and whether that row is a header."""
    if first and first[0].strip().lstrip("\ufeff").lower() == "globaleventid":
        lower = [h.strip().lstrip("\ufeff").lower() for h in first]
        if "mentionidentifier" in lower:
            canon = MENTION_COLUMNS
        elif "eventcode" in lower:
            canon = EVENT_COLUMNS
        else:
            raise InputError("the header names neither a GDELT events table (EventCode) nor a "
                             "mentions table (MentionIdentifier)")
        by_lower = {c.lower(): c for c in canon}
        kind = "mentions" if canon is MENTION_COLUMNS else "events"
        return Layout(kind, tuple(by_lower.get(h) for h in lower), first), True
    if len(first) == len(EVENT_COLUMNS):
        return Layout("events", EVENT_COLUMNS, None), False
    if len(first) == len(MENTION_COLUMNS):
        return Layout("mentions", MENTION_COLUMNS, None), False
    raise InputError(f"not a GDELT 2.0 events ({len(EVENT_COLUMNS)} columns) or mentions "
                     f"({len(MENTION_COLUMNS)} columns) table: the first row has {len(first)} "
                     "columns and no GLOBALEVENTID header")


def unpack(data: bytes, cap: int) -> list[tuple[str, bytes]]:
    """``[(member name, bytes)]`` of a zip archive (total inflated size capped at ``cap``),
    or ``[("", data)]`` for anything else."""
    if not data.startswith(b"PK\x03\x04"):
        return [("", data)]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
            declared = sum(i.file_size for i in members)
            if declared > cap:
                raise InputError(f"the zip archive declares {declared} bytes uncompressed, over "
                                 f"the {cap}-byte input cap (possible zip bomb); refused")
            return [(info.filename, _inflate(zf, info, cap)) for info in members]
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise InputError(f"cannot unpack the zip archive ({exc})") from exc


def _inflate(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    with zf.open(info) as fh:
        while chunk := fh.read(1 << 20):
            total += len(chunk)
            if total > cap:
                raise InputError(f"zip member {info.filename} inflates past the {cap}-byte "
                                 "input cap (possible zip bomb); refused")
            chunks.append(chunk)
    return b"".join(chunks)


def typed_fields(layout: Layout, row: list[str]) -> dict[str, Any]:
    """The non-empty fields of a row by canonical name; raises ValueError naming a bad one."""
    fields: dict[str, Any] = {}
    for name, raw in zip(layout.names, row, strict=True):
        value = raw.strip()
        if name is None or not value:
            continue
        try:
            fields[name] = int(value) if name in _INTS else (
                float(value) if name in _FLOATS else value)
        except ValueError:
            raise ValueError(f"{name} {value!r} is not a number") from None
    return fields


def row_raw(layout: Layout, row: list[str], delimiter: str) -> bytes:
    """One rejected row (with the header, when the table has one) as a small table."""
    rows = [layout.header, row] if layout.header else [row]
    if delimiter == "\t":  # the published form has no quoting: cells never hold a tab
        return "".join("\t".join(r) + "\n" for r in rows).encode("utf-8")
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")
