"""Plugin loading. Called by the app factory (CLI, API), never at import time."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import pluggy

from allsource import hookspecs
from allsource.errors import SourceError

if TYPE_CHECKING:
    from allsource.collect.base import Collector
    from allsource.process.base import Stage

ENTRY_POINT_GROUP = "allsource.plugins"


@cache
def plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("allsource")
    pm.add_hookspecs(hookspecs)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


def collectors(pm: pluggy.PluginManager | None = None) -> dict[str, type[Collector]]:
    """All registered collectors by name (later registrations cannot shadow earlier ones)."""
    pm = pm or plugin_manager()
    found: dict[str, type[Collector]] = {}
    for batch in pm.hook.register_collectors():
        for cls in batch:
            if cls.name in found and found[cls.name] is not cls:
                raise SourceError(f"two plugins register a collector named {cls.name!r}")
            found[cls.name] = cls
    return dict(sorted(found.items()))


def get_collector(kind: str) -> type[Collector]:
    found = collectors()
    try:
        return found[kind]
    except KeyError:
        raise SourceError(f"no collector named {kind!r}; available: {', '.join(found)}") from None


def stages(pm: pluggy.PluginManager | None = None) -> dict[str, type[Stage]]:
    """All registered processing stages by name."""
    pm = pm or plugin_manager()
    found: dict[str, type[Stage]] = {}
    for batch in pm.hook.register_stages():
        for cls in batch:
            if cls.name in found and found[cls.name] is not cls:
                raise SourceError(f"two plugins register a stage named {cls.name!r}")
            found[cls.name] = cls
    return dict(sorted(found.items()))
