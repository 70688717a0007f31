"""Analysts' corrections to alias resolution (:class:`gazetteer.Overrides`): withdrawn names,
names split off into an entity of their own, analysts' names and forced merges — on small
hand-made records, and once on the real gazetteer (APT28 / Fancy Bear)."""

from __future__ import annotations

import pickle

from allsource.collect.misp_galaxy_map import entity_id
from allsource.model import resolution as res
from allsource.process import gazetteer as gz
from allsource.process.aliases import AliasPolicy
from allsource.process.entities import Gazetteer

APT28 = "intrusion-set--bef4c620-0787-42a8-a96d-b7eb6e85917c"  # ATT&CK G0007
MISP_APT28 = entity_id("threat-actor", "APT28")
MISP = "misp-galaxy:threat-actor"


def _entry(eid: str, name: str, collection: str, aliases: tuple[str, ...] = (),
           etype: str = "threat-actor") -> gz.Entry:
    return gz.Entry(id=eid, type=etype, name=name, source=f"{collection} v1",
                    collection=collection,
                    names=[(name, "name"), *((a, "alias") for a in aliases)])


def _entries() -> list[gz.Entry]:
    return [_entry("intrusion-set--a", "Sofacy", gz.ATTACK, ("Pawn Storm", "Tsar Team")),
            _entry("intrusion-set--m", "SOFACY", MISP, ("Pawn Storm", "Sednit")),
            _entry("intrusion-set--z", "Zebrocy", gz.ATTACK)]


def _resolve(entries: list[gz.Entry], overrides: res.Overrides) -> dict[str, res.ResolvedEntity]:
    entities, _ = gz.resolve_entries(entries, AliasPolicy(), overrides=overrides)
    return {m: e for e in entities for m in e.member_ids}


def _split(entity: str, alias: str, members: tuple[str, ...]) -> res.Overrides:
    sid = res.analyst_entry_id("threat-actor", entity, alias, "split")
    return res.Overrides.make(
        separate=[(sid, m) for m in members],
        withdrawn=[(m, "pawn storm") for m in members],
        names=[res.AnalystName(sid, "threat-actor", alias, "analyst alice")])


def test_without_overrides_the_records_merge() -> None:
    by_member = _resolve(_entries(), res.Overrides())
    entity = by_member["intrusion-set--a"]
    assert by_member["intrusion-set--m"] is entity and "Pawn Storm" in entity.aliases


def test_a_withdrawn_name_is_neither_matched_nor_evidence() -> None:
    entries = [_entry("intrusion-set--a", "Alpha", gz.ATTACK, ("TG-4127", "Tsar Team")),
               _entry("intrusion-set--b", "Beta", MISP, ("TG-4127",))]
    assert len({id(e) for e in _resolve(entries, res.Overrides()).values()}) == 1
    withdrawn = res.Overrides.make(withdrawn=[("intrusion-set--a", "tg 4127"),
                                             ("intrusion-set--a", "tsar team"),
                                             ("intrusion-set--a", "alpha")])
    by_member = _resolve(entries, withdrawn)
    alpha = by_member["intrusion-set--a"]
    assert by_member["intrusion-set--b"] is not alpha  # the shared alias was the evidence
    assert alpha.aliases == [] and {x.alias for x in alpha.links} == {"Alpha"}
    assert alpha.name == "Alpha"  # a record keeps its own primary name


def test_an_undone_alias_becomes_an_entity_of_its_own() -> None:
    overrides = _split("intrusion-set--a", "Pawn Storm", ("intrusion-set--a", "intrusion-set--m"))
    by_member = _resolve(_entries(), overrides)
    sofacy = by_member["intrusion-set--a"]
    [name] = overrides.names
    pawn = by_member[name.id]
    assert pawn is not sofacy and pawn.name == "Pawn Storm" and pawn.id == name.id
    assert "Pawn Storm" not in sofacy.aliases
    assert by_member["intrusion-set--m"] is sofacy  # the other evidence still merges them
    [link] = pawn.links
    assert (link.rule, link.source) == ("name", "analyst alice")


