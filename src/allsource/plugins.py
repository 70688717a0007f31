"""Plugin loading. Called by the app factory (CLI, API), never at import time."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import pluggy

from allsource import hookspecs
from allsource.errors import SourceError

if TYPE_CHECKING:
    from allsource.collect.base import Collector
    from allsource.process.base import Stage
    from allsource.store.keys import KeyProvider

ENTRY_POINT_GROUP = "allsource.plugins"


@cache
def plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("allsource")
    pm.add_hookspecs(hookspecs)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


def _by_name(batches: list[list[Any]], what: str) -> dict[str, Any]:
    """Classes from all plugins' answers to one hook, by their ``name`` (two different
    classes may not claim the same name)."""
    found: dict[str, Any] = {}
    for batch in batches:
        for cls in batch:
            if cls.name in found and found[cls.name] is not cls:
                raise SourceError(f"two plugins register a {what} named {cls.name!r}")
            found[cls.name] = cls
    return dict(sorted(found.items()))


def collectors(pm: pluggy.PluginManager | None = None) -> dict[str, type[Collector]]:
    """All registered collectors by name."""
    return _by_name((pm or plugin_manager()).hook.register_collectors(), "collector")


def get_collector(kind: str) -> type[Collector]:
    found = collectors()
    try:
        return found[kind]
    except KeyError:
        raise SourceError(f"no collector named {kind!r}; available: {', '.join(found)}") from None


def stages(pm: pluggy.PluginManager | None = None) -> dict[str, type[Stage]]:
    """All registered processing stages by name."""
    return _by_name((pm or plugin_manager()).hook.register_stages(), "stage")


def key_providers(pm: pluggy.PluginManager | None = None) -> dict[str, KeyProvider]:
    """All registered key providers (KMS plugins) by name."""
    return _by_name((pm or plugin_manager()).hook.register_key_providers(), "key provider")
