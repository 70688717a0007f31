"""Content-addressed blob store for raw inputs.

Every raw input (a feed document, a bundle, a CSV export, a quarantined item) is written once
under ``<root>/<aa>/<bb>/<sha256>``; derived data can always be rebuilt from it. Writes go to a
temporary file and are renamed into place, so a crash never leaves a partial blob under its
final name, and writing the same content twice is a no-op.

Files are created 0600 and folders 0700. On an encrypted store (:mod:`allsource.store.keys`)
a blob file holds the content sealed with AES-256-GCM under the store's current data key, its
associated data naming the blob's digest — a file copied under another name does not open.
The name stays the SHA-256 of the *plain* content (that is what documents reference and what
makes re-ingesting a no-op), so someone holding a copy learns whether a file they already
have is in the store, not what any other file says. Blobs written before encryption was
turned on are read as they are until ``allsource keys encrypt-existing`` seals them.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from allsource.store import crypto, sealed

if TYPE_CHECKING:
    from allsource.store.keys import KeyRing


def _aad(sha256: str) -> bytes:
    return f"blob|{sha256}".encode()


class BlobStore:
    def __init__(self, root: Path, keys: KeyRing | None = None) -> None:
        self.root = Path(root)
        self.keys = keys

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        if self.keys is not None and self.keys.active:
            self._write(target, self.keys.data_key().seal_blob(data, _aad(digest)))
        else:
            if self.keys is not None:
                self.keys.require()
            self._write(target, data)
        return digest

    def _write(self, target: Path, data: bytes) -> None:
        if not target.parent.is_dir():
            # level by level: mkdir(parents=True) would give the upper levels the umask's mode
            self.root.parent.mkdir(parents=True, exist_ok=True)
            for folder in (self.root, target.parent.parent, target.parent):
                folder.mkdir(exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, sha256: str) -> bytes:
        data = self.path(sha256).read_bytes()
        if crypto.is_sealed_blob(data):
            key = sealed.lookup(crypto.blob_key_id(data))
            return crypto.open_blob(key, data, _aad(sha256), f"blob {sha256[:12]}")
        return data

    def is_sealed(self, sha256: str) -> bool:
        with self.path(sha256).open("rb") as fh:
            return crypto.is_sealed_blob(fh.read(len(crypto.BLOB_MAGIC)))

    def seal_existing(self, sha256: str) -> bool:
        """Seal a blob written in plain text (``keys encrypt-existing``); False if it
        already was."""
        if self.keys is None or not self.keys.active or self.is_sealed(sha256):
            return False
        data = self.path(sha256).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            return False  # damaged: leave it for a human to look at
        self._write(self.path(sha256), self.keys.data_key().seal_blob(data, _aad(sha256)))
        return True

    def digests(self) -> list[str]:
        return sorted(p.name for p in self.root.glob("??/??/*") if len(p.name) == 64)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()
