"""The ``next`` cursor: the last ingest sequence number a page reached, written so that a
client treats it as opaque (``"v1.<seq in base 36>"``) and a forged or garbled one is refused
rather than read as the start. A cursor only says *where* to continue: every page is filtered
by the caller's token again, so a made-up cursor can skip objects but never reveal one."""

from __future__ import annotations

__all__ = ["decode_cursor", "encode_cursor"]

_PREFIX = "v1."
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def encode_cursor(seq: int) -> str:
    """The cursor after ``seq``."""
    if seq < 0:
        raise ValueError("a cursor counts from 0")
    digits = ""
    while True:
        seq, rest = divmod(seq, 36)
        digits = _DIGITS[rest] + digits
        if seq == 0:
            return _PREFIX + digits


def decode_cursor(text: str) -> int | None:
    """The sequence number a cursor holds, or ``None`` when ``text`` is not one of ours."""
    if not text.startswith(_PREFIX) or not 0 < len(text) - len(_PREFIX) <= 13:
        return None
    body = text[len(_PREFIX):]
    if any(c not in _DIGITS for c in body):
        return None
    return int(body, 36)
