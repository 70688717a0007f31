"""Entities by name for the timeline's and the map's entity filter, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from allsource.analyze.entity_names import entities_named, looks_like_id
from allsource.model.ids import minted_id
from allsource.model.markings import TLP, Audience, Classification, Marking
from allsource.model.names import alias_key
from allsource.model.records import Collected, Document, Mention, Source, StixObject
from allsource.store import schema as t
from allsource.store.sql import SqlStore

OWNER = Audience.owner()
READER = Audience(max_tlp=TLP.AMBER, clearance=Classification.UNCLASSIFIED)


def _entity(type_: str, name: str) -> StixObject:
    oid = minted_id(type_, name)
    return StixObject(oid, type_, name, {"type": type_, "id": oid, "name": name})


def _alias(store: SqlStore, entity: StixObject, alias: str, status: str = "active") -> None:
    with store.engine.begin() as conn:
        conn.execute(t.alias_statements.insert().values(
            id=f"x-allsource-alias--{uuid4()}", entity_id=entity.id, entity_name=entity.name,
            entity_type=entity.type, alias=alias, alias_key=alias_key(alias), member_id=entity.id,
            other_id="", basis="alias", provenance="test", origin="gazetteer", status=status,
            reason="", created_at=datetime.now(UTC).replace(tzinfo=None), created_by="test"))


def test_names_aliases_and_places_resolve_for_what_the_reader_may_see(store: SqlStore) -> None:
    apt = _entity("intrusion-set", "APT28")
    secret = _entity("intrusion-set", "Quiet Owl")
    kyiv = StixObject(minted_id("location", "Kyiv"), "location", "Kyiv",
                      {"type": "location", "name": "Kyiv", "country": "UA"})
    other_apt = _entity("malware", "APT28 Loader")
    src = Source(name="feed", kind="rss", location="http://example.test/a")
    store.add_source(src)
    open_doc = Document.build(kind="article", title="open", text="APT28 in Kyiv")
    red_doc = Document.build(kind="article", title="red", text="Quiet Owl",
                             marking=Marking(tlp=TLP.RED))
    store.write_batch(src, [
        Collected(open_doc, [apt, kyiv, other_apt], [],
                  [Mention(apt.id, "t", 0, 5), Mention(kyiv.id, "t", 9, 13),
                   Mention(other_apt.id, "t", 0, 5)]),
        Collected(red_doc, [secret], [], [Mention(secret.id, "t", 0, 9)])], [], None)
    for entity, names in ((apt, ["APT28", "Fancy Bear", "APT 28"]),
                          (secret, ["Quiet Owl"]), (other_apt, ["APT28 Loader"])):
        for name in names:
            _alias(store, entity, name)
    _alias(store, apt, "Sofacy", status="undone")

    def named(text: str, audience: Audience = READER) -> list[str]:
        return [e.id for e in entities_named(store, text, audience)]

    assert named("fancy  BEAR") == [apt.id]
    assert named("apt 28") == [apt.id]
    assert named("kyiv") == [kyiv.id]
    assert named("Sofacy") == []  # an undone alias names nothing
    assert named("Quiet Owl") == []  # only a RED document mentions it: hidden = missing
    assert named("Quiet Owl", OWNER) == [secret.id]
    assert named("") == [] and named("   ") == []
    assert looks_like_id(apt.id) and not looks_like_id("APT28")
