"""Which local paths sources may read: only inside the configured file roots.

Whoever may add a source (an admin token over the API, the operator on the command line) must
not be able to turn the server's own files into searchable documents — ``/etc``, another
service's data, allsource's own database or key files. So a source whose location is a local
path (any kind: ``files``, a feed file, a STIX bundle, a MISP folder …) is accepted only when
the path, with every symlink resolved, lies inside one of ``file_roots``
(``ALLSOURCE_FILE_ROOTS``, a JSON list). The default is the current user's home folder, the
working directory, the system temporary folder, the installed Python packages and the
environment's ``data`` folder (data sets shipped as packages, e.g. ATT&CK bundles, GDELT
samples) and the shared samples (``samples_dir``, or ``ALLSOURCE_SAMPLES``) when set: where an
operator
keeps what they ingest, never the system's folders. A deployment that
collects from elsewhere names its folders (e.g. ``["/srv/intel"]``), and then only those.

Inside a root, allsource's own files stay out of reach: the blob folder, the SQLite database
(with its journal files) and the config file (:func:`protected_paths`); a folder walk skips
them and a location naming them is refused.

The check runs when a source is added (a clear error at once, API and CLI) and again at the
start of every run (:func:`check_location`), so a source added before the roots were narrowed,
or a symlink swapped after adding, is refused too.
"""

from __future__ import annotations

import os
import sysconfig
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from allsource.config import DEFAULT_CONFIG_FILE, Settings
from allsource.errors import SourceError


def is_local(location: str) -> bool:
    """Whether ``location`` names a local path (not a URL or another scheme)."""
    return "://" not in location


def file_roots(settings: Settings) -> list[Path]:
    """The folders local sources may read, resolved."""
    configured = settings.file_roots
    if configured is None:
        # the installed packages and the environment's data folder (data packages such as
        # the GDELT samples install under <prefix>/data)
        configured = [Path.home(), Path.cwd(), Path(tempfile.gettempdir()),
                      *{Path(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")},
                      Path(sysconfig.get_paths()["data"]) / "data"]
        samples = settings.samples_dir or os.environ.get("ALLSOURCE_SAMPLES")
        if samples:
            configured.append(Path(samples))
    return [Path(root).expanduser().resolve() for root in configured]


def protected_paths(settings: Settings) -> list[Path]:
    """allsource's own files, never read as a source: blobs, database, config file, and the
    keys (encryption and audit signing, with rotated-out encryption keys beside them)."""
    found = [Path(settings.blob_dir).expanduser().resolve(),
             Path(os.environ.get("ALLSOURCE_CONFIG", DEFAULT_CONFIG_FILE)).resolve()]
    for key in (settings.encryption_key_file, settings.audit_key_file):
        if key is not None:
            path = Path(key).expanduser().resolve()
            found.append(path)
            found += sorted(path.parent.glob(path.name + ".retired-*"))
    if settings.is_sqlite:
        database = make_url(settings.database_url).database
        if database and database != ":memory:":
            db = Path(database).expanduser().resolve()
            found += [db, *(db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal"))]
    return found


def is_protected(path: Path, settings: Settings) -> bool:
    resolved = path.resolve()
    return any(resolved == p or resolved.is_relative_to(p) for p in protected_paths(settings))


def check_location(settings: Settings, location: str) -> None:
    """Raise :class:`SourceError` when ``location`` is an existing local path outside the file
    roots or one of allsource's own files. URLs pass (the address guard checks them), and so
    do names that are no path here (a galaxy name, a file not there yet: nothing to read, and
    the check runs again at every collection)."""
    if not is_local(location) or not location.strip():
        return
    given = Path(location).expanduser()
    if not os.path.lexists(given):
        return
    path = given.resolve()
    roots = file_roots(settings)
    if not any(path == root or path.is_relative_to(root) for root in roots):
        raise SourceError(
            f"{path} is outside the folders local sources may read "
            f"({', '.join(str(r) for r in roots)}); add its folder to ALLSOURCE_FILE_ROOTS "
            "to allow it")
    if is_protected(path, settings):
        raise SourceError(f"{path} is one of allsource's own files (store, blobs or config) "
                          "and cannot be a source")
