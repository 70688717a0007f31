"""Keys of an encrypted store: where the key-encryption key (KEK) comes from, and the data keys
it wraps.

Where the KEK comes from, first match wins:

1. a KMS plugin named by ``encryption_kms`` (hook ``register_key_providers``): the plugin
   wraps and unwraps data keys, the KEK never reaches this process;
2. ``ALLSOURCE_ENCRYPTION_KEY``: the key itself (base64 of 32 bytes, or a key file's line);
3. the key file ``encryption_key_file`` (default ``allsource.key`` in the working folder, used
   when it exists; ``allsource init`` creates it with mode 0600). Put it on another disk than
   the store: a key stolen with the data protects nothing.

Data keys (table ``data_keys``): one ``index`` key per store (the HMAC key of the blind
search index, :mod:`allsource.store.blind`) and ``data`` keys that seal content. A process
seals with the newest data key younger than :data:`DATA_KEY_DAYS` and creates a fresh one
when there is none, so content is sealed in batches of at most a day per key (and far fewer
than the 2^32 random nonces AES-GCM allows per key). Each row holds the key wrapped by the KEK
and the KEK's id (a keyed fingerprint), so a wrong key is named as such, in one line.

A store with no ``data_keys`` rows is a plaintext store; opening it with a KEK makes it
encrypted from then on (new writes are sealed; ``allsource keys encrypt-existing`` seals what
was written before). Opening an encrypted store without its key still works for what is not
sealed (sources, runs, counts); reading sealed content or writing new documents fails with a
one-line error naming the setting to fix.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Connection, Engine

from allsource.errors import ConfigError, StoreError
from allsource.store import blind_storage, crypto, sealed
from allsource.store import schema as t
from allsource.store.blind import BlindIndex

if TYPE_CHECKING:
    from allsource.config import Settings

DATA_KEY_DAYS = 1
KEY_FILE_HEADER = "allsource-kek-v1"


class KeyEncryptionKey(Protocol):
    """Wraps and unwraps data keys. ``id`` names the KEK (never reveals it)."""

    id: str
    origin: str

    def wrap(self, key_id: str, key: bytes, purpose: str) -> bytes: ...
    def unwrap(self, key_id: str, wrapped: bytes, purpose: str) -> bytes | None: ...


class KeyProvider(Protocol):
    """A KMS plugin: ``name`` is what ``encryption_kms`` names; called with the settings."""

    name: ClassVar[str]

    def __call__(self, settings: Settings) -> KeyEncryptionKey: ...


class LocalKek:
    """A KEK held in this process (from a file or the environment)."""

    def __init__(self, secret: bytes, origin: str) -> None:
        if len(secret) != crypto.KEY_BYTES:
            raise ConfigError(f"the encryption key from {origin} has {len(secret)} bytes; "
                              f"it must have {crypto.KEY_BYTES}")
        self._aead = AESGCM(secret)
        self.id = hmac.new(secret, b"allsource kek id", hashlib.sha256).hexdigest()[:16]
        self.origin = origin

    def wrap(self, key_id: str, key: bytes, purpose: str) -> bytes:
        return crypto.wrap(self._aead, key_id, key, purpose)

    def unwrap(self, key_id: str, wrapped: bytes, purpose: str) -> bytes | None:
        return crypto.unwrap(self._aead, key_id, wrapped, purpose)


def parse_key(text: str, origin: str) -> LocalKek:
    value = text.strip()
    if value.startswith(KEY_FILE_HEADER):
        value = value[len(KEY_FILE_HEADER):].strip()
    try:
        secret = base64.b64decode(value, validate=True)
    except ValueError:
        raise ConfigError(f"the encryption key from {origin} is not base64") from None
    return LocalKek(secret, origin)


def create_key_file(path: Path) -> LocalKek:
    """Write a new random KEK to ``path`` (mode 0600; refuses to overwrite)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = crypto.new_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"key file {path} already exists; not overwriting it") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{KEY_FILE_HEADER} {base64.b64encode(secret).decode()}\n")
    return LocalKek(secret, f"key file {path}")


def read_key_file(path: Path) -> LocalKek:
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the key file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"key file {path} is readable by others (mode "
                          f"{stat.S_IMODE(mode):o}); run: chmod 600 {path}")
    return parse_key(text, f"key file {path}")


def kek_from_settings(settings: Settings) -> KeyEncryptionKey | None:
    """The configured KEK, or None when encryption is not configured."""
    if settings.encryption_kms:
        from allsource.plugins import key_providers

        providers = key_providers()
        if settings.encryption_kms not in providers:
            raise ConfigError(f"no key provider named {settings.encryption_kms!r}; "
                              f"available: {', '.join(providers) or 'none'}")
        return providers[settings.encryption_kms](settings)
    if settings.encryption_key is not None:
        return parse_key(settings.encryption_key.get_secret_value(),
                         "ALLSOURCE_ENCRYPTION_KEY")
    path = Path(settings.encryption_key_file).expanduser()
    if path.exists():
        return read_key_file(path)
    if "encryption_key_file" in settings.model_fields_set:
        raise ConfigError(f"key file {path} does not exist (create one with "
                          "`allsource keys create`)")
    return None


