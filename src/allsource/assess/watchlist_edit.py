"""Changing one watchlist's settings by its id: name, severity, description, on/off, TLP.

:func:`allsource.assess.watchlists.save_watchlist` finds a watchlist by *name* (the CLI's
way: ``watchlist add NAME`` creates or updates). The workspace edits the watchlist a page
shows, by id, and may rename it; a new name must still be unique among the watchlists the
editor may read (names are unique per reader, not store-wide: see
:func:`~allsource.assess.watchlists.save_watchlist`), so a watchlist the editor may not
read never blocks a name and is never named in the refusal.

A new TLP applies to the watchlist from then on. Hits keep the marking they were recorded
with (the watchlist's and their document's combined), and a hit is shown only while its
watchlist is readable too, so lowering the TLP never reveals a hit recorded under the old
one, and raising it hides the watchlist's hits with it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from allsource.assess import watchlists as wl
from allsource.assess.alerts import Severity
from allsource.errors import InputError
from allsource.model.markings import TLP, Audience
from allsource.store import schema as t
from allsource.store.sql import SqlStore

__all__ = ["allowed_tlps", "update_watchlist"]


def allowed_tlps(audience: Audience) -> list[TLP]:
    """The TLPs an editor may give a watchlist: none above what they may read, so nobody
    marks a watchlist out of their own sight."""
    ceiling = TLP.RED if audience.unrestricted else audience.max_tlp
    return [level for level in TLP if level <= ceiling]


def update_watchlist(store: SqlStore, watchlist: wl.Watchlist, editor: Audience, *,
                     name: str | None = None, severity: Severity | None = None,
                     description: str | None = None, enabled: bool | None = None,
                     tlp: TLP | None = None) -> wl.Watchlist:
    """Apply the settings given to ``watchlist`` (one ``editor`` may read, checked by the
    caller) and return it as stored."""
    values: dict[str, Any] = {}
    if name is not None:
        name = " ".join(name.split())
        if not name or len(name) > 200:
            raise InputError("a watchlist name is 1-200 characters")
        if name != watchlist.name:
            try:
                taken = wl.name_taken(store, name, editor)
            except InputError:  # several already
                taken = True
            if taken:
                raise InputError(f"a watchlist named {name!r} already exists")
            values["name"] = name
    if severity is not None:
        values["severity"] = int(severity)
    if description is not None:
        if len(description) > 2000:
            raise InputError("a description is at most 2,000 characters")
        values["description"] = description.strip()
    if enabled is not None:
        values["enabled"] = enabled
    if tlp is not None:
        if tlp not in allowed_tlps(editor):
            raise InputError(f"{tlp.label} is above what you may read")
        values.update(replace(watchlist.marking, tlp=tlp).to_columns())
    if values:
        w = t.watchlists
        with store.engine.begin() as conn:
            conn.execute(w.update().where(w.c.id == watchlist.id).values(**values))
    found = wl.get_watchlist(store, watchlist.id)
    if found is None:
        raise InputError("the watchlist was removed meanwhile")
    return found
