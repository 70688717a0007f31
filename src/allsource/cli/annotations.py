"""Stage annotations as lines a person reads (``show`` and ``extract``).

Each processing stage leaves a small JSON note on a document (``{"language": "en",
"language_confidence": 0.994, "sentences": [[0, 77], …]}``). Printed as Python's ``repr`` it
is a wall of brackets; here every note becomes one line, ``normalize (v1): language en ·
language confidence 0.994 · truncated no · sentences 3``: keys lose their underscores, booleans
read yes/no, counts by type read ``cve 1, sha256 1``, lists of offsets are counted rather than
printed, and empty values are left out. The entity stage's per-mention reasons (``why``,
``refused``) are not in the line: the commands print them next to the names they explain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: per-mention explanations, printed with the mentions instead
EXPLANATION_KEYS = frozenset({"why", "refused"})
MAX_ITEMS = 8


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_value(v)}" for k, v in list(value.items())[:MAX_ITEMS]) + (
            ", …" if len(value) > MAX_ITEMS else "")
    if isinstance(value, list | tuple):
        if value and all(isinstance(x, list | tuple) for x in value):
            return str(len(value))  # spans or rows: how many, not their offsets
        if value and all(isinstance(x, Mapping) for x in value):
            return ", ".join(_record(x) for x in value[:MAX_ITEMS]) + (
                ", …" if len(value) > MAX_ITEMS else "")
        return ", ".join(_scalar(x) for x in value[:MAX_ITEMS]) + (
            ", …" if len(value) > MAX_ITEMS else "")
    return _scalar(value)


def _record(row: Mapping[str, Any]) -> str:
    """A list item: ``{"topic": "cyber", "score": 0.8}`` → ``cyber 0.8``; a longer one keeps
    its keys, ``(watchlist demo; term Fancy Bear; matched APT28)``."""
    values = {k: v for k, v in row.items() if not isinstance(v, list | dict) and not _empty(v)}
    if len(values) <= 2:
        return " ".join(_scalar(v) for v in values.values())
    return "(" + "; ".join(f"{k.replace('_', ' ')} {_scalar(v)}" for k, v in values.items()) + ")"


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple | Mapping)
                                           and not value)


def annotation_line(stage: str, note: Any) -> str:
    """One plain-text line for a stage's note (no markup; the caller escapes it)."""
    if not isinstance(note, Mapping):
        return f"{stage}: {_value(note)}"
    parts = [f"{key.replace('_', ' ')} {_value(value)}" for key, value in note.items()
             if key not in EXPLANATION_KEYS and key != "version" and not _empty(value)]
    version = f" (v{note['version']})" if "version" in note else ""
    return f"{stage}{version}: {' · '.join(parts) if parts else 'nothing'}"


def explanations(note: Any, key: str) -> dict[tuple[int, int], str]:
    """(start, end) → reason, from the ``entities`` stage's ``why``/``refused`` lists
    (rows ``[start, end, name, reason]``; for ``refused`` the reason names the entity)."""
    rows = note.get(key) if isinstance(note, Mapping) else None
    out: dict[tuple[int, int], str] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, list) and len(row) == 4 and all(isinstance(x, int) for x in row[:2]):
            out[(row[0], row[1])] = f"{row[2]}: {row[3]}" if key == "refused" else str(row[3])
    return out
