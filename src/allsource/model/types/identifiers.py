"""Identifier value types: CVE IDs, ATT&CK IDs, file names, registry keys, bitcoin addresses."""

from __future__ import annotations

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


class AttackID(ValueType):
    name = "attack-id"
    stix_type = "attack-pattern"
    max_length = 16

    def _clean(self, value: str) -> str | None:
        m = re.fullmatch(r"(T\d{4}(?:\.\d{3})?|TA\d{4}|[GS]\d{4}|M\d{4}|DS\d{4}|C\d{4})",
                         value.upper())
        return m.group(1) if m else None

    def stix(self, value: str) -> dict[str, Any]:
        return {"type": "attack-pattern", "spec_version": "2.1",
                "id": minted_id("attack-pattern", value), "name": value,
                "external_references": [{"source_name": "mitre-attack", "external_id": value}]}


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
        if re.fullmatch(r"[13][a-km-zA-HJ-NP-Z1-9]{25,34}|bc1[ac-hj-np-z02-9]{11,71}", value):
            return value
        return None

    def stix(self, value: str) -> dict[str, Any]:
        return {"type": "x-allsource-cryptocurrency-wallet", "spec_version": "2.1",
                "id": minted_id("x-allsource-cryptocurrency-wallet", value), "value": value,
                "currency": "BTC"}
