"""PDF text with bounded work: a decompression budget and a page cap.

A PDF is mostly compressed streams, and pdfminer inflates each one whole with
``zlib.decompress``: an 8.6 KB file whose content stream inflates to hundreds of megabytes (or
inflates twice, with ``/Filter [/FlateDecode /FlateDecode]``) costs minutes of CPU and
gigabytes of memory before a single character comes out. So allsource decodes the streams
itself, before pdfminer sees them, within one budget per file (:class:`Budget`,
``max_decoded`` bytes over all streams):

* ``FlateDecode`` through :func:`zlib.decompressobj` with ``max_length`` — never more than the
  budget left is produced, whatever the compression ratio; a corrupt stream keeps what
  inflated before the damage, as pdfminer does;
* ``LZWDecode`` code by code, stopping at the budget;
* the other filters (ASCII85, ASCIIHex, RunLength, CCITT) by pdfminer, which never expand more
  than a small constant factor, with the result counted; predictors likewise;
* image streams (``/Subtype /Image``) are left alone: text extraction never decodes them.

Each decoded stream is handed back to pdfminer as already decoded, so it is never inflated
again. Over budget, the file is refused with an :class:`~allsource.errors.InputError` naming
the cap. Interpretation is bounded the same way (:class:`BoundedInterpreter`): every run of a
content stream is charged its decoded size, so a page listed a million times in the page tree
or a form drawn over and over is refused too. Pages beyond ``max_pages`` are not interpreted;
the text of the pages before them is kept and :attr:`PdfText.truncated` says so. The work on
any PDF is therefore bounded by the budget (bytes decoded and bytes interpreted) and the page
cap (pages interpreted).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pdfminer.ascii85 import ascii85decode, asciihexdecode
from pdfminer.converter import TextConverter
from pdfminer.layout import LAParams
from pdfminer.lzw import LZWDecoder
from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdfexceptions import PDFException
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import (
    LITERALS_ASCII85_DECODE,
    LITERALS_ASCIIHEX_DECODE,
    LITERALS_FLATE_DECODE,
    LITERALS_LZW_DECODE,
    LITERALS_RUNLENGTH_DECODE,
    PDFObjRef,
    PDFStream,
    resolve1,
)
from pdfminer.psexceptions import PSException
from pdfminer.psparser import LIT
from pdfminer.runlength import rldecode
from pdfminer.utils import MATRIX_IDENTITY, apply_png_predictor, apply_tiff_predictor

from allsource.errors import InputError

#: decompressed bytes one PDF may produce, over all its streams
MAX_DECODED = 64 * 1024 * 1024
#: pages interpreted per PDF; the rest are skipped and the text marked truncated
MAX_PAGES = 2000
_CHUNK = 64 * 1024
_IMAGE = LIT("Image")
_BROKEN = (PDFException, PSException, ValueError, KeyError, TypeError, IndexError)


class OverBudget(InputError):
    """The PDF's streams decompress to more than the budget allows."""


@dataclass
class Budget:
    """Bytes left to decode in one PDF; :attr:`used` counts what was decoded."""

    limit: int
    used: int = 0

    @property
    def left(self) -> int:
        return self.limit - self.used

    def spend(self, data: bytes) -> bytes:
        self.used += len(data)
        if self.used > self.limit:
            raise OverBudget(f"the PDF decompresses to more than {self.limit:,} bytes (a "
                             "decompression bomb?); refused")
        return data


@dataclass(slots=True)
class PdfText:
    text: str
    pages: int  #: pages interpreted
    truncated: bool  #: pages beyond the cap were skipped
    decoded: int  #: bytes decompressed


def inflate(data: bytes, budget: Budget) -> bytes:
    """Inflate ``data`` without ever producing more than the budget left (+1 byte)."""
    inflater = zlib.decompressobj()
    out: list[bytes] = []
    for start in range(0, len(data), _CHUNK):
        try:
            piece = inflater.decompress(data[start:start + _CHUNK], budget.left + 1)
        except zlib.error:
            break  # a corrupt stream keeps what inflated before the damage
        out.append(budget.spend(piece))
        if inflater.unconsumed_tail:
            budget.spend(b"\0")  # more would come: over budget
    return b"".join(out)


def lzw(data: bytes, budget: Budget) -> bytes:
    """LZW-decode ``data`` code by code (it stops by itself at corrupt data), within budget."""
    return b"".join(budget.spend(piece) for piece in LZWDecoder(io.BytesIO(data)).run())


