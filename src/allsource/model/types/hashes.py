"""File hash value types. A hash maps to a STIX ``file`` object keyed by that hash."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from allsource.model.ids import minted_id, sco_id
from allsource.model.types.base import ValueType


class _Hash(ValueType):
    length: ClassVar[int]
    stix_key: ClassVar[str]
    stix_type = "file"
    max_length = 128

    def _clean(self, value: str) -> str | None:
        v = value.lower()
        if len(v) != self.length or not re.fullmatch(r"[0-9a-f]+", v):
            return None
        if len(set(v)) == 1:  # 000…0 / fff…f placeholders are not real hashes
            return None
        return v

    def stix(self, value: str) -> dict[str, Any]:
        hashes = {self.stix_key: value}
        return {"type": "file", "spec_version": "2.1", "id": sco_id("file", {"hashes": hashes}),
                "hashes": hashes}


class MD5(_Hash):
    name = "md5"
    length = 32
    stix_key = "MD5"


class SHA1(_Hash):
    name = "sha1"
    length = 40
    stix_key = "SHA-1"


class SHA256(_Hash):
    name = "sha256"
    length = 64
    stix_key = "SHA-256"


class SHA512(_Hash):
    name = "sha512"
    length = 128
    stix_key = "SHA-512"


class _PEHash(_Hash):
    """A hash over part of a PE file (import table, signed content), not the file itself:
    many files share one. STIX has no hash key for it, so it is an object of our own."""

    stix_type = "x-allsource-pe-hash"

    def stix(self, value: str) -> dict[str, Any]:
        return {"type": "x-allsource-pe-hash", "spec_version": "2.1",
                "id": minted_id("x-allsource-pe-hash", f"{self.name}:{value}"),
                "algorithm": self.name, "value": value}


class Imphash(_PEHash):
    """MD5 of a PE file's import table (pefile's ``get_imphash``)."""

    name = "imphash"
    length = 32


class Authentihash(_PEHash):
    """SHA-256 of a PE file as Authenticode signs it (the signature left out)."""

    name = "authentihash"
    length = 64
