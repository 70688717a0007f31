"""PDF text within a decompression budget and a page cap, proven by counting bytes decoded
and pages interpreted. The PDFs are synthetic, written here (no real PDF is downloaded)."""

from __future__ import annotations

import binascii
import zlib

import pytest

from allsource.collect import pdftext
from allsource.collect.extract_text import pdf
from allsource.collect.pdftext import Budget, OverBudget, extract, inflate
from allsource.errors import InputError


def build_pdf(pages: list[bytes], filters: list[str] | None = None) -> bytes:
    """A valid PDF with one content stream per page, encoded with ``filters`` (outermost
    first, as in a /Filter array)."""
    n = len(pages)
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n,
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, content in enumerate(pages):
        data = content
        for name in reversed(filters or []):
            data = {"FlateDecode": zlib.compress,
                    "ASCIIHexDecode": lambda d: binascii.hexlify(d) + b">"}[name](data)
        spec = b" /Filter [" + b" ".join(b"/" + f.encode() for f in filters) + b"]" \
            if filters else b""
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents "
                       b"%d 0 R /Resources << /Font << /F1 3 0 R >> >> >>" % (5 + 2 * i))
        objects.append(b"<< /Length %d%s >>\nstream\n" % (len(data), spec) + data
                       + b"\nendstream")
    return _serialize(objects)


def page(text: str, padding: int = 0) -> bytes:
    return b"BT /F1 12 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET" + b" " * padding


@pytest.mark.parametrize("filters", [None, ["FlateDecode"], ["ASCIIHexDecode", "FlateDecode"],
                                     ["FlateDecode", "FlateDecode"]])
def test_compressed_text_still_reads(filters: list[str] | None) -> None:
    data = build_pdf([page("Phishing rose in March."), page("Ransomware fell.")], filters)
    _, got = extract(data)
    assert "Phishing rose in March." in got.text and "Ransomware fell." in got.text
    assert got.pages == 2 and not got.truncated
    assert got.decoded >= (len(page("x")) * 2 if filters else 0)


def test_inflate_never_produces_more_than_the_budget() -> None:
    bomb = zlib.compress(b"\0" * 50_000_000)  # ~50 KB that inflate to 50 MB
    budget = Budget(1_000_000)
    with pytest.raises(OverBudget):
        inflate(bomb, budget)
    assert budget.used <= 1_000_001  # counted, not timed: 2 % of the bomb was inflated


def test_a_flate_bomb_is_refused_after_the_budget() -> None:
    bomb = build_pdf([page("Hello", padding=40_000_000)], ["FlateDecode"])
    assert len(bomb) < 100_000
    with pytest.raises(OverBudget, match="decompresses to more than 4,000,000 bytes"):
        extract(bomb, max_decoded=4_000_000)
    # through the files extractor, with the default budget, it is an input error
    huge = build_pdf([page("Hello", padding=pdftext.MAX_DECODED + 1)], ["FlateDecode"])
    with pytest.raises(InputError, match="decompression bomb"):
        pdf(huge, "bomb.pdf")


def test_a_nested_flate_bomb_is_refused() -> None:
    inner = zlib.compress(page("Hello", padding=20_000_000))
    nested = build_pdf([b""], None).replace(b"<< /Length 0 >>\nstream\n\n",
                                            b"<< /Length %d /Filter [/FlateDecode "
                                            b"/FlateDecode] >>\nstream\n" % len(
                                                zlib.compress(inner))
                                            + zlib.compress(inner) + b"\n")
    with pytest.raises(OverBudget):
        extract(nested, max_decoded=1_000_000)


def test_pages_beyond_the_cap_are_not_interpreted() -> None:
    data = build_pdf([page(f"Page {i} text.") for i in range(1, 31)], ["FlateDecode"])
    _, got = extract(data, max_pages=5)
    assert got.pages == 5 and got.truncated
    assert "Page 5 text." in got.text and "Page 6 text." not in got.text
    extracted = pdf(build_pdf([page(f"Page {i}.") for i in range(1, 4)]), "three.pdf")
    assert "truncated" not in extracted.meta


def _serialize(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def _stream(body: bytes, attrs: bytes = b"") -> bytes:
    data = zlib.compress(body)
    return (b"<< /Length %d /Filter /FlateDecode %s >>\nstream\n" % (len(data), attrs) + data
            + b"\nendstream")


def _form_drawn(times: int, padding: int) -> bytes:
    """One page that draws one form XObject ``times`` times (a few hundred bytes of page
    content; pdfminer would interpret the form each time)."""
    return _serialize([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
        b"/Resources << /Font << /F1 3 0 R >> /XObject << /X 6 0 R >> >> >>",
        _stream(b"/X Do " * times),
        _stream(page("Form text.", padding=padding),
                b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] "
                b"/Resources << /Font << /F1 3 0 R >> >>"),
    ])


def test_a_form_drawn_again_and_again_is_charged_each_time() -> None:
    data = _form_drawn(200, padding=100_000)
    assert len(data) < 5_000
    with pytest.raises(OverBudget, match="draws more than 1,000,000 bytes"):
        extract(data, max_decoded=1_000_000)  # decoded once (100 KB), drawn 200 times
    _, got = extract(_form_drawn(3, padding=10), max_decoded=1_000_000)
    assert got.text.count("Form text.") == 3
