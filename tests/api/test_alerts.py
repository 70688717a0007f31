"""``/alerts`` as a restricted reader (both backends): an alert they may read counts, lists
and shows only the hits whose documents they may read now. Its other hit is in a copy of
the same story whose stored marking was tightened to TLP:RED after the alert was raised (as
a rebuild does, store/rebuild.py); the reader's list, the alert, and an analyst's triage
answer never count or name it."""

from __future__ import annotations

from allsource.assess.alerts import raise_alerts
from allsource.model.markings import TLP, Marking
from allsource.store import schema as t
from allsource.store import users
from tests.api.conftest import World
from tests.assess.test_alerts import _hit


def _copy_hit_then_red(world: World) -> None:
    store = world.store
    assert raise_alerts(store, [_hit(world.copy.id, key="wl:apt28")]) == [world.alert_id]
    with store.engine.begin() as conn:
        conn.execute(t.documents.update().where(t.documents.c.id == world.copy.id)
                     .values(**Marking(tlp=TLP.RED).to_columns()))


def test_alert_hits_count_only_readable_documents(world: World) -> None:
    _copy_hit_then_red(world)
    c, alert_id = world.client, world.alert_id
    hidden = world.copy.id

    owner = c.get(f"/api/v1/alerts/{alert_id}", headers=world.admin).json()
    assert owner["occurrences"] == 2 and len(owner["hits"]) == 2
    assert set(owner["documents"]) == {world.original.id, hidden}

    listed = c.get("/api/v1/alerts", headers=world.reader).json()["items"]
    [row] = [a for a in listed if a["id"] == alert_id]
    one = c.get(f"/api/v1/alerts/{alert_id}", headers=world.reader)
    assert one.status_code == 200
    for view in (row, one.json()):
        assert view["occurrences"] == 1 and view["documents"] == [world.original.id]
        assert hidden not in str(view)
    assert [h["document_id"] for h in one.json()["hits"]] == [world.original.id]

    # an analyst below TLP:RED triages it: the answer is the alert as they see it
    _, token = users.create_token(world.store, users.add_user(
        world.store, "andy", "analyst", max_tlp=TLP.AMBER))
    acked = c.post(f"/api/v1/alerts/{alert_id}/ack", json={"comment": "seen"},
                   headers={"Authorization": f"Bearer {token}"})
    assert acked.status_code == 200, acked.text
    body = acked.json()
    assert body["status"] == "acknowledged" and body["occurrences"] == 1
    assert body["documents"] == [world.original.id] and len(body["hits"]) == 1
    assert hidden not in str(body)
