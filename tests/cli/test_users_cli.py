"""``allsource init`` creates the first admin once; users, tokens and their revocation; the
token authenticates against the store exactly as the API does."""

from __future__ import annotations

import re
from pathlib import Path

from allsource.config import load_settings
from allsource.store import open_store
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