def test_an_analyst_name_joins_an_entity_and_is_never_evidence() -> None:
    name = res.AnalystName(res.analyst_entry_id("threat-actor", "intrusion-set--z", "Zebra",
                                              "alias"),
                          "threat-actor", "Zebra", "analyst bob", join="intrusion-set--z")
    entries = [*_entries(), _entry("intrusion-set--q", "Zebra", MISP)]
    by_member = _resolve(entries, res.Overrides.make(names=[name]))
    zebrocy = by_member["intrusion-set--z"]
    assert by_member[name.id] is zebrocy and zebrocy.id == "intrusion-set--z"
    assert "Zebra" in zebrocy.aliases
    assert by_member["intrusion-set--q"] is not zebrocy  # an analyst's name is no evidence
    rules = {(x.alias, x.rule, x.source) for x in zebrocy.links}
    assert ("Zebra", "analyst", "analyst bob") in rules
    assert ("Zebra", "merge:analyst", "analyst bob") in rules


def test_an_analyst_merge_is_forced_and_keeps_the_named_entity_canonical() -> None:
    # both ATT&CK records: the one-collection rule would refuse; a marked separation too
    overrides = res.Overrides.make(
        separate=[("intrusion-set--a", "intrusion-set--z")],
        joins=[("intrusion-set--z", "intrusion-set--a", "Sofacy", "analyst bob")])
    by_member = _resolve(_entries(), overrides)
    merged = by_member["intrusion-set--z"]
    assert by_member["intrusion-set--a"] is merged is by_member["intrusion-set--m"]
    assert merged.id == "intrusion-set--z" and merged.name == "Zebrocy"
    [link] = [x for x in merged.links if x.rule == "merge:analyst"]
    assert (link.member_id, link.other_id) == ("intrusion-set--a", "intrusion-set--z")


def test_overrides_are_canonical_plain_data() -> None:
    name = res.AnalystName("intrusion-set--s", "threat-actor", "Fancy Bear", "analyst alice")
    one = res.Overrides.make(separate=[("b", "a"), ("a", "b"), ("c", "c")],
                            withdrawn=[("m", "fancy bear")], names=[name],
                            joins=[("e", "f", "F", "analyst bob")])
    other = res.Overrides.make(separate=[("a", "b")], withdrawn=[("m", "fancy bear")],
                              names=[name], joins=[("e", "f", "F", "analyst bob")])
    assert one == other and hash(one) == hash(other) and one.separate == (("a", "b"),)
    assert res.Overrides.from_json(one.as_json()) == one
    assert pickle.loads(pickle.dumps(one.as_json())) == one.as_json()
    assert one.digest() == other.digest() and len(one.digest()) == 12
    assert not res.Overrides() and one and res.Overrides.from_json(None) == res.Overrides()
    assert res.Overrides.of([("b", "a")]) == res.Overrides.make(separate=[("a", "b")])
    assert gz.cache_key(one) != gz.cache_key() != gz.cache_key(res.Overrides.make(
        separate=[("a", "b")]))
    # only separate pairs: the key of the older ``separate`` argument (same cache file)
    assert gz.cache_key(res.Overrides.of([("a", "b")])) == gz.cache_key([("b", "a")])


def test_entry_ids_are_deterministic_and_typed() -> None:
    one = res.analyst_entry_id("threat-actor", APT28, "Fancy Bear", "split")
    assert one == res.analyst_entry_id("threat-actor", APT28, "FANCY-BEAR", "split")
    assert one.startswith("intrusion-set--")
    assert one != res.analyst_entry_id("threat-actor", APT28, "Fancy Bear", "alias")
    assert res.analyst_entry_id("malware", APT28, "x", "alias").startswith("malware--")


def test_undoing_fancy_bear_on_the_real_gazetteer() -> None:
    members = (APT28, MISP_APT28)
    sid = res.analyst_entry_id("threat-actor", APT28, "Fancy Bear", "split")
    overrides = res.Overrides.make(
        separate=[(sid, m) for m in members], withdrawn=[(m, "fancy bear") for m in members],
        names=[res.AnalystName(sid, "threat-actor", "Fancy Bear", "analyst alice")])
    g = Gazetteer.build(overrides)
    text = "APT28, also known as Fancy Bear or Sofacy, used Mimikatz."
    found = {m.surface: m.entity_id for m in g.find(text)}
    assert found["APT28"] == found["Sofacy"] == APT28
    assert found["Fancy Bear"] == sid
    apt28 = g.resolve(APT28)
    assert apt28 is not None and "Fancy Bear" not in apt28.aliases
    assert MISP_APT28 in apt28.member_ids  # the rest of the merge stands
