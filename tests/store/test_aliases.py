"""Alias statements in the store, on both backends: recording the gazetteer's statements
idempotently, listing them with provenance, undoing (kept, with who/why/when), analysts'
merges, and what the undone and analyst statements make of resolution. The hand-made entities
mirror ATT&CK G0007 (APT28) and the MISP threat-actor cluster it merges with; the last test
runs the entities stage over a stored document with the real gazetteer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from allsource.collect.misp_galaxy_map import entity_id
from allsource.engine.inline import InlineEngine
from allsource.errors import InputError
from allsource.model import resolution as res
from allsource.model.markings import Audience
from allsource.model.records import Collected, Document, Source, StixObject
from allsource.process.entities import entity_object
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.process.stages.entities import EntitiesStage
from allsource.store import aliases as st
from allsource.store import schema as t
from allsource.store.sql import SqlStore

ATTACK_ID = "intrusion-set--bef4c620-0787-42a8-a96d-b7eb6e85917c"
MISP_ID = entity_id("threat-actor", "APT28")
TURLA = "intrusion-set--7a19ecb1-3c65-4de3-a230-993516aed6a6"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
ATTACK_SRC = "mitre-attack-enterprise v18.1"
MISP_SRC = "misp-galaxy threat-actor v336"


def _apt28(misp_aliases: tuple[str, ...] = ("Fancy Bear", "FANCY BEAR", "Sofacy")
           ) -> res.ResolvedEntity:
    links = [res.AliasLink("APT28", ATTACK_ID, ATTACK_SRC, "name", ATTACK_ID),
             res.AliasLink("Fancy Bear", ATTACK_ID, ATTACK_SRC, "alias", ATTACK_ID),
             res.AliasLink("G0007", ATTACK_ID, ATTACK_SRC, "attack-id", ATTACK_ID),
             res.AliasLink("APT28", ATTACK_ID, MISP_SRC, "name", MISP_ID),
             *(res.AliasLink(a, ATTACK_ID, MISP_SRC, "alias", MISP_ID) for a in misp_aliases),
             res.AliasLink("APT28", ATTACK_ID, f"{ATTACK_SRC} | {MISP_SRC}",
                          "merge:misp-similar-attack", MISP_ID, ATTACK_ID)]
    return res.ResolvedEntity(ATTACK_ID, "threat-actor", "APT28",
                             ["Fancy Bear", "G0007", *misp_aliases],
                             [ATTACK_ID, MISP_ID], links)


def _turla() -> res.ResolvedEntity:
    links = [res.AliasLink("Turla", TURLA, ATTACK_SRC, "name", TURLA),
             res.AliasLink("Snake", TURLA, ATTACK_SRC, "alias", TURLA),
             res.AliasLink("Venomous", TURLA, ATTACK_SRC, "derived:category-word", TURLA)]
    return res.ResolvedEntity(TURLA, "threat-actor", "Turla", ["Snake"], [TURLA], links)


def _count(store: SqlStore) -> int:
    return store.count("alias_statements")


def test_recording_is_idempotent_and_keeps_provenance(store: SqlStore) -> None:
    assert st.record(store, [_apt28(), _turla()]) == {ATTACK_ID, TURLA}
    n = _count(store)
    assert n == 11
    assert st.record(store, [_apt28(), _turla()]) == set()  # same statements: same rows
    assert _count(store) == n
    rows = st.statements(store, ATTACK_ID)
    assert rows[0].alias == "APT28" and rows[0].basis == "name"  # its own name first
    assert rows[0].provenance == ATTACK_SRC and rows[0].member_id == ATTACK_ID
    fancy = {(r.alias, r.provenance) for r in rows if r.alias_key == "fancy bear"}
    assert fancy == {("Fancy Bear", ATTACK_SRC), ("Fancy Bear", MISP_SRC),
                     ("FANCY BEAR", MISP_SRC)}
    [merge] = [r for r in rows if r.is_merge]
    assert (merge.member_id, merge.other_id) == (MISP_ID, ATTACK_ID)
    assert all(r.status == st.ACTIVE and r.origin == st.GAZETTEER for r in rows)


def test_statements_the_gazetteer_stops_making_are_retired_then_revived(
        store: SqlStore) -> None:
    st.record(store, [_apt28(), _turla()])
    assert st.record(store, [_apt28(misp_aliases=("Sofacy",)), _turla()]) == {ATTACK_ID}
    active = {(r.alias, r.provenance) for r in st.statements(store, ATTACK_ID)}
    assert ("FANCY BEAR", MISP_SRC) not in active
    retired = [r for r in st.statements(store, ATTACK_ID, retired=True)
               if r.status == st.RETIRED]
    assert {r.alias for r in retired} == {"Fancy Bear", "FANCY BEAR"}
    st.record(store, [_apt28(), _turla()])
    assert not [r for r in st.statements(store, ATTACK_ID, retired=True)
                if r.status == st.RETIRED]
    # a new source version changes the provenance, not the statement
    moved = res.ResolvedEntity(TURLA, "threat-actor", "Turla", [], [TURLA],
                              [res.AliasLink("Turla", TURLA, "mitre-attack-enterprise v16",
                                            "name", TURLA)])
    st.record(store, [_apt28(), moved])
    [turla] = st.statements(store, TURLA)
    assert turla.provenance == "mitre-attack-enterprise v16"


def test_undo_by_name_is_kept_with_who_why_and_when(store: SqlStore) -> None:
    st.record(store, [_apt28(), _turla()])
    n = _count(store)
    done = st.undo(store, ATTACK_ID, "fancy-bear", analyst="alice",
                   reason="vendor X tracks it separately", now=T0)
    assert {(r.alias, r.member_id) for r in done} == {
        ("Fancy Bear", ATTACK_ID), ("Fancy Bear", MISP_ID), ("FANCY BEAR", MISP_ID)}
    assert all(r.status == st.UNDONE and r.undone_by == "alice" and r.undone_at == T0
               and r.undo_reason == "vendor X tracks it separately" for r in done)
    assert _count(store) == n  # nothing deleted
    listed = st.statements(store, ATTACK_ID)
    assert [r.status for r in listed][-3:] == [st.UNDONE] * 3  # undone ones last
    assert {r.id for r in st.undone(store)} == {r.id for r in done}
    # recording again neither revives nor retires an undone statement
    st.record(store, [_apt28(), _turla()])
    assert {r.id for r in st.undone(store)} == {r.id for r in done}
    with pytest.raises(InputError, match="not an active alias"):
        st.undo(store, ATTACK_ID, "Fancy Bear", analyst="alice", reason="again")
    with pytest.raises(InputError, match="not an active alias"):
        st.undo(store, ATTACK_ID, "Cozy Bear", analyst="alice", reason="never was")
    with pytest.raises(InputError, match="own name"):
        st.undo(store, ATTACK_ID, "APT28", analyst="alice", reason="no")
    with pytest.raises(InputError, match="reason"):
        st.undo(store, ATTACK_ID, "Sofacy", analyst="alice", reason="  ")
    with pytest.raises(InputError, match="no alias statements"):
        st.undo(store, "intrusion-set--nope", "x", analyst="alice", reason="r")


def test_undo_a_merge_by_its_short_id(store: SqlStore) -> None:
    st.record(store, [_apt28()])
    [merge] = [r for r in st.statements(store, ATTACK_ID) if r.is_merge]
    [done] = st.undo(store, ATTACK_ID, merge.short_id, analyst="bob", reason="two clusters")
    assert done.id == merge.id and done.status == st.UNDONE
    with pytest.raises(InputError, match="already undone"):
        st.undo(store, ATTACK_ID, merge.id, analyst="bob", reason="again")
    assert st.overrides(store) == res.Overrides.make(separate=[(MISP_ID, ATTACK_ID)])


def test_undone_names_split_off_unless_merged_again(store: SqlStore) -> None:
    st.record(store, [_apt28(), _turla()])
    assert st.overrides(store) == res.Overrides()
    st.undo(store, ATTACK_ID, "Fancy Bear", analyst="alice", reason="separate", now=T0)
    got = st.overrides(store)
    sid = res.analyst_entry_id("threat-actor", ATTACK_ID, "Fancy Bear", "split")
    assert set(got.withdrawn) == {(ATTACK_ID, "fancy bear"), (MISP_ID, "fancy bear")}
    [name] = got.names
    assert (name.id, name.name, name.join) == (sid, "Fancy Bear", "")
    assert name.source == "analyst alice, split from APT28"
    assert set(got.separate) == {tuple(sorted((sid, m))) for m in (ATTACK_ID, MISP_ID)}

    # an analyst merges the split-off name back: a name of APT28 again, no split
    made = st.merge(store, _apt28(), "Fancy Bear", member_id=sid, analyst="bob",
                    reason="vendor X recanted", now=T1)
    assert made.origin == st.ANALYST and made.basis == st.ANALYST_MERGE
    assert made.provenance == "analyst bob" and made.reason == "vendor X recanted"
    assert made.created_at == T1 and made.created_by == "bob"
    assert st.merge(store, _apt28(), "FANCY BEAR", member_id=sid, analyst="bob",
                    reason="twice") == made  # idempotent
    got = st.overrides(store)
    [name] = got.names
    assert name.join == ATTACK_ID and name.name == "Fancy Bear" and not got.separate
    assert st.analyst_log(store)[0].id == made.id

    # undoing the merge brings the split back
    st.undo(store, ATTACK_ID, made.short_id, analyst="carol", reason="bob was wrong")
    assert [n.id for n in st.overrides(store).names] == [sid]


def test_an_undone_derived_name_is_only_withdrawn(store: SqlStore) -> None:
    st.record(store, [_turla()])
    st.undo(store, TURLA, "Venomous", analyst="alice", reason="too vague")
    assert st.overrides(store) == res.Overrides.make(withdrawn=[(TURLA, "venomous")])


def test_analyst_merges_of_entities_and_new_names(store: SqlStore) -> None:
    st.record(store, [_apt28(), _turla()])
    st.merge(store, _apt28(), "Snake", member_id=TURLA, analyst="bob", reason="one actor")
    st.merge(store, _apt28(), "Strontium-X", analyst="bob", reason="vendor name")
    got = st.overrides(store)
    assert got.joins == ((ATTACK_ID, TURLA, "Snake", "analyst bob"),)
    [name] = got.names
    assert (name.name, name.join, name.source) == ("Strontium-X", ATTACK_ID, "analyst bob")
    with pytest.raises(InputError, match="already an alias"):
        st.merge(store, _apt28(), "Sofacy", analyst="bob", reason="r")
    with pytest.raises(InputError, match="letters or digits"):
        st.merge(store, _apt28(), "--", analyst="bob", reason="r")
    st.undo(store, ATTACK_ID, "snake", analyst="carol", reason="not the same")
    assert st.overrides(store).joins == ()


def test_refresh_rewrites_only_the_stage_s_entity_objects(store: SqlStore) -> None:
    src = Source("reports", "files", "/tmp/r")
    store.add_source(src)
    doc = Document.build(kind="report", title="", text="APT28 and Turla")
    mine = entity_object(_apt28())
    theirs = StixObject(id=TURLA, type="intrusion-set", name="Turla",
                        stix={"type": "intrusion-set", "id": TURLA, "name": "Turla"})
    store.write_batch(src, [Collected(doc, objects=[mine, theirs])], [], None)
    changed = _apt28(misp_aliases=("Sofacy",))
    assert st.refresh_objects(store, [changed, _turla()], entity_object) == 1
    assert st.refresh_objects(store, [changed, _turla()], entity_object) == 0
    view = store.get(ATTACK_ID, Audience.owner())
    assert view is not None and view["stix"]["aliases"] == ["Fancy Bear", "G0007", "Sofacy"]
    kept = store.get(TURLA, Audience.owner())
    assert kept is not None and kept["stix"] == theirs.stix


def test_the_table_is_migrated(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("alias_statements")}
    assert columns == {c.name for c in t.alias_statements.columns}


def test_an_undo_makes_the_entities_stage_redo_documents(store: SqlStore) -> None:
    src = Source("reports", "files", "/tmp/r")
    store.add_source(src)
    doc = Document.build(kind="report", title="",
                         text="APT28, also tracked as Fancy Bear, phished ministries.")
    store.write_batch(src, [Collected(doc)], [], None)

    def run() -> tuple[set[str], str]:
        pipeline = build_pipeline(["entities"], store=store)
        assert process_store(store, pipeline, InlineEngine(pipeline)).failures == 0
        view = store.get(doc.id, Audience.owner())
        assert view is not None
        return ({o["id"] for o in view["objects"]},
                view["annotations"]["entities"]["version"])

    assert run() == ({ATTACK_ID}, EntitiesStage.version)
    assert st.statements(store, ATTACK_ID)  # recorded when the stage was prepared
    st.undo(store, ATTACK_ID, "Fancy Bear", analyst="alice", reason="separate cluster")
    ids, version = run()
    sid = res.analyst_entry_id("threat-actor", ATTACK_ID, "Fancy Bear", "split")
    assert ids == {ATTACK_ID, sid} and version.startswith(f"{EntitiesStage.version}+")
    pipeline = build_pipeline(["entities"], store=store)
    assert process_store(store, pipeline, InlineEngine(pipeline)).documents == 0  # done
    [split] = st.statements(store, sid)
    assert split.provenance == "analyst alice, split from APT28"
    apt28 = store.get(ATTACK_ID, Audience.owner())
    assert apt28 is not None and "Fancy Bear" not in apt28["stix"]["aliases"]
