"""``allsource init`` creates the first admin once; users, tokens and their revocation; the
token authenticates against the store exactly as the API does; passwords, lockouts, disabling
and scoped tokens."""

from __future__ import annotations

import re
from pathlib import Path

from allsource.config import load_settings
from allsource.store import logins, open_store, sessions, tokens
from allsource.store import users as store_users
from tests.cli.conftest import Run, as_json

TOKEN = re.compile(r"^(as_\S+)$", re.MULTILINE)


def test_init_admin_once_users_tokens_revoke(cli: Run, tmp_path: Path) -> None:
    first = cli("init").stdout
    assert "created admin" in first
    [admin_token] = TOKEN.findall(first)
    again = cli("init").stdout
    assert "an admin exists already" in again and not TOKEN.findall(again)

    cli("user", "add", "ana", "--role", "reader")
    made = cli("token", "create", "ana", "--name", "laptop", "--expires", "30d").stdout
    [reader_token] = TOKEN.findall(made)
    listed = as_json(cli("token", "list", "--json"))
    assert isinstance(listed, list) and len(listed) == 2
    assert all(admin_token not in str(t) and reader_token not in str(t) for t in listed)
    laptop = next(t for t in listed if t["name"] == "laptop")
    assert laptop["expires_at"] is not None

    store = open_store(load_settings(database_url=f"sqlite:///{tmp_path / 'cli.db'}",
                                     blob_dir=tmp_path / "blobs"))
    try:
        assert store_users.authenticate(store, admin_token) is not None
        assert store_users.authenticate(store, reader_token) is not None
        cli("token", "revoke", laptop["id"])
        assert store_users.authenticate(store, reader_token) is None
        assert store_users.authenticate(store, "as_not-a-token") is None
    finally:
        store.close()
    assert "no user" in cli("token", "create", "nobody", check=2).stderr
    assert "no token" in cli("token", "revoke", "tok-nope", check=2).stderr
    assert "--public" in cli("serve", "--host", "0.0.0.0", check=2).stderr


def test_passwords_unlock_disable_and_scoped_tokens(cli: Run, tmp_path: Path) -> None:
    init = cli("init").stdout
    assert "allsource user passwd admin" in " ".join(init.split())
    cli("user", "add", "rita", "--role", "analyst")
    weak = cli("user", "passwd", "rita", "--stdin", input="password123456\n", check=2)
    assert "too easy to guess" in weak.stderr and weak.stderr.count("\n") <= 3
    assert "too short" in cli("user", "passwd", "rita", "--stdin", input="short\n",
                              check=2).stderr
    assert "--stdin" in cli("user", "passwd", "rita", input="", check=2).stderr
    assert "no user" in cli("user", "passwd", "nobody", "--stdin", input="x\n",
                            check=2).stderr
    cli("user", "passwd", "rita", "--stdin", input="plover tandem quietly orchid\n")
    listed = as_json(cli("user", "list", "--json"))
    assert isinstance(listed, list)
    assert {u["name"]: u["password"] for u in listed} == {"admin": False, "rita": True}

    store = open_store(load_settings(database_url=f"sqlite:///{tmp_path / 'cli.db'}",
                                     blob_dir=tmp_path / "blobs"))
    try:
        for i in range(5):
            assert not logins.login_with_password(store, "rita", f"wrong {i}").ok
        assert logins.login_with_password(store, "rita", "plover tandem quietly orchid"
                                          ).reason == "locked"
        locks = as_json(cli("user", "locks", "--json"))
        assert [k["key"] for k in locks] == ["account:rita"]  # type: ignore[union-attr]
        assert "unlocked account:rita" in cli("user", "unlock", "rita").stdout
        ok = logins.login_with_password(store, "rita", "plover tandem quietly orchid")
        assert ok.ok and ok.session is not None
        cli("user", "disable", "rita")
        assert sessions.find_session(store, ok.session.id) is None
        cli("user", "enable", "rita")
        assert "one of the two" in cli("user", "unlock", check=2).stderr
        made = cli("token", "create", "rita", "--scope", "read").stdout
        assert "scopes read " in made
        [secret] = TOKEN.findall(made)
        grant = tokens.authenticate_scoped(store, secret)
        assert grant is not None and grant.scopes == ("read",)
    finally:
        store.close()
    assert "unknown scope" in cli("token", "create", "rita", "--scope", "root",
                                  check=2).stderr


def test_a_token_gets_the_scopes_its_role_allows_and_no_more(cli: Run) -> None:
    cli("init")
    for role, scopes in (("analyst", "read,write"), ("reader", "read"),
                         ("partner", "read,write"), ("admin", "read,write,admin")):
        cli("user", "add", f"u-{role}", "--role", role)
        assert f"scopes {scopes} " in cli("token", "create", f"u-{role}").stdout
    refused = cli("token", "create", "u-analyst", "--scope", "admin", check=2).stderr
    assert "cannot have the admin scope" in refused and "allows read,write" in refused
    assert "cannot have the write scope" in cli("token", "create", "u-reader", "--scope",
                                               "write", check=2).stderr


def test_user_rights_commands(cli: Run) -> None:
    """Rights are set on add and changed by set/grant/revoke; every line fits 80 columns
    (COLUMNS is 200 here, so the width is the command's own)."""
    cli("init")
    out = cli("user", "add", "sam", "--role", "analyst", "--clearance", "secret", "--tlp",
              "amber+strict", "--compartment", "ORCON", "--compartment", "NOFORN",
              "--group", "nato").stdout
    assert "TLP:AMBER+STRICT, SECRET, compartments NOFORN,ORCON, groups nato" in " ".join(
        out.split())
    cli("user", "add", "pat", "--role", "partner", "--group", "acme")
    outputs = [cli("user", "grant", "sam", "--group", "cert-eu").stdout,
               cli("user", "revoke", "sam", "--compartment", "ORCON", "--group", "nato").stdout,
               cli("user", "set", "admin", "--tlp", "amber").stdout,
               cli("user", "list").stdout, cli("user", "show", "pat").stdout]
    assert all(len(line) <= 80 for text in outputs for line in text.splitlines())
    shown = {u["name"]: u for u in as_json(cli("user", "list", "--json"))}  # type: ignore[union-attr]
    assert shown["sam"]["compartments"] == ["NOFORN"] and shown["sam"]["groups"] == ["cert-eu"]
    assert shown["sam"]["clearance"] == "SECRET"
    assert shown["pat"]["role"] == "partner" and shown["pat"]["max_tlp"] == "TLP:GREEN"
    # a ceiling on the admin who read everything limits it; --all gives everything back
    assert not shown["admin"]["all_access"] and shown["admin"]["max_tlp"] == "TLP:AMBER"
    cli("user", "set", "admin", "--all")
    assert as_json(cli("user", "show", "admin", "--json"))["all_access"] is True  # type: ignore[index]
    assert "unknown TLP" in cli("user", "set", "sam", "--tlp", "purple", check=2).stderr
    assert "without commas" in cli("user", "grant", "sam", "--group", "a,b", check=2).stderr
    assert "unknown role" in cli("user", "add", "x", "--role", "boss", check=2).stderr
    assert "no user" in cli("user", "grant", "nobody", "--group", "g", check=2).stderr
    assert "name a --compartment" in cli("user", "revoke", "sam", check=2).stderr
