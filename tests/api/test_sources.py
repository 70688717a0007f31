"""``POST /sources``: an admin token cannot make the server's own files a searchable source."""

from __future__ import annotations

from pathlib import Path

import pytest

from allsource.api import API_PREFIX
from tests.api.conftest import World

V = API_PREFIX


@pytest.mark.parametrize("location", ["/etc", "/etc/shadow", "/proc/self/environ", "/"])
def test_admin_cannot_add_a_source_outside_the_file_roots(world: World, location: str
                                                          ) -> None:
    for kind in ("files", "stix", "rss"):
        response = world.client.post(V + "/sources", headers=world.admin, json={
            "name": f"sys-{kind}", "kind": kind, "location": location})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "location_not_allowed"
        assert "outside the folders local sources may read" in error["message"]
    names = {s["name"] for s in world.client.get(V + "/sources", headers=world.admin
                                                 ).json()["items"]}
    assert not any(n.startswith("sys-") for n in names)


def test_urls_and_paths_inside_a_root_are_accepted(world: World, tmp_path: Path) -> None:
    for name, location in (("feed", "https://example.org/feed.xml"),
                           ("inbox", str(tmp_path))):
        response = world.client.post(V + "/sources", headers=world.admin, json={
            "name": name, "kind": "files" if name == "inbox" else "rss",
            "location": location})
        assert response.status_code == 201, response.text
