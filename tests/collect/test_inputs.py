"""Input guards: binary or text by the share of control bytes, and control bytes stripped.

The report is written for this test in the shape text copied out of a PDF takes: where the
PDF set the "fi" ligature, the copy holds a NUL ("con\\x00rmed"). The binary inputs are real:
the bytes of the running Python interpreter, zlib-compressed text, and a zero-filled block."""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import pytest

from allsource.collect.extract_text import extractor_for
from allsource.collect.inputs import (
    CONTROL_BYTES,
    MAX_CONTROL_SHARE,
    decode_text,
    looks_binary,
    western_text,
)
from allsource.errors import InputError

REPORT = (
    "Incident report 2024-117\n\n"
    "On 12 March the security team con\x00rmed that an attacker had obtained valid VPN "
    "credentials for a contractor account. The intrusion was detected when an unusual "
    "volume of outbound traffic was \x00agged by the proxy.\n\n"
    "Timeline. The \x00rst logon from an unfamiliar address took place at 02:14 UTC. Within "
    "an hour the attacker ran an ef\x00cient internal scan and copied \x00les from two "
    "\x00nance shares to a staging folder.\n\n"
    "Response. The account was disabled, the staging folder removed and the VPN gateway "
    "recon\x00gured to require a second factor for every contractor.\n") * 6


def test_a_ligature_nul_does_not_make_a_report_binary() -> None:
    data = REPORT.encode("utf-8")
    assert b"\x00" in data[:8192] and len(data) > 2000
    assert not looks_binary(data)
    text = decode_text(data)
    assert "\x00" not in text and "conrmed that an attacker" in text
    assert len(text) == len(REPORT) - REPORT.count("\x00")
    got = extractor_for("report.txt", data)(data, "report.txt")
    assert got.text.startswith("Incident report 2024-117") and "\x00" not in got.text
    # no extension: sniffed as text, not refused as an "unsupported binary file type"
    assert extractor_for("report", data) is extractor_for("report.txt", data)


@pytest.mark.parametrize("data", [
    Path(sys.executable).read_bytes()[:65536],
    zlib.compress(REPORT.encode("utf-8") * 20, 9),
    bytes(4096),
], ids=["executable", "compressed", "zeros"])
def test_real_binary_is_still_refused(data: bytes) -> None:
    assert looks_binary(data)
    with pytest.raises(InputError, match="binary"):
        decode_text(data)
    with pytest.raises(InputError, match="binary"):
        extractor_for("blob", data)


def test_the_share_of_control_bytes_decides() -> None:
    text = b"plain words and spaces " * 400
    n = len(text[:8192])
    under = int(n * MAX_CONTROL_SHARE)  # exactly at the limit: still text
    at_limit = bytearray(text)
    for i in range(under):
        at_limit[i * (n // under)] = CONTROL_BYTES[i % len(CONTROL_BYTES)]
    assert not looks_binary(bytes(at_limit))
    over = bytearray(at_limit)
    over[1:4] = b"\x01\x02\x03"
    assert looks_binary(bytes(over))
    # tab, newline, form feed, carriage return and escape are text
    assert not looks_binary(b"\t\n\x0c\r\x1b" * 1000)
    bell = b"a\tb\nc\x0cd\re\x1b[0mf\x07g" + b" and more words" * 4
    assert decode_text(bell) == "a\tb\nc\x0cd\re\x1b[0mfg" + " and more words" * 4


def test_a_bom_still_means_text() -> None:
    data = REPORT.encode("utf-16")  # ASCII in UTF-16 is half NULs
    assert not looks_binary(data)
    assert decode_text(data) == REPORT.replace("\x00", "")


# Authored sentences; each is encoded in a legacy code page and must decode back exactly.
SHORT_WESTERN = [
    ("Café München", "latin-1"),
    ("L'équipe a été informée à midi.", "cp1252"),
    ("El atacante envió correos electrónicos a la compañía.", "latin-1"),
    ("Die Behörde in München meldet größere Schäden.", "latin-1"),
    ("Le coût estimé dépasse 2 millions d’€. “Très” grave – selon l’équipe.", "cp1252"),
    ("São Paulo: ataque à rede da prefeitura não foi contido.", "latin-1"),
]
LONG_WESTERN = [
    ("Le rapport décrit une campagne d'hameçonnage visant des employés du ministère à "
     "Paris. " * 80, "latin-1"),
    ("Die Angreifer nutzten eine Schwachstelle, um Zugriff auf die Systeme der Behörde in "
     "München zu erhalten. Größere Schäden wurden verhindert. " * 40, "cp1252"),
]
OTHER_SCRIPTS = [
    ("Привет, мир! Хакеры атаковали сервер.", "cp1251"),
    ("Zażółć gęślą jaźń, atak na serwer.", "cp1250"),
    ("Zażółć gęślą jaźń, atak na serwer ministerstwa. " * 100, "cp1250"),
    ("Γειά σου κόσμε, επίθεση στον διακομιστή.", "cp1253"),
]


@pytest.mark.parametrize(("text", "encoding"), SHORT_WESTERN + LONG_WESTERN + OTHER_SCRIPTS,
                         ids=lambda v: v[:24] if isinstance(v, str) and len(v) > 8 else v)
def test_legacy_code_pages_decode_back(text: str, encoding: str) -> None:
    assert decode_text(text.encode(encoding)) == text


def test_western_text_is_refused_for_other_scripts() -> None:
    assert western_text("Café München".encode("latin-1")) == "Café München"
    assert western_text("Привет, мир!".encode("cp1251")) is None  # "Ïðèâåò": no ASCII
    assert western_text("Zażółć gęślą".encode("cp1250")) is None  # "Za¿ó³æ": symbols
    assert western_text(b"\x81\x8d") is None  # undefined in Windows-1252


def test_a_latin1_text_file_is_indexed_as_written() -> None:
    data = "Café München\nDie Behörde meldet größere Schäden.".encode("latin-1")
    got = extractor_for("report.txt", data)(data, "report.txt")
    assert got.title == "Café München" and "größere Schäden" in got.text
