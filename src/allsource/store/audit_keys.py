"""The Ed25519 key that signs audit checkpoints.

The private key lives in a file (``audit_key_file`` in the settings, PKCS#8 PEM, created 0600
by ``allsource init`` or ``allsource audit keygen``) or, for deployments that inject secrets,
in the environment variable :data:`KEY_ENV` (the same PEM, or the 32-byte raw key as 64 hex
digits). The environment wins when both are set.

Only the *public* key is needed to verify: it is written into every checkpoint and into the
export, and ``allsource audit verify --public-key HEX`` checks against a key held elsewhere.
A checkpoint whose key is not trusted counts as forged, so replacing the key in the database
and re-signing does not pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from allsource.errors import ConfigError

__all__ = ["KEY_ENV", "AuditKey", "generate_key_file", "load_key", "signature_ok"]

KEY_ENV = "ALLSOURCE_AUDIT_KEY"


@dataclass(frozen=True, slots=True)
class AuditKey:
    """A private signing key and its public half (hex, 64 digits)."""

    private: Ed25519PrivateKey
    public_hex: str

    @classmethod
    def of(cls, private: Ed25519PrivateKey) -> AuditKey:
        raw = private.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
        return cls(private, raw.hex())

    def sign(self, message: bytes) -> str:
        return self.private.sign(message).hex()


def _parse(text: str, where: str) -> AuditKey:
    text = text.strip()
    try:
        if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
            return AuditKey.of(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text)))
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except ValueError as exc:
        raise ConfigError(f"the audit key in {where} is not an Ed25519 private key: {exc}"
                          ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"the audit key in {where} is not an Ed25519 key")
    return AuditKey.of(key)


def load_key(path: Path | None) -> AuditKey | None:
    """The signing key from :data:`KEY_ENV` or ``path``; ``None`` when neither holds one."""
    env = os.environ.get(KEY_ENV)
    if env:
        return _parse(env, f"${KEY_ENV}")
    if path is None:
        return None
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the audit key {path}: {exc}") from None
    return _parse(text, str(path))


def generate_key_file(path: Path) -> AuditKey:
    """Create a new key at ``path``, readable by its owner only (0600, never overwritten)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"{path} exists already: the audit key is never overwritten "
                          "(move it away first to start a new one)") from None
    except OSError as exc:
        raise ConfigError(f"cannot create the audit key {path}: {exc}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return AuditKey.of(key)


def signature_ok(public_hex: str, signature_hex: str, message: bytes) -> bool:
    """Whether ``signature_hex`` is ``public_hex``'s Ed25519 signature of ``message``."""
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        public.verify(bytes.fromhex(signature_hex), message)
    except (ValueError, InvalidSignature):
        return False
    return True
