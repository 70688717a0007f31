"""``allsource init`` encrypts by default; ``allsource keys status|rotate|encrypt-existing``."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Run, as_json


def test_init_encrypts_and_keys_rotate_in_place(cli: Run, tmp_path: Path) -> None:
    assert "encryption key created" in cli("init").stdout
    key = tmp_path / "allsource.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "cli.db").stat().st_mode & 0o777 == 0o600
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Quillfeather report\n\nThe quillfeather courier left.\n")
    cli("ingest", str(folder))
    assert b"quillfeather" not in (tmp_path / "cli.db").read_bytes().lower()
    status = as_json(cli("keys", "status", "--json"))
    assert status["encrypted"] and status["plaintext_documents"] == 0  # type: ignore[index]
    assert status["blobs"] == 1 and status["plaintext_blobs"] == 0  # type: ignore[index]
    old_id = status["key_id"]  # type: ignore[index]

    assert "re-wrapped 2 data keys" in cli("keys", "rotate").stdout
    retired = next(tmp_path.glob("allsource.key.retired-*"))
    assert as_json(cli("keys", "status", "--json"))["key_id"] != old_id  # type: ignore[index]
    assert as_json(cli("search", "courier", "--json"))["total"] == 1  # type: ignore[index]

    current = key.read_bytes()
    key.write_bytes(retired.read_bytes())  # the old key back in place: refused, one line
    wrong = cli("search", "courier", check=2)
    assert "wrong key" in wrong.stderr
    key.write_bytes(current)
    key.unlink()  # no key at all: reads stop with the setting to fix
    missing = cli("search", "courier", check=2)
    assert "ALLSOURCE_ENCRYPTION_KEY_FILE" in missing.stderr


def test_init_without_encryption_then_encrypt_existing(cli: Run, tmp_path: Path) -> None:
    cli("init", "--no-encryption")
    assert not (tmp_path / "allsource.key").exists()
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Bramblecourt note\n\nThe bramblecourt relay stood down.\n")
    cli("ingest", str(folder))
    assert "not encrypted" in cli("keys", "status").stdout
    cli("keys", "create")
    assert "1 in plain text" in cli("keys", "status").stdout
    assert "sealed 1 documents and 1 blobs" in cli("keys", "encrypt-existing").stdout
    assert b"bramblecourt" not in (tmp_path / "cli.db").read_bytes().lower()
    assert as_json(cli("search", "relay", "--json"))["total"] == 1  # type: ignore[index]
