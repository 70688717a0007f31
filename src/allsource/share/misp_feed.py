"""A MISP feed on disk: what a MISP instance subscribes to, with no plugin.

MISP's "MISP feed" format (the one ``misp-feed`` tools and MISP's own feed generator
write) is a folder of:

* ``manifest.json`` — every event's uuid mapped to its summary: ``info``, ``date``,
  ``analysis``, ``threat_level_id``, ``timestamp``, ``Orgc`` and ``Tag``; MISP reads it
  first and fetches only the events whose ``timestamp`` changed since its last pull;
* ``<uuid>.json`` — each event, ``{"Event": {...}}``;
* ``hashes.csv`` — ``md5(value),event uuid`` per attribute value (each part of a composite
  ``a|b`` value), which MISP uses to correlate a feed without downloading it.

:func:`write_feed` writes them from :func:`allsource.share.misp_export.misp_events` (one
event per report of a selection, so a document is always the same event and an unchanged one
keeps its timestamp). Files are written whole, then renamed, so a subscriber never reads half
a file; events the selection no longer holds are removed along with their files.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

__all__ = ["MANIFEST_KEYS", "write_feed"]

MANIFEST_KEYS = ("info", "date", "analysis", "threat_level_id", "timestamp", "Orgc", "Tag")


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _values(event: dict[str, Any]) -> list[str]:
    attrs = list(event.get("Attribute", []))
    for obj in event.get("Object", []):
        attrs += obj.get("Attribute", [])
    out = []
    for attr in attrs:
        value = str(attr.get("value", ""))
        out += value.split("|") if "|" in str(attr.get("type", "")) else [value]
    return out


def write_feed(events: Sequence[dict[str, Any]], folder: Path) -> dict[str, int]:
    """Write ``events`` (``{"Event": …}``) as a MISP feed in ``folder``; counts written."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {}
    lines: list[str] = []
    for wrapped in events:
        event = wrapped["Event"]
        uuid = str(event["uuid"])
        manifest[uuid] = {k: event[k] for k in MANIFEST_KEYS if k in event}
        _write(folder / f"{uuid}.json", orjson.dumps(wrapped))
        lines += [f"{hashlib.md5(v.encode()).hexdigest()},{uuid}"
                  for v in _values(event) if v]
    previous = folder / "manifest.json"
    if previous.is_file():
        try:
            old = orjson.loads(previous.read_bytes())
        except orjson.JSONDecodeError:
            old = {}
        for gone in set(old if isinstance(old, dict) else {}) - set(manifest):
            (folder / f"{gone}.json").unlink(missing_ok=True)
    _write(folder / "hashes.csv", ("\n".join(lines) + "\n" if lines else "").encode())
    _write(previous, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return {"events": len(manifest), "hashes": len(lines)}
