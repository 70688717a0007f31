"""What ``allsource source add`` checks before it stores a source, so a typo fails at once
instead of at the first ``collect``.

Each built-in collector reads some shapes of location and no others:

======== ============================================================
kind     location
======== ============================================================
files    an existing file or folder
rss      an http(s) feed URL, or an existing feed file or folder
stix     an http(s) URL, or an existing bundle file or folder
misp     an http(s) feed URL, or an existing event file or folder
gdelt    an http(s) export URL, or an existing export file or folder
taxii    an http(s) URL (a TAXII 2.1 discovery or API root)
galaxy   a MISP galaxy name (``threat-actor``), an http(s) URL or a file
======== ============================================================

Any other scheme (``ftp://``, ``file://``) is refused for every kind: the collectors fetch
http(s) only. A third-party collector's locations are its own business; only the scheme rule
applies to it. Whether a URL answers is not checked here (adding a source never touches the
network; ``collect`` reports a dead URL), and local paths still go through the file-root check
(:func:`allsource.collect.roots.check_location`) after this.
"""

from __future__ import annotations

from pathlib import Path

from allsource.collect.base import is_url
from allsource.errors import SourceError

_URL_OR_PATH = ("rss", "stix", "misp", "gdelt")


def check_source_location(kind: str, location: str) -> None:
    """Raise :class:`SourceError` (one line) when ``kind`` cannot read ``location``."""
    where = location.strip()
    if not where:
        raise SourceError("give a location: a URL, a file or a folder")
    if "://" in where and not is_url(where):
        scheme = where.split("://", 1)[0]
        raise SourceError(f"{scheme}:// is not supported ({where}): give an http(s) URL, "
                          "or a local file or folder")
    if is_url(where):
        if kind == "files":
            raise SourceError(f"a files source reads local files, not URLs ({where}): "
                              "download them, or use the rss/stix/misp kind for a feed")
        return
    if kind == "taxii":
        raise SourceError(f"a taxii source needs an http(s) URL, not {where!r} "
                          "(e.g. https://taxii.example.org/taxii2/)")
    path = Path(where).expanduser()
    if kind == "galaxy":
        from allsource.collect.galaxy import galaxy_names

        known = galaxy_names()
        if where not in known and not path.is_file():
            sample = (", ".join(known[:6]) + (", …" if len(known) > 6 else "")
                      or "none installed: pip install pymispgalaxies")
            raise SourceError(f"no MISP galaxy named {where!r} and no such file "
                              f"(galaxies: {sample})")
        return
    if (kind == "files" or kind in _URL_OR_PATH) and not path.exists():
        raise SourceError(f"{path} does not exist: give an existing file or folder"
                          + ("" if kind == "files" else " or an http(s) URL"))
