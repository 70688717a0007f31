"""Token scopes over the API: a read-scoped token cannot write even for an admin, a
write-scoped one cannot do admin work, and the refusal says which scope is missing."""

from __future__ import annotations

import sqlalchemy as sa

from allsource.store import logins, schema, users
from tests.api.conftest import World

V = "/api/v1"


def _headers(world: World, *scopes: str) -> dict[str, str]:
    admin = users.get_user(world.store, "ana")
    assert admin is not None and admin.role == "admin"
    _, secret = users.create_token(world.store, admin, name="+".join(scopes),
                                   scopes=scopes)
    return {"Authorization": f"Bearer {secret}"}


def _refused(response: object, scope: str) -> None:
    assert response.status_code == 403, response.text  # type: ignore[attr-defined]
    message = response.json()["error"]["message"]  # type: ignore[attr-defined]
    assert f"do not include {scope!r}" in message and f"--scope {scope}" in message


def test_read_scoped_admin_token_reads_but_cannot_write(world: World) -> None:
    c, ro = world.client, _headers(world, "read")
    assert c.get(V + "/documents", headers=ro).status_code == 200
    assert c.get(f"{V}/alerts/{world.alert_id}", headers=ro).status_code == 200
    _refused(c.post(f"{V}/alerts/{world.alert_id}/ack", json={}, headers=ro), "write")
    _refused(c.post(V + "/watchlists", json={"name": "ro"}, headers=ro), "write")
    _refused(c.patch(V + "/sources/outlet-a", json={"enabled": False}, headers=ro), "write")
    assert c.get(V + "/watchlists/ro", headers=world.admin).status_code == 404


def test_write_scope_is_not_admin(world: World) -> None:
    c, rw = world.client, _headers(world, "read", "write")
    made = c.post(V + "/watchlists", json={"name": "rw", "keywords": ["x"]}, headers=rw)
    assert made.status_code == 201
    _refused(c.patch(V + "/sources/outlet-a", json={"enabled": False}, headers=rw), "admin")
    full = _headers(world, "read", "write", "admin")
    assert c.patch(V + "/sources/outlet-a", json={"enabled": False},
                   headers=full).json()["enabled"] is False


def test_scopes_never_raise_a_role(world: World) -> None:
    """A reader's token with every scope is still a reader. Tokens are no longer made with
    scopes beyond the role, but stores hold such tokens from before."""
    reader = users.get_user(world.store, "rita")
    assert reader is not None
    info, secret = users.create_token(world.store, reader)
    with world.store.engine.begin() as conn:
        conn.execute(sa.update(schema.api_tokens).where(schema.api_tokens.c.id == info.id)
                     .values(scopes="read,write,admin"))
    r = world.client.post(f"{V}/alerts/{world.alert_id}/ack", json={},
                          headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403 and "role" in r.json()["error"]["message"]


def test_a_disabled_users_tokens_stop(world: World) -> None:
    assert world.client.get(V + "/documents", headers=world.reader).status_code == 200
    logins.disable_user(world.store, "rita")
    assert world.client.get(V + "/documents", headers=world.reader).status_code == 401
