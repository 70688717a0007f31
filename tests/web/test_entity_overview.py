"""The entity overview and document page as a lower reader sees them (both backends): an
entity seen in a TLP:CLEAR and a TLP:RED report shows the reader only what the CLEAR report
supports — no hidden relationship, other end, source, report title, alias or mention count —
while the owner sees all of it; relationships are grouped by name with their reports and
credibility; mentions are paginated; a MISP event's attribute table leaves out a RED
attribute."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import NAMESPACE_URL, uuid5

import pytest
from fastapi.testclient import TestClient

from allsource.api import create_app
from allsource.collect.misp_event import event_collected
from allsource.config import Settings
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Mention, Relationship, Source, StixObject
from allsource.store import schema as t
from allsource.store import users
from allsource.store.sql import SqlStore, utc_now
from allsource.web import entity_overview, misp_view

ACTOR = "intrusion-set--00000000-0000-4000-8000-000000000001"
MALWARE = "malware--00000000-0000-4000-8000-000000000002"
SECRET = "malware--00000000-0000-4000-8000-000000000003"
TECH = "attack-pattern--00000000-0000-4000-8000-000000000004"
PLACE = "location--00000000-0000-4000-8000-000000000005"
# linked objects of the actor (MISP galaxy clusters): one seen in the open, one only in RED
LINKED = "intrusion-set--00000000-0000-4000-8000-000000000006"
LINKED_RED = "intrusion-set--00000000-0000-4000-8000-000000000007"
RED = Marking(tlp=TLP.RED)
READER = Audience(max_tlp=TLP.AMBER)  # may read everything but TLP:RED


def _rel(rtype: str, src: str, dst: str) -> Relationship:
    rid = f"relationship--{uuid5(NAMESPACE_URL, f'{rtype}|{src}|{dst}')}"
    return Relationship(rid, rtype, src, dst, {"type": "relationship", "id": rid})


def _obj(oid: str, name: str, **extra: object) -> StixObject:
    return StixObject(oid, oid.split("--")[0], name, {"type": oid.split("--")[0], "id": oid,
                                                      "name": name, **extra})


@dataclass
class World:
    store: SqlStore
    client: TestClient
    clear: Document
    red: Document
    uses_malware: Relationship
    uses_secret: Relationship


def _login(client: TestClient, token: str) -> None:
    assert client.post("/login", data={"token": token},
                       follow_redirects=False).status_code == 303


@pytest.fixture
def world(store: SqlStore, settings: Settings) -> Iterator[World]:
    open_src = Source("open-desk", "rss", "https://open.example/feed")
    red_src = Source("closed-desk", "rss", "https://closed.example/feed", marking=RED)
    store.add_source(open_src)
    store.add_source(red_src)
    clear = Document.build(kind="report", title="Open report on Sandcat",
                           text="Sandcat used Dropper against Kyiv.",
                           published_at=datetime(2024, 5, 1, tzinfo=UTC))
    red = Document.build(kind="report", title="Closed report on Sandcat",
                         text="Sandcat used Nightshade.", marking=RED)
    actor = _obj(ACTOR, "Sandcat", description="**Sandcat** targets [energy](https://e.example)"
                 " <img src=x onerror=alert(1)>", aliases=["Sandcat", "Desert Cat"],
                 x_allsource_misp_meta={"cfr-suspected-state-sponsor": "Nowhere",
                                        "cfr-suspected-victims": ["Ruritania"],
                                        "cfr-target-category": ["Energy"]},
                 x_allsource_merged={"objects": [LINKED, LINKED_RED]})
    linked = _obj(LINKED, "Sandcat", x_allsource_misp_meta={
        "cfr-suspected-victims": ["Freedonia"]})
    linked_red = StixObject(LINKED_RED, "intrusion-set", "Sandcat", {
        "type": "intrusion-set", "id": LINKED_RED, "name": "Sandcat",
        "x_allsource_misp_meta": {"cfr-suspected-victims": ["Latveria"]}}, RED)
    uses_malware = _rel("uses", ACTOR, MALWARE)
    uses_tech = _rel("uses", ACTOR, TECH)
    targets = _rel("targets", ACTOR, PLACE)
    uses_secret = _rel("uses", ACTOR, SECRET)
    tech = _obj(TECH, "Spearphishing Attachment", external_references=[
        {"source_name": "mitre-attack", "external_id": "T1566.001"}],
        kill_chain_phases=[{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}])
    store.write_batch(open_src, [Collected(
        clear, [actor, _obj(MALWARE, "Dropper"), tech, _obj(PLACE, "Kyiv"), linked],
        [uses_malware, uses_tech, targets],
        [Mention(i, "t") for i in (ACTOR, MALWARE, TECH, PLACE, LINKED, uses_malware.id,
                                   uses_tech.id, targets.id)])], [], None)
    store.write_batch(red_src, [Collected(
        red, [_obj(ACTOR, "Sandcat"), _obj(SECRET, "Nightshade", marking=RED), linked_red],
        [uses_secret], [Mention(i, "t") for i in (ACTOR, SECRET, LINKED_RED, uses_secret.id)])],
        [], None)
    now = utc_now()
    with store.engine.begin() as conn:
        # the open relationship's claim: probably true, as stored and readable by everyone
        conn.execute(t.claim_grades.insert().values(
            key=f"rel:uses:{ACTOR}:{MALWARE}", value="true", event=0, kind="relationship",
            text="Sandcat uses Dropper", credibility=2, independent=2, reports=2,
            contradicted=False, explanation={}, computed_at=now, **Marking().to_columns()))
        # an alias only a RED partner object supports
        conn.execute(t.alias_statements.insert().values(
            id="x-allsource-alias--00000000-0000-4000-8000-00000000000a", entity_id=ACTOR,
            entity_name="Sandcat", entity_type="intrusion-set", alias="Nightcrawler Unit",
            alias_key="nightcrawler unit", member_id=SECRET, other_id="",
            basis="object:name", provenance="linker", origin="linker", status="active",
            reason="", created_at=now, created_by="test"))
    _, reader = users.create_token(store, users.add_user(store, "rita", "reader"))
    _, admin = users.create_token(store, users.add_user(store, "ana", "admin"))
    app = create_app(settings, store=store)
    with TestClient(app) as client:
        client.reader, client.admin = reader, admin  # type: ignore[attr-defined]
        yield World(store, client, clear, red, uses_malware, uses_secret)


def _page(world: World, token: str, path: str) -> str:
    world.client.cookies.clear()
    _login(world.client, token)
    r = world.client.get(path)
    assert r.status_code == 200, r.text[:500]
    return r.text


def test_a_reader_sees_the_entity_through_readable_reports_only(world: World) -> None:
    reader = _page(world, world.client.reader, f"/objects/{ACTOR}")  # type: ignore[attr-defined]
    owner = _page(world, world.client.admin, f"/objects/{ACTOR}")  # type: ignore[attr-defined]
    # the owner sees the RED relationship, its other end, the RED report and its count
    assert "Nightshade" in owner and "Closed report on Sandcat" in owner
    assert "Nightcrawler Unit" in owner
    assert "2 documents you may read" in owner
    assert "Latveria" in owner and "Freedonia" in owner
    for hidden in ("Nightshade", SECRET, world.uses_secret.id, "Closed report on Sandcat",
                   world.red.id, "closed-desk", "Nightcrawler Unit", "Latveria"):
        assert hidden not in reader, hidden
    assert "1 document you may read" in reader
    assert "<dt>Relationships</dt><dd>3 in 3 groups</dd>" in reader  # not the RED 4th
    # names, credibility and reports, grouped by type and kind
    assert "uses · malware" in reader and "targets · places" in reader
    row = reader.split(">Dropper</a>")[1].split("</tr>")[0]
    assert "2 probably true" in row and "<td>1</td>" in row
    # facts: sponsor, victims, sectors, aliases as chips; Markdown rendered, HTML escaped
    assert "Nowhere" in reader and "Ruritania" in reader and "Energy" in reader
    assert "Freedonia" in reader  # a linked object's victims, seen in the open report
    assert '<li class="chip">Desert Cat</li>' in reader
    assert "<strong>Sandcat</strong>" in reader
    assert 'href="https://e.example" rel="noopener noreferrer nofollow"' in reader
    assert "<img src=x" not in reader and "&lt;img src=x onerror=alert(1)&gt;" in reader
    # the matrix: the technique under its tactic, by ATT&CK id
    matrix = reader.split('id="techniques"')[1].split("</section>")[0]
    assert "initial access" in matrix and "T1566.001" in matrix


def test_relations_and_mentions_count_for_the_reader(world: World) -> None:
    reader = READER
    found = entity_overview.relations(world.store, ACTOR, "Sandcat", reader)
    assert found.total == 3
    assert {link.name for g in found.groups for link in g.links} == {
        "Dropper", "Spearphishing Attachment", "Kyiv"}
    owner = entity_overview.relations(world.store, ACTOR, "Sandcat", Audience.owner())
    assert owner.total == 4 and "Nightshade" in {x.name for g in owner.groups for x in g.links}
    assert entity_overview.mentions(world.store, ACTOR, reader).total == 1
    assert entity_overview.mentions(world.store, ACTOR, Audience.owner()).total == 2
    # pages of one, newest first: the undated RED report by its collection time (today)
    first = entity_overview.mentions(world.store, ACTOR, Audience.owner(), page=1, size=1)
    second = entity_overview.mentions(world.store, ACTOR, Audience.owner(), page=2, size=1)
    assert (first.pages, [r.title for r in first.rows]) == (2, ["Closed report on Sandcat"])
    assert [r.title for r in second.rows] == ["Open report on Sandcat"]
    assert (first.rows[0].dated, second.rows[0].dated) == (False, True)
    # a page past the end is the last page
    assert entity_overview.mentions(world.store, ACTOR, reader, page=99).page == 1


def test_a_reader_may_not_open_a_hidden_relationship_and_sees_ends_by_name(
        world: World) -> None:
    world.client.cookies.clear()
    _login(world.client, world.client.reader)  # type: ignore[attr-defined]
    assert world.client.get(f"/objects/{world.uses_secret.id}").status_code == 404
    page = world.client.get(f"/objects/{world.uses_malware.id}").text
    line = page.split('class="relationship-line"')[1].split("</p>")[0]
    assert ">Sandcat</a> <strong>uses</strong>" in line and ">Dropper</a>" in line


def test_document_page_undated_link_and_ids_secondary(world: World) -> None:
    html = _page(world, world.client.admin, f"/documents/{world.red.id}")  # type: ignore[attr-defined]
    assert "no report date" in html and "Collected" in html
    assert f'<code class="id">{world.red.id}</code>' in html
    entities = html.split('id="mentions"')[1].split("</ul>")[0]
    assert entities.count(f'href="/objects/{ACTOR}"') == 1


MISP_EVENT = {
    "uuid": "5c8f0c5e-0000-4000-8000-00000000e001", "info": "Phishing wave against **grid**",
    "date": "2024-05-02", "timestamp": "1714600000", "threat_level_id": "2",
    "Tag": [{"name": "tlp:clear"}, {"name": "misp-galaxy:threat-actor=\"Sandcat\""},
            {"name": "phishing"}],
    "Attribute": [
        {"type": "ip-dst", "value": "198.51.100.7", "category": "Network activity",
         "to_ids": True, "uuid": "5c8f0c5e-0000-4000-8000-00000000a001"},
        {"type": "domain", "value": "update.example.net", "category": "Network activity",
         "to_ids": False, "uuid": "5c8f0c5e-0000-4000-8000-00000000a002"},
        {"type": "ip-dst", "value": "203.0.113.99", "category": "Network activity",
         "to_ids": True, "uuid": "5c8f0c5e-0000-4000-8000-00000000a003",
         "Tag": [{"name": "tlp:red"}]},
    ],
}


def test_misp_event_attribute_table_leaves_out_what_the_reader_may_not_read(
        world: World) -> None:
    src = Source("misp-feed", "misp", "https://misp.example/feed")
    world.store.add_source(src)
    collected = event_collected(MISP_EVENT, default_marking=Marking(), blob_sha256="0" * 64,
                                blob_ref="e1")
    world.store.write_batch(src, [collected], [], None)
    doc_id = collected.document.id
    reader_view = world.store.get(doc_id, READER)
    owner_view = world.store.get(doc_id, Audience.owner())
    assert reader_view is not None and owner_view is not None
    shown = misp_view.event_view(world.store, reader_view, READER)
    everything = misp_view.event_view(world.store, owner_view, Audience.owner())
    assert shown is not None and everything is not None
    rows = {(a.type, a.value, a.category, a.to_ids) for a in shown.attributes}
    assert ("ip-dst", "198.51.100.7", "Network activity", True) in rows
    assert ("domain-name", "update.example.net", "", False) in rows
    assert "203.0.113.99" not in {a.value for a in shown.attributes}
    assert "203.0.113.99" in {a.value for a in everything.attributes}
    assert {c.label for c in shown.tags} == {"TLP:CLEAR", "phishing"}
    html = _page(world, world.client.reader, f"/documents/{doc_id}")  # type: ignore[attr-defined]
    table = html.split('id="misp-attributes"')[1].split("</table>")[0]
    assert "198.51.100.7" in table and "Network activity" in table
    assert "203.0.113.99" not in html
    assert "<strong>grid</strong>" in html.split('id="doc-rendered"')[1]