def _predict(data: bytes, params: Any) -> bytes:
    if not isinstance(params, dict) or "Predictor" not in params:
        return data
    predictor = int(resolve1(params["Predictor"]))
    colors = int(resolve1(params.get("Colors", 1)))
    columns = int(resolve1(params.get("Columns", 1)))
    bits = int(resolve1(params.get("BitsPerComponent", 8)))
    if predictor == 2:
        return apply_tiff_predictor(colors, columns, bits, data)
    if predictor >= 10:
        return apply_png_predictor(predictor, colors, columns, bits, data)
    return data


def decode_stream(stream: PDFStream, budget: Budget) -> None:
    """Decode ``stream`` within ``budget`` and store the result where pdfminer looks first."""
    if stream.data is not None or stream.rawdata is None:
        return
    data = stream.rawdata
    if stream.decipher:
        assert stream.objid is not None and stream.genno is not None
        data = stream.decipher(stream.objid, stream.genno, data, stream.attrs)
    for name, params in stream.get_filters():
        if name in LITERALS_FLATE_DECODE:
            data = inflate(data, budget)
        elif name in LITERALS_LZW_DECODE:
            data = lzw(data, budget)
        elif name in LITERALS_ASCII85_DECODE:
            data = budget.spend(ascii85decode(data))  # shrinks: 5 characters → 4 bytes
        elif name in LITERALS_ASCIIHEX_DECODE:
            data = budget.spend(asciihexdecode(data))  # shrinks: 2 characters → 1 byte
        elif name in LITERALS_RUNLENGTH_DECODE:
            data = budget.spend(rldecode(data))  # at most 64 times its input
        else:
            return  # image codecs, crypt filters: left to pdfminer, which never inflates them
        data = _predict(data, params)  # never longer than its input
    stream.data = data
    stream.rawdata = None


def _streams(doc: PDFDocument) -> Iterator[PDFStream]:
    seen: set[int] = set()
    for xref in doc.xrefs:
        for objid in xref.get_objids():
            if objid in seen:
                continue
            seen.add(objid)
            try:
                obj = doc.getobj(objid)
            except _BROKEN:  # a broken object: pdfminer says so when a page needs it
                continue
            if isinstance(obj, PDFObjRef):
                obj = resolve1(obj)
            if isinstance(obj, PDFStream) and obj.get("Subtype") is not _IMAGE:
                yield obj


def extract(data: bytes, *, max_decoded: int = MAX_DECODED, max_pages: int = MAX_PAGES
            ) -> tuple[PDFDocument, PdfText]:
    """The document (for its info dictionary) and its text, within the caps."""
    doc = PDFDocument(PDFParser(io.BytesIO(data)))
    budget = Budget(max_decoded)
    for stream in _streams(doc):
        decode_stream(stream, budget)
    manager = PDFResourceManager(caching=True)
    out = io.StringIO()
    device = TextConverter(manager, out, laparams=LAParams())
    interpreter = BoundedInterpreter(manager, device, budget, Budget(max_decoded))
    pages, truncated = 0, False
    for page in PDFPage.create_pages(doc):
        if pages >= max_pages:
            truncated = True
            break
        interpreter.process_page(page)
        pages += 1
    device.close()
    return doc, PdfText(out.getvalue(), pages, truncated, budget.used)


class BoundedInterpreter(PDFPageInterpreter):
    """pdfminer's interpreter, charging every content stream it runs to ``work``.

    Decoding once is not enough: a page tree can list one page many times and a content
    stream can draw one form XObject over and over, so the same decoded bytes would be
    interpreted again and again. Each run of a stream (a page's contents, each ``Do`` of a
    form) costs its decoded length, and a PDF whose runs add up to more than the budget is
    refused."""

    def __init__(self, rsrcmgr: PDFResourceManager, device: Any, budget: Budget,
                 work: Budget) -> None:
        super().__init__(rsrcmgr, device)
        self.budget, self.work = budget, work

    def dup(self) -> BoundedInterpreter:
        return BoundedInterpreter(self.rsrcmgr, self.device, self.budget, self.work)

    def render_contents(self, resources: dict[object, object], streams: Sequence[object],
                        ctm: Any = MATRIX_IDENTITY) -> None:
        for item in streams:
            stream = resolve1(item)
            if isinstance(stream, PDFStream):
                decode_stream(stream, self.budget)  # a stream not listed in the xref
                size = len(stream.data if stream.data is not None else stream.rawdata or b"")
                self.work.used += size
                if self.work.used > self.work.limit:
                    raise OverBudget(f"the PDF draws more than {self.work.limit:,} bytes of "
                                     "content (a page or form repeated over and over?); "
                                     "refused")
        super().render_contents(resources, streams, ctm)
