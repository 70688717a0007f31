"""Identifier value types: CVE IDs, ATT&CK IDs, file names, registry keys, bitcoin addresses."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from allsource.model.ids import minted_id, sco_id
from allsource.model.types.base import ValueType


class CVE(ValueType):
    name = "cve"
    stix_type = "vulnerability"
    max_length = 32

    def _clean(self, value: str) -> str | None:
        m = re.fullmatch(r"CVE[-‐‑–](\d{4})[-‐‑–](\d{4,7})", value.upper())
        return f"CVE-{m.group(1)}-{m.group(2)}" if m else None

    def stix(self, value: str) -> dict[str, Any]:
        return {"type": "vulnerability", "spec_version": "2.1",
                "id": minted_id("vulnerability", value), "name": value,
                "external_references": [{"source_name": "cve", "external_id": value}]}


#: ATT&CK id prefixes (longest first) and the STIX type of the objects they name.
_ATTACK_PREFIXES = (("TA", "x-mitre-tactic"), ("DS", "x-mitre-data-source"),
                    ("M", "course-of-action"), ("G", "intrusion-set"), ("C", "campaign"),
                    ("S", "malware"), ("T", "attack-pattern"))


class AttackID(ValueType):
    name = "attack-id"
    stix_type = "attack-pattern"
    max_length = 16

    def _clean(self, value: str) -> str | None:
        m = re.fullmatch(r"(T\d{4}(?:\.\d{3})?|TA\d{4}|[GS]\d{4}|M\d{4}|DS\d{4}|C\d{4})",
                         value.upper())
        return m.group(1) if m else None

    def stix(self, value: str) -> dict[str, Any]:
        """The object the id names, typed by its prefix as ATT&CK types its own objects: a
        technique is an attack-pattern, but a tactic (TA), mitigation (M) or data source (DS)
        is not, and a group, software or campaign id (G, S, C) names the entity the entities
        stage resolves (observables leave those to it)."""
        stix_type = self.object_type(value)
        return {"type": stix_type, "spec_version": "2.1",
                "id": minted_id(stix_type, value), "name": value,
                "external_references": [{"source_name": "mitre-attack", "external_id": value}]}

    @staticmethod
    def object_type(value: str) -> str:
        """The STIX type ATT&CK gives the object with this id."""
        for prefix, stix_type in _ATTACK_PREFIXES:
            if value.startswith(prefix):
                return stix_type
        return "attack-pattern"


class FileName(ValueType):
    name = "filename"
    stix_type = "file"
    max_length = 255

    def _clean(self, value: str) -> str | None:
        if any(c in value for c in "\x00/\\") or value in {".", ".."}:
            return None
        return value

    def stix(self, value: str) -> dict[str, Any]:
        return {"type": "file", "spec_version": "2.1", "id": sco_id("file", {"name": value}),
                "name": value}


class RegistryKey(ValueType):
    name = "regkey"
    stix_type = "windows-registry-key"
    max_length = 1024

    def _clean(self, value: str) -> str | None:
        roots = ("HKEY_", "HKLM", "HKCU", "HKCR", "HKU\\", "HKCC")
        return value if value.upper().startswith(roots) and "\\" in value else None

    def stix(self, value: str) -> dict[str, Any]:
        return {"type": "windows-registry-key", "spec_version": "2.1",
                "id": sco_id("windows-registry-key", {"key": value}), "key": value}


class Bitcoin(ValueType):
    name = "btc"
    stix_type = "cryptocurrency-wallet"
    max_length = 100

    def _clean(self, value: str) -> str | None:
        if re.fullmatch(r"[13][a-km-zA-HJ-NP-Z1-9]{25,34}", value):
            return value if _base58check(value) else None
        v = value.lower()
        if re.fullmatch(r"bc1[ac-hj-np-z02-9]{11,71}", v) and value in (v, value.upper()):
            return v if _bech32_ok(v) else None
        return None

    def stix(self, value: str) -> dict[str, Any]:
        return {"type": "x-allsource-cryptocurrency-wallet", "spec_version": "2.1",
                "id": minted_id("x-allsource-cryptocurrency-wallet", value), "value": value,
                "currency": "BTC"}


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _base58check(address: str) -> bool:
    """A legacy (P2PKH/P2SH) address: 25 bytes whose last 4 are a double-SHA-256 checksum."""
    n = 0
    for c in address:
        n = n * 58 + _B58.index(c)
    pad = len(address) - len(address.lstrip("1"))
    try:
        raw = b"\0" * pad + n.to_bytes((n.bit_length() + 7) // 8, "big")
    except OverflowError:
        return False
    if len(raw) != 25:
        return False
    return hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:]


def _bech32_ok(address: str) -> bool:
    """A segwit address: bech32 (v0) or bech32m (v1+) checksum over the ``bc`` prefix."""
    data = [_BECH32.index(c) for c in address[3:]]
    chk = 1
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    for v in [3, 3, 0, 2, 3, *data]:  # hrp "bc" expanded: high bits, 0, low bits
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk in (1, 0x2BC830A3) and bool(data) and data[0] <= 16
