"""allsource: an all-source intelligence platform.

The public scripting API is small on purpose; see ``__all__``.
"""

from allsource.model.markings import TLP, Audience, Classification, Marking, can_release
from allsource.model.records import Document, Relationship, Source, StixObject

__version__ = "0.1.0"

__all__ = [
    "TLP",
    "Audience",
    "Classification",
    "Document",
    "Marking",
    "Relationship",
    "Source",
    "StixObject",
    "__version__",
    "can_release",
]
