"""Value types: one registry used by ingest, search and export.

Extractors and importers only *propose* ``(type, value)`` pairs; a type's ``clean()`` decides
whether the value is valid and returns its normalized form (or ``None`` for junk). Every
observable written to the store passes through here.
"""

from allsource.model.types import hashes as _hashes  # noqa: F401  (registers types)
from allsource.model.types import identifiers as _identifiers  # noqa: F401
from allsource.model.types import network as _network  # noqa: F401
from allsource.model.types.base import REGISTRY, ValueType, clean, get_type, observable

__all__ = ["REGISTRY", "ValueType", "clean", "get_type", "observable"]
