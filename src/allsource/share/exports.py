"""The one entry the CLI, the API and the web workspace export through: a selection, a
format, a reader → bytes (or a feed folder), so all three give the same file.

Formats: ``stix`` (a STIX 2.1 bundle, :mod:`allsource.share.stix_bundle`), ``misp`` (one MISP
event of the whole selection, :mod:`allsource.share.misp_export`) and ``misp-feed`` (a MISP
feed folder, one event per report, :mod:`allsource.share.misp_feed`; on disk only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from allsource.errors import InputError
from allsource.model.markings import Audience
from allsource.share.misp_export import misp_events
from allsource.share.misp_feed import write_feed
from allsource.share.selection import Selection, select
from allsource.share.stix_bundle import export_bundle

__all__ = ["FORMATS", "Exported", "export", "export_feed"]

FORMATS = ("stix", "misp", "misp-feed")
MEDIA_TYPES = {"stix": "application/stix+json;version=2.1", "misp": "application/json"}


@dataclass(slots=True)
class Exported:
    body: bytes
    media_type: str
    selection: Selection
    objects: int
    left_out: list[str]


def export(store: Any, audience: Audience, fmt: str, *, story: str | None = None,
           case: str | None = None, query: str | None = None, entity: str | None = None,
           watchlist: str | None = None, since: datetime | None = None,
           until: datetime | None = None) -> Exported:
    """The selection the options name, exported in ``fmt`` (``stix`` or ``misp``) for
    ``audience``."""
    if fmt not in ("stix", "misp"):
        raise InputError(f"unknown export format {fmt!r}: use stix or misp "
                         "(misp-feed writes a folder)")
    sel = select(store, audience, story=story, case=case, query=query, entity=entity,
                 watchlist=watchlist, since=since, until=until)
    found = export_bundle(store, sel, audience)
    if fmt == "stix":
        body = orjson.dumps(found.bundle)
        count = len(found.bundle["objects"])
    else:
        [event] = misp_events(found.bundle, label=sel.label)
        body = orjson.dumps(event)
        count = len(event["Event"]["Attribute"]) + len(event["Event"]["Object"])
    return Exported(body, MEDIA_TYPES[fmt], sel, count, found.left_out)


def export_feed(store: Any, audience: Audience, folder: Path, **options: Any
                ) -> dict[str, int]:
    """Publish the selection as a MISP feed in ``folder`` (one event per report)."""
    sel = select(store, audience, **options)
    found = export_bundle(store, sel, audience)
    return write_feed(misp_events(found.bundle, label=sel.label, per_report=True), folder)
