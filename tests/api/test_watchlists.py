"""``/watchlists`` as readers with different rights use it (both backends): a watchlist a
caller may not read never blocks a name, so creating one is no existence oracle."""

from __future__ import annotations

from allsource.model.markings import TLP
from allsource.store import users
from tests.api.conftest import World

V = "/api/v1/watchlists"


def _analyst(world: World, name: str, tlp: TLP) -> dict[str, str]:
    _, secret = users.create_token(world.store, users.add_user(world.store, name, "analyst",
                                                               max_tlp=tlp))
    return {"Authorization": f"Bearer {secret}"}


def test_a_hidden_watchlist_does_not_block_its_name(world: World) -> None:
    c = world.client
    green = _analyst(world, "gina", TLP.GREEN)
    red = c.post(V, json={"name": "Grid  wipers", "tlp": "red", "keywords": ["wiper"]},
                 headers=world.admin)
    assert red.status_code == 201
    free = c.post(V, json={"name": "unused name", "keywords": ["grid"]}, headers=green)
    same = c.post(V, json={"name": "Grid wipers", "keywords": ["grid"]}, headers=green)
    # a taken-but-hidden name answers exactly as a free one
    assert same.status_code == free.status_code == 201
    assert same.json()["id"] != red.json()["id"]
    assert same.json()["marking"]["tlp"] == "TLP:GREEN"

    # each caller reaches the one they may read by name; the reader's holds only "grid"
    mine = c.get(f"{V}/Grid wipers", headers=green).json()
    assert mine["id"] == same.json()["id"]
    assert [t["value"] for t in mine["terms"]] == ["grid"]
    # a name the caller already sees is taken
    again = c.post(V, json={"name": "Grid wipers", "keywords": ["x"]}, headers=green)
    assert again.status_code == 409

    # whoever sees both names one by its id; the name alone is ambiguous
    both = c.get(f"{V}/Grid wipers", headers=world.admin)
    assert both.status_code == 409 and red.json()["id"] in both.json()["error"]["message"]
    by_id = c.get(f"{V}/{red.json()['id']}", headers=world.admin).json()
    assert [t["value"] for t in by_id["terms"]] == ["wiper"]
    # and the reader still cannot reach the hidden one by its id
    assert c.get(f"{V}/{red.json()['id']}", headers=green).status_code == 404
