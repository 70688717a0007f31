"""Users' read rights: defaults per role, changes, validation, and the migration that gives
existing users exactly what the retired role map gave them (both backends)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from allsource.config import Settings
from allsource.errors import InputError
from allsource.model.markings import TLP, Audience, Classification
from allsource.store import open_store, rights, users
from allsource.store import schema as t
from allsource.store.sql import _MIGRATIONS, SqlStore, utc_now
from tests.pgserver import PgServer


def test_defaults_per_role(store: SqlStore) -> None:
    made = {role: users.add_user(store, f"u-{role}", role) for role in users.ROLES}
    assert made["admin"].audience == Audience.owner()
    for role in ("analyst", "reader", "partner"):
        u = made[role]
        assert not u.all_access and not u.compartments and not u.groups
        assert u.audience == Audience(max_tlp=rights.DEFAULTS[role].max_tlp,
                                      clearance=Classification.UNCLASSIFIED)
    assert made["reader"].max_tlp is TLP.GREEN and made["analyst"].max_tlp is TLP.AMBER
    # a ceiling given to an admin limits it (separation of duties)
    limited = users.add_user(store, "ops", "admin", max_tlp=TLP.AMBER)
    assert not limited.all_access and limited.audience.max_tlp is TLP.AMBER


def test_first_admin_reads_everything(store: SqlStore) -> None:
    users.add_user(store, "admin", "reader")
    created = users.ensure_first_admin(store)
    assert created is not None
    user, secret = created
    assert user.role == "admin" and user.all_access
    found = users.authenticate(store, secret)
    assert found is not None and found.audience == Audience.owner()


def test_rights_change_and_authenticate(store: SqlStore) -> None:
    u = users.add_user(store, "sam", "analyst", clearance=Classification.SECRET,
                       compartments=["ORCON", "ab"], groups=["nato"])
    _, secret = users.create_token(store, u)
    rights.grant(store, u.id, compartments=["abc", "ab"], groups=["cert-eu"])
    rights.revoke(store, u.id, compartments=["ORCON"], groups=["nato", "absent"])
    rights.set_rights(store, u.id, max_tlp=TLP.RED, role="partner")
    found = users.authenticate(store, secret)
    assert found is not None
    assert found.role == "partner" and found.max_tlp is TLP.RED
    assert found.clearance is Classification.SECRET
    assert found.compartments == {"ab", "abc"} and found.groups == {"cert-eu"}
    assert found.audience == Audience(max_tlp=TLP.RED, clearance=Classification.SECRET,
                                      compartments=frozenset({"ab", "abc"}),
                                      groups=frozenset({"cert-eu"}))
    assert users.get_user(store, "sam") == found
    assert [x.name for x in users.list_users(store)] == ["sam"]


@pytest.mark.parametrize("bad", ["", "  ", "a,b", "x" * 121, "tab\there"])
def test_names_are_checked(store: SqlStore, bad: str) -> None:
    u = users.add_user(store, "rita", "reader")
    with pytest.raises(InputError):
        rights.grant(store, u.id, compartments=[bad])
    with pytest.raises(InputError):
        users.add_user(store, "other", "reader", groups=[bad])
    with pytest.raises(InputError):
        rights.set_rights(store, u.id, role="boss")


# --- migration 0017 ----------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def at_0016(request: pytest.FixtureRequest, settings: Settings) -> Iterator[SqlStore]:
    """A store migrated only up to 0016 (before per-user rights)."""
    if request.param == "sqlite":
        s = open_store(settings, migrate=False)
        name = None
    else:
        server: PgServer = request.getfixturevalue("pg_server")
        name = "t_" + uuid.uuid4().hex[:12]
        s = open_store(settings.model_copy(update={
            "database_url": server.create_database(name)}), migrate=False)
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with s.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0016")
    yield s
    s.close()
    if name is not None:
        request.getfixturevalue("pg_server").drop_database(name)


def test_migration_keeps_what_the_role_map_gave(at_0016: SqlStore) -> None:
    old = sa.table("users", sa.column("id"), sa.column("name"), sa.column("role"),
                   sa.column("created_at"), sa.column("disabled"))
    with at_0016.engine.begin() as conn:
        for role in ("admin", "analyst", "reader", "robot"):
            conn.execute(old.insert().values(id=f"id-{role}", name=role, role=role,
                                             created_at=utc_now(), disabled=False))
    at_0016.migrate()
    got = {u.role: u.audience for u in users.list_users(at_0016)}
    assert got == {
        "admin": Audience.owner(),
        "analyst": Audience(max_tlp=TLP.AMBER_STRICT, clearance=Classification.TOP_SECRET),
        "reader": Audience(max_tlp=TLP.GREEN, clearance=Classification.UNCLASSIFIED),
        "robot": Audience(max_tlp=TLP.CLEAR, clearance=Classification.UNCLASSIFIED),
    }
    with at_0016.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.user_groups)
                            ).scalar_one() == 0
