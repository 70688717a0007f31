"""The ``files`` collector: local files and folders.

A location is a file or a folder. A folder is walked recursively in sorted order; hidden
files and folders (``.name``) are skipped, symlinks are followed only to files inside the
root (symlinked folders are not followed, so there are no loops and nothing outside the root
is read), and only regular files are read (never a FIFO or device).

Each file is read once (capped at ``max_input_bytes``) and kept as a raw blob, then read by
format:

* whole files — ``.txt``/``.md``/``.html``/``.pdf``/``.eml``/``.json`` and unknown types
  that sniff as text — become one ``kind="file"`` document (see
  :mod:`allsource.collect.extract_text`), ``blob_ref="file"``;
* record files — ``.jsonl``/``.ndjson`` lines and ``.csv``/``.tsv`` rows — become one
  ``kind="record"`` document each (see :mod:`allsource.collect.file_records`),
  ``blob_ref="line:<n>"``/``"row:<n>"``.

A bad file or record is :class:`~allsource.model.records.Rejected` (quarantined) with a ref
naming it (``docs/report.pdf``, ``notes.jsonl#line:7``); the run goes on.

Checkpoint: ``{"files": {relative path: {size, mtime_ns, sha256, done, [offset, line | row]}}}``.
A file whose size and mtime are unchanged since it was read completely is skipped without
being read; one whose bytes hash the same is skipped after reading. A record file that was
being read when the run stopped resumes at the next record (same SHA-256 only). The
checkpoint object is yielded after every item and updated in place only *after* the items it
covers have been yielded, so whenever the runner commits a batch the state it saves covers
exactly the items in it — a killed ``collect`` resumes with nothing lost and nothing read
twice.

Rebuilding reads a kept file again by the same path: a whole file under the name its document
recorded (``meta["path"]``), a record file — whose documents record no path — as JSON Lines
or CSV, as its refs (``line:<n>`` / ``row:<n>``) say.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from allsource.collect.base import Collector, StoredItem, is_url
from allsource.collect.extract_text import extractor_for
from allsource.collect.file_records import csv_items, jsonl_items
from allsource.collect.inputs import read_file
from allsource.collect.roots import is_protected
from allsource.errors import InputError
from allsource.hookspecs import hookimpl
from allsource.model.records import Checkpoint, Collected, Document, Item, Rejected

JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
CSV_SUFFIXES = frozenset({".csv", ".tsv"})


@dataclass(frozen=True, slots=True)
class LocalFile:
    rel: str  #: path relative to the root (the file name when the root is a file)
    path: Path


def iter_local_files(location: str | Path) -> Iterator[LocalFile]:
    """The readable files under ``location`` (a file or folder), sorted by path."""
    root = Path(location).expanduser()
    if root.is_file():
        yield LocalFile(_display(root, root.parent), root.resolve())
        return
    if not root.is_dir():
        raise InputError(f"{root} does not exist (expected a file or a folder)")
    base = root.resolve()
    yield from _walk(base, base)


def _display(path: Path, base: Path) -> str:
    """The relative path as valid UTF-8 (a name with undecodable bytes gets U+FFFD), so it can
    be a checkpoint key and a quarantine ref."""
    rel = path.relative_to(base).as_posix()
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _walk(directory: Path, base: Path) -> Iterator[LocalFile]:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return  # an unreadable folder holds nothing we can read
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_symlink():
            target = path.resolve()
            if target.is_relative_to(base) and target.is_file():
                yield LocalFile(_display(path, base), target)
        elif entry.is_dir(follow_symlinks=False):
            yield from _walk(path, base)
        elif entry.is_file(follow_symlinks=False):
            yield LocalFile(_display(path, base), path)


def _unchanged(old: dict[str, Any] | None, st: os.stat_result) -> bool:
    return bool(old and old.get("done") and old.get("size") == st.st_size
                and old.get("mtime_ns") == st.st_mtime_ns)


class FilesCollector(Collector):
    name: ClassVar[str] = "files"
    description: ClassVar[str] = ("Local files and folders: text, Markdown, HTML, PDF, e-mail, "
                                  "JSON, JSON Lines and CSV")
    default_schedule: ClassVar[int] = 3600
    time_limit: ClassVar[float] = 6 * 3600

    @classmethod
    def detect(cls, location: str, head: bytes) -> int:
        """The fallback reader: a low score for any existing local path, none for URLs."""
        if is_url(location) or "://" in location:
            return 0
        return 10 if Path(location).expanduser().exists() else 0

    def collect(self, checkpoint: dict[str, Any]) -> Iterator[Item]:
        known = checkpoint.get("files")
        files: dict[str, dict[str, Any]] = {
            k: dict(v) for k, v in (known or {}).items() if isinstance(v, dict)}
        mark = Checkpoint({"files": files})
        yield mark  # registered up front, so even a run stopped after one item saves it
        seen: set[str] = set()
        for local in iter_local_files(self.source.location):
            if is_protected(local.path, self.ctx.settings):
                continue  # allsource's own database, blobs or config inside the folder
            seen.add(local.rel)
            yield from self._collect_file(local, files, mark)
        for gone in set(files) - seen:
            del files[gone]
        yield mark

    def _collect_file(self, local: LocalFile, files: dict[str, dict[str, Any]],
                      mark: Checkpoint) -> Iterator[Item]:
        old = files.get(local.rel)
        try:
            st = local.path.stat()
        except OSError as exc:
            yield Rejected(f"cannot read {local.rel}: {exc.strerror}", b"", local.rel)
            return
        if _unchanged(old, st):
            return
        entry: dict[str, Any] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                 "sha256": None, "done": False}
        files[local.rel] = entry
        try:
            data = read_file(local.path, self.ctx.settings.max_input_bytes)
        except InputError as exc:
            yield Rejected(str(exc), b"", local.rel)
            entry["done"] = True  # unchanged next time: not re-read, not re-quarantined
            yield mark
            return
        entry["sha256"] = sha = hashlib.sha256(data).hexdigest()
        if old and old.get("sha256") == sha:
            if old.get("done"):
                entry["done"] = True
                yield mark
                return
            entry.update({k: old[k] for k in ("offset", "line", "row") if k in old})
        for item in self.read(local.rel, data, entry):
            yield item
            yield mark
        for k in ("offset", "line", "row"):
            entry.pop(k, None)
        entry["done"] = True
        yield mark

    def read(self, rel: str, data: bytes, progress: dict[str, Any]
             ) -> Iterator[Collected | Rejected]:
        """Documents from one file's bytes; ``progress`` is updated after each item."""
        sha = self.ctx.keep_blob(data)
        suffix = PurePosixPath(rel).suffix.lower()
        try:
            if suffix in JSONL_SUFFIXES:
                yield from jsonl_items(data, ref=rel, sha=sha, marking=self.marking,
                                       max_item=self.ctx.settings.max_item_bytes,
                                       progress=progress)
            elif suffix in CSV_SUFFIXES:
                yield from csv_items(data, ref=rel, sha=sha, marking=self.marking,
                                     progress=progress)
            else:
                yield Collected(self._whole_file(rel, data, sha))
                progress["done"] = True
        except InputError as exc:
            yield Rejected(f"{rel}: {exc}", data, rel)
            progress["done"] = True

    def _whole_file(self, rel: str, data: bytes, sha: str) -> Document:
        got = extractor_for(rel, data)(data, PurePosixPath(rel).name)
        return Document.build(kind="file", title=got.title, text=got.text,
                              published_at=got.published_at, media_type=got.media_type,
                              blob_sha256=sha, blob_ref="file",
                              meta={"path": rel, **got.meta}, marking=self.marking)

    def reparse(self, raw: bytes, ref: str) -> Iterator[Item]:
        """Re-read a quarantined file (ref: its path) or record (``path#line:n`` /
        ``path#row:n``; the raw bytes are that record alone, as a one-record file)."""
        name, _, part = ref.rpartition("#")
        if part.startswith("line:") and name:
            name = "record.jsonl"
        elif part.startswith("row:") and name:
            name = "record.csv"
        else:
            name = ref
        if not raw:
            raise InputError(f"the raw bytes of {ref} were not kept (over the size cap?); "
                             f"run `allsource collect {self.source.name}` again")
        yield from self.read(name, raw, {})

    def rebuild(self, raw: bytes, stored: Sequence[StoredItem]
                ) -> Iterator[Collected | Rejected]:
        own = PurePosixPath(self.source.location).name
        names: list[str] = []
        for item in stored:
            if item.ref == "file":
                path = item.meta.get("path")
                name = path if isinstance(path, str) and path else own
            elif item.ref.startswith(("line:", "row:")):
                name = _record_name(own, ".jsonl" if item.ref.startswith("line:") else ".csv")
            else:
                continue
            if name not in names:
                names.append(name)
        for name in names:
            yield from self.read(name, raw, {})


def _record_name(own: str, suffix: str) -> str:
    """A name for a kept record file (its documents record none): the source's own file name
    when that is the same kind of file, else ``kept`` + ``suffix``."""
    group = JSONL_SUFFIXES if suffix == ".jsonl" else CSV_SUFFIXES
    return own if PurePosixPath(own).suffix.lower() in group else f"kept{suffix}"


@hookimpl
def register_collectors() -> list[type[Collector]]:
    return [FilesCollector]
