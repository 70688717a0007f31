"""An insider-risk alert over the REST API: the admin sees it, a reader and an analyst get
neither the alert, nor its count, nor a different answer for its id than for a missing one."""

from __future__ import annotations

from allsource.api import API_PREFIX
from allsource.assess.insider_run import scan
from allsource.store import users
from tests.api.conftest import World
from tests.assess.test_insider import PLANT, _at, _office, _reads, _write_audit

V = API_PREFIX


def test_insider_alerts_are_admin_only(world: World) -> None:
    _write_audit(world.store, _office() + _reads("alice", PLANT, 300, comp="humint"))
    [alert_id] = scan(world.store, _at(PLANT - 3, 0), _at(PLANT + 21, 0)).alert_ids
    _, token = users.create_token(world.store, users.add_user(world.store, "andy", "analyst"))
    analyst = {"Authorization": f"Bearer {token}"}
    c = world.client
    admin = c.get(f"{V}/alerts", params={"kind": "insider"}, headers=world.admin).json()
    assert [a["id"] for a in admin["items"]] == [alert_id]
    assert c.get(f"{V}/alerts/{alert_id}", headers=world.admin).status_code == 200
    for who in (world.reader, analyst):
        listed = c.get(f"{V}/alerts", params={"kind": "insider", "status": "all"},
                       headers=who).json()
        assert listed["items"] == [] and listed["total"] == 0
        hidden = c.get(f"{V}/alerts/{alert_id}", headers=who)
        missing = c.get(f"{V}/alerts/x-allsource-alert--00000000-0000-0000-0000-000000000000",
                        headers=who)
        assert hidden.status_code == missing.status_code == 404
        assert "alice" not in hidden.text