@dataclass(slots=True)
class KeyStatus:
    encrypted: bool
    kek_id: str | None
    kek_origin: str | None
    data_keys: int
    wrapped_by: dict[str, int]
    plaintext_documents: int
    sealed_documents: int


class KeyRing:
    """The data keys of one store, unwrapped by its KEK (see the module docstring)."""

    def __init__(self, engine: Engine, kek: KeyEncryptionKey | None) -> None:
        self.engine = engine
        self.kek = kek
        self.encrypted = False
        self.index_key: bytes | None = None
        self._current: crypto.DataKey | None = None
        self._current_at: datetime | None = None
        self._known: set[str] = set()
        self._blind: BlindIndex | None = None

    # -- loading -------------------------------------------------------------------------
    def load(self) -> None:
        """Unwrap every data key; make the store encrypted if a KEK is set and it is not."""
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(t.data_keys)).all()
            if not rows and self.kek is not None:
                self._create(conn, "index")
                rows = conn.execute(sa.select(t.data_keys)).all()
        self.encrypted = bool(rows)
        if self.encrypted and self.kek is not None:
            self._unwrap_rows(rows)
            sealed.add_loader(self)
            self.prepare()

    def close(self) -> None:
        """Forget this store's unwrapped keys (the registry is process-wide)."""
        sealed.forget(self._known)
        sealed.remove_loader(self)
        self._known.clear()
        self._current = self._current_at = None
        self.index_key = self._blind = None

    def refresh(self) -> None:
        if self.kek is None:
            return
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.data_keys).where(
                t.data_keys.c.id.not_in(list(self._known) or [""]))).all()
        self._unwrap_rows(rows)

    def _unwrap_rows(self, rows: Sequence[Any]) -> None:
        assert self.kek is not None
        for r in rows:
            if r.id in self._known:
                continue
            if r.kek_id != self.kek.id:
                raise StoreError(f"wrong key: this store's keys are wrapped by key "
                                 f"{r.kek_id}, and {self.kek.origin} holds key {self.kek.id}")
            key = self.kek.unwrap(r.id, bytes(r.wrapped), r.purpose)
            if key is None:
                raise StoreError(f"data key {r.id} does not unwrap with {self.kek.origin} "
                                 "(the key or the data_keys row was altered)")
            self._known.add(r.id)
            if r.purpose == "index":
                self.index_key = key
            else:
                sealed.register(crypto.DataKey(r.id, key))
                if self._current_at is None or r.created_at > self._current_at:
                    self._current = crypto.DataKey(r.id, key)
                    self._current_at = r.created_at

    def _create(self, conn: Connection, purpose: str) -> tuple[str, bytes, datetime]:
        assert self.kek is not None
        key_id, key = str(uuid.uuid4()), crypto.new_key()
        now = _now()
        conn.execute(t.data_keys.insert().values(
            id=key_id, purpose=purpose, kek_id=self.kek.id,
            wrapped=self.kek.wrap(key_id, key, purpose), created_at=now, rewrapped_at=None))
        return key_id, key, now

    # -- use -----------------------------------------------------------------------------
    def require(self) -> None:
        """Refuse to write into an encrypted store without its key."""
        if self.encrypted and self.kek is None:
            raise StoreError(f"this store is encrypted and no key is configured: "
                             f"{sealed.NO_KEY_HINT}")

    def prepare(self) -> None:
        """Create (and commit) a fresh data key when the current one is older than
        :data:`DATA_KEY_DAYS`.

        Called when the store opens and before each batch's write transaction — never inside
        one: the key row is committed on its own, so a batch that rolls back never leaves
        content sealed with a key that was not stored (and SQLite's single writer is not
        asked for a second transaction while the first one holds the lock)."""
        self.require()
        if not self.active:
            return
        fresh = (self._current is not None and self._current_at is not None
                 and _now() - self._current_at < timedelta(days=DATA_KEY_DAYS))
        if not fresh:
            with self.engine.begin() as conn:
                key_id, key, now = self._create(conn, "data")
            self._known.add(key_id)
            self._current, self._current_at = crypto.DataKey(key_id, key), now
            sealed.register(self._current)

    def data_key(self) -> crypto.DataKey:
        """The data key to seal with now (see :meth:`prepare`)."""
        self.require()
        if self._current is None:
            raise StoreError("internal: no data key prepared before a sealed write")
        return self._current

    def blind(self) -> BlindIndex:
        """The blind index of this store (see :mod:`allsource.store.blind`)."""
        if self._blind is None:
            self.require()
            if self.index_key is None:
                raise StoreError(f"this store is encrypted and no key is configured: "
                                 f"{sealed.NO_KEY_HINT}")
            self._blind = BlindIndex(self.index_key)
        return self._blind

    def seal_rows(self, table: sa.Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``rows`` of ``table`` with their sealed columns sealed (and, for documents, the
        blind tokens under :data:`blind_storage.TITLE_TOKENS`/``TEXT_TOKENS`` for the
        full-text index, the index columns set to the "not stored" marker). Rows are copied;
        values already sealed are kept."""
        columns = [c for c in table.columns
                   if isinstance(c.type, sealed.Sealed | sealed.SealedJSON)]
        if not columns or not self.active:
            return rows
        key = self.data_key()
        seals = [(c.name, c.type.row_key, getattr(c.type, "when", None),  # type: ignore[attr-defined]
                  sealed.sealer(c.type.column, isinstance(c.type, sealed.SealedJSON)))  # type: ignore[attr-defined]
                 for c in columns]
        blind = self.blind() if table is t.documents else None
        out = []
        for row in rows:
            new = dict(row)
            if blind is not None and not crypto.is_token(str(row.get("text") or "")):
                # the tokens go to the full-text index only; the row keeps a marker
                # (store/blind_storage.py)
                new[blind_storage.TITLE_TOKENS] = blind.index(str(row.get("title") or ""))
                new[blind_storage.TEXT_TOKENS] = blind.index(str(row.get("text") or ""))
                new["index_title"] = new["index_text"] = blind_storage.NOT_STORED
            for name, row_key, when, seal in seals:
                value = new.get(name)
                if value is None or (when is not None and new.get(when[0]) not in when[1]):
                    continue
                new[name] = seal(key, "|".join(str(new[k]) for k in row_key), value)
            out.append(new)
        return out

    def seal_values(self, table: sa.Table, row_key: Mapping[str, Any],
                    values: dict[str, Any]) -> dict[str, Any]:
        """``values`` of an UPDATE of one row of ``table`` with its sealed columns sealed;
        ``row_key`` holds the row's key columns (and a ``when`` column, if one applies)."""
        if not self.active:
            return values
        sealed_row = self.seal_rows(table, [{**row_key, **values}])[0]
        return {name: sealed_row[name] for name in values}

    def insert_with_id(self, conn: Connection, table: sa.Table, row: dict[str, Any]) -> int:
        """Insert ``row`` into a table whose sealed columns are bound to an autoincremented
        ``id``, and return that id. On an encrypted store the INSERT carries blanks in the
        sealed columns and an UPDATE then writes the values sealed for the id the database
        gave, so no plain copy is ever written (not even in a dead row version)."""
        if not self.active:
            return _inserted_id(conn.execute(table.insert().values(**row)))
        names = [c.name for c in table.columns
                 if c.name in row and isinstance(c.type, sealed.Sealed | sealed.SealedJSON)]
        blanks = {n: "" if isinstance(table.c[n].type, sealed.Sealed) else {} for n in names}
        new_id = _inserted_id(conn.execute(table.insert().values(**{**row, **blanks})))
        conn.execute(table.update().where(table.c.id == new_id).values(
            **self.seal_values(table, {**row, "id": new_id}, {n: row[n] for n in names})))
        return new_id

    @property
    def active(self) -> bool:
        """Whether new writes are sealed."""
        return self.encrypted and self.kek is not None

    # -- administration ------------------------------------------------------------------
    def rotate(self, new: KeyEncryptionKey) -> int:
        """Re-wrap every data key under ``new`` in one transaction; content is untouched.
        Returns how many keys were re-wrapped."""
        if self.kek is None:
            raise StoreError(f"rotating needs the current key: {sealed.NO_KEY_HINT}")
        if new.id == self.kek.id:
            raise StoreError("the new key is the key already in use")
        now = _now()
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(t.data_keys)).all()
            for r in rows:
                key = self.kek.unwrap(r.id, bytes(r.wrapped), r.purpose)
                if key is None:
                    raise StoreError(f"data key {r.id} does not unwrap with "
                                     f"{self.kek.origin}; nothing was changed")
                conn.execute(t.data_keys.update().where(t.data_keys.c.id == r.id).values(
                    wrapped=new.wrap(r.id, key, r.purpose), kek_id=new.id, rewrapped_at=now))
        self.kek = new
        return len(rows)

    def status(self) -> KeyStatus:
        d = t.documents
        with self.engine.connect() as conn:
            by_kek: dict[str, int] = {
                r[0]: int(r[1]) for r in conn.execute(
                    sa.select(t.data_keys.c.kek_id, sa.func.count())
                    .group_by(t.data_keys.c.kek_id))}
            plain = conn.execute(sa.select(sa.func.count()).select_from(d).where(
                d.c.index_text.is_(None))).scalar_one()
            total = conn.execute(sa.select(sa.func.count()).select_from(d)).scalar_one()
        return KeyStatus(encrypted=self.encrypted, kek_id=self.kek.id if self.kek else None,
                         kek_origin=self.kek.origin if self.kek else None,
                         data_keys=sum(by_kek.values()), wrapped_by=by_kek,
                         plaintext_documents=int(plain),
                         sealed_documents=int(total) - int(plain))


def _inserted_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _now() -> datetime:
    from allsource.store.sql import utc_now

    return utc_now()
