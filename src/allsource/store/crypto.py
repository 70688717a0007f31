"""AES-256-GCM sealing of protected values: the format of what an encrypted store writes.

Envelope encryption: content is encrypted with a *data key* (32 random bytes); a data key is
stored only *wrapped* (itself AES-256-GCM-encrypted) by the *key-encryption key* (KEK) that
:mod:`allsource.store.keys` loads from a file, the environment or a KMS plugin. Rotating the
KEK re-wraps the few data keys and leaves the content alone.

Two sealed forms, both carrying the data key's id so a reader knows which key opens them:

* a text token for database columns: ``as1.`` + base64(key id ‖ 12-byte nonce ‖ ciphertext ‖
  16-byte tag). Base64 keeps it valid in any text column of either backend;
* a binary frame for blob files: ``ASB1`` ‖ key id ‖ nonce ‖ ciphertext ‖ tag.

Associated data binds a sealed value to *where* it belongs — ``documents.text`` of row
``<id>``, or blob ``<sha256>`` — so a ciphertext moved to another row, column or file name
fails authentication instead of decrypting as the wrong content. Every failure (a wrong key,
an unknown key id, a tampered or moved value) raises :class:`~allsource.errors.StoreError`
with one line saying what is wrong; nothing ever returns garbage.
"""

from __future__ import annotations

import binascii
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from allsource.errors import StoreError

TOKEN_PREFIX = "as1."
BLOB_MAGIC = b"ASB1"
KEY_BYTES = 32
_NONCE = 12
_ID = 16


class DataKey:
    """An unwrapped data key: its id (a UUID) and its AES-GCM cipher."""

    __slots__ = ("aead", "id", "raw_id")

    def __init__(self, key_id: str, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise StoreError(f"data key {key_id} has {len(key)} bytes, not {KEY_BYTES}")
        self.id = key_id
        self.raw_id = uuid.UUID(key_id).bytes
        self.aead = AESGCM(key)

    def _seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return self.raw_id + nonce + self.aead.encrypt(nonce, plaintext, aad)

    def seal_text(self, plaintext: str, aad: bytes) -> str:
        sealed = self._seal(plaintext.encode("utf-8", "surrogatepass"), aad)
        return TOKEN_PREFIX + binascii.b2a_base64(sealed, newline=False).decode("ascii")

    def seal_blob(self, data: bytes, aad: bytes) -> bytes:
        return BLOB_MAGIC + self._seal(data, aad)


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def is_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def is_sealed_blob(data: bytes) -> bool:
    return data.startswith(BLOB_MAGIC)


def token_key_id(token: str) -> str:
    """The id of the data key a token was sealed with."""
    return str(uuid.UUID(bytes=_decode(token)[:_ID]))


def decode_token(token: str) -> bytes:
    """A text token's sealed bytes (key id ‖ nonce ‖ ciphertext ‖ tag), decoded once so its
    key id (:func:`raw_key_id`) and its content (:func:`open_sealed`) share the work."""
    return _decode(token)


def raw_key_id(sealed: bytes) -> bytes:
    """The 16-byte id of the data key that sealed ``sealed``."""
    return sealed[:_ID]


def blob_key_id(data: bytes) -> str:
    return str(uuid.UUID(bytes=data[len(BLOB_MAGIC):len(BLOB_MAGIC) + _ID]))


def _decode(token: str) -> bytes:
    try:
        raw = binascii.a2b_base64(token[len(TOKEN_PREFIX):])
    except (binascii.Error, ValueError):
        raise StoreError("an encrypted value in the store is damaged (not base64)") from None
    if len(raw) < _ID + _NONCE + 16:
        raise StoreError("an encrypted value in the store is damaged (too short)")
    return raw


def open_sealed(key: DataKey, sealed: bytes, aad: bytes, what: str) -> bytes:
    """Decrypt ``key id ‖ nonce ‖ ciphertext`` sealed under ``aad``; ``what`` names the
    value in the error."""
    nonce = sealed[_ID:_ID + _NONCE]
    try:
        return key.aead.decrypt(nonce, sealed[_ID + _NONCE:], aad)
    except InvalidTag:
        raise StoreError(f"{what} does not decrypt: it was altered, or moved from another "
                         "row or file") from None


def open_text(key: DataKey, token: str, aad: bytes, what: str) -> str:
    return open_sealed(key, _decode(token), aad, what).decode("utf-8", "surrogatepass")


def open_blob(key: DataKey, data: bytes, aad: bytes, what: str) -> bytes:
    return open_sealed(key, data[len(BLOB_MAGIC):], aad, what)


def wrap(kek: AESGCM, key_id: str, key: bytes, purpose: str) -> bytes:
    """A data key sealed by the KEK; the key's id and purpose are its associated data."""
    nonce = os.urandom(_NONCE)
    return nonce + kek.encrypt(nonce, key, f"allsource-dek|{key_id}|{purpose}".encode())


def unwrap(kek: AESGCM, key_id: str, wrapped: bytes, purpose: str) -> bytes | None:
    """The data key, or None when this KEK did not wrap it."""
    try:
        return kek.decrypt(wrapped[:_NONCE], wrapped[_NONCE:],
                           f"allsource-dek|{key_id}|{purpose}".encode())
    except InvalidTag:
        return None
