"""Plugin hooks. Built-in collectors and processing stages register through these same
hooks, via the ``allsource.plugins`` entry-point group, exactly as a third-party package
would."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from allsource.collect.base import Collector
    from allsource.process.base import Stage
    from allsource.store.keys import KeyProvider

hookspec = pluggy.HookspecMarker("allsource")
hookimpl = pluggy.HookimplMarker("allsource")


@hookspec
def register_collectors() -> list[type[Collector]]:  # type: ignore[empty-body]
    """Return collector classes provided by this plugin."""


@hookspec
def register_stages() -> list[type[Stage]]:  # type: ignore[empty-body]
    """Return processing-stage classes provided by this plugin."""


@hookspec
def register_key_providers() -> list[KeyProvider]:  # type: ignore[empty-body]
    """Return key providers (KMS clients) that wrap and unwrap a store's data keys; each has
    a ``name`` (what the ``encryption_kms`` setting names) and is called with the settings
    to give a :class:`~allsource.store.keys.KeyEncryptionKey`."""
