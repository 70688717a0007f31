"""Deterministic identifiers.

The same input always yields the same ID, so re-ingesting is a no-op:

* documents: ``x-allsource-document--UUIDv5(NS, "document:" + sha256(canonical content))``;
* STIX cyber-observables: the STIX 2.1 rule itself (section 2.9) — UUIDv5 under the OASIS SCO
  namespace over the canonical JSON of the type's ID-contributing properties — so our IDs for
  ``ipv4-addr``/``domain-name``/… equal those any other STIX producer computes;
* other objects we mint (entities from MISP galaxies, relationships, sources): UUIDv5 under
  our namespace over ``type + ":" + normalized key``;
* objects that arrive with a STIX ID keep it.
"""

from __future__ import annotations

import hashlib
import uuid

import orjson

ALLSOURCE_NS = uuid.UUID("6a1f1d9e-3c3b-5b8e-9a57-2f1e0c4a7d11")
STIX_SCO_NS = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")

DOCUMENT_TYPE = "x-allsource-document"


def uuid5_str(namespace: uuid.UUID, name: str) -> str:
    """``str(uuid.uuid5(namespace, name))`` without building a :class:`uuid.UUID`.

    The same SHA-1 of the namespace's bytes and the UTF-8 name, the same version and variant
    bits (RFC 9562 section 5.5); the standard library's route through ``UUID(bytes=…,
    version=5)`` and ``__str__`` costs about three times the hash, and every document,
    observable and relationship id goes through here on ingest.
    ``tests/model/test_ids_and_types.py`` proves the two equal on any text."""
    digest = bytearray(hashlib.sha1(namespace.bytes + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: object) -> bytes:
    """Sorted-key compact JSON: the canonical form hashed for IDs."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def minted_id(stix_type: str, key: str) -> str:
    """An ID of our own for ``stix_type`` over a normalized ``key``."""
    return f"{stix_type}--{uuid5_str(ALLSOURCE_NS, stix_type + ':' + key)}"


def document_id(content_hash: str) -> str:
    return f"{DOCUMENT_TYPE}--{uuid5_str(ALLSOURCE_NS, 'document:' + content_hash)}"


def sco_id(stix_type: str, contributing: dict[str, object]) -> str:
    """STIX 2.1 deterministic SCO identifier over the ID-contributing properties."""
    return f"{stix_type}--{uuid5_str(STIX_SCO_NS, canonical_json(contributing).decode())}"


def source_id(name: str) -> str:
    return minted_id("identity", "source:" + name.strip().lower())
