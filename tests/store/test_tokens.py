"""Token scopes: parsing, what a request needs, and that the store hands them back with the
user (tokens made before scopes keep all three)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from allsource.config import Settings
from allsource.errors import InputError
from allsource.store import migrations, open_store, tokens, users
from allsource.store.sql import SqlStore


def test_parse_scopes() -> None:
    assert tokens.parse_scopes("read") == ("read",)
    assert tokens.parse_scopes("WRITE") == ("read", "write")
    assert tokens.parse_scopes("admin") == ("read", "write", "admin")
    assert tokens.parse_scopes(" write, read ") == ("read", "write")
    with pytest.raises(InputError, match="unknown scope 'root'"):
        tokens.parse_scopes("read,root")


@pytest.mark.parametrize(("method", "roles", "needed"), [
    ("GET", (), "read"), ("HEAD", (), "read"), ("POST", (), "write"),
    ("DELETE", (), "write"), ("GET", ("admin", "analyst"), "write"),
    ("POST", ("admin", "analyst"), "write"), ("PATCH", ("admin",), "admin"),
])
def test_scope_for(method: str, roles: tuple[str, ...], needed: str) -> None:
    assert tokens.scope_for(method, roles) == needed


def test_authenticate_scoped(store: SqlStore) -> None:
    ana = users.add_user(store, "ana", "admin")
    info, secret = users.create_token(store, ana, scopes=("read",))
    grant = tokens.authenticate_scoped(store, secret)
    assert grant is not None and grant.user.name == "ana"
    assert grant.token_id == info.id and grant.scopes == ("read",)
    assert [tok.scopes for tok in users.list_tokens(store)] == [("read",)]
    assert tokens.authenticate_scoped(store, "as_unknown") is None
    users.revoke_token(store, info.id)
    assert tokens.authenticate_scoped(store, secret) is None


def test_tokens_made_before_scopes_keep_all(settings: Settings) -> None:
    """Migration 0018 on a store that has a token: the token keeps read, write and admin."""
    store = open_store(settings, migrate=False)
    try:
        _upgrade(store, "0017")
        with store.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO users (id, name, role, created_at, disabled) "
                "VALUES ('u1', 'old', 'admin', '2025-01-01 00:00:00', 0)"))
            conn.execute(sa.text(
                "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, revoked) "
                f"VALUES ('t1', 'u1', 'old', '{users.hash_token('as_old-secret')}', "
                "'2025-01-01 00:00:00', 0)"))
        store.migrate()
        grant = tokens.authenticate_scoped(store, "as_old-secret")
        assert grant is not None and grant.scopes == tokens.SCOPES
    finally:
        store.close()


def _upgrade(store: SqlStore, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def test_authentication_reads_two_statements_and_a_revoked_token_fails_at_once(
        store: SqlStore) -> None:
    """Every API request authenticates: the token with its user, then the user's
    memberships (the ``last_used_at`` touch at most once a minute); nothing is cached, so
    revoking works on the next request."""
    from tests.statements import statements

    user = users.add_user(store, "rita", "reader", compartments=["ops"], groups=["acme"])
    info, secret = users.create_token(store, user, scopes=("read",))
    assert tokens.authenticate_scoped(store, secret) is not None  # first use: touched
    with statements(store) as sent:
        grant = tokens.authenticate_scoped(store, secret)
    assert grant is not None and grant.user.compartments == {"ops"}
    assert grant.user.groups == {"acme"}
    assert len(sent) == 2
    assert users.revoke_token(store, info.id)
    assert tokens.authenticate_scoped(store, secret) is None
