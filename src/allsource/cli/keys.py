"""``allsource keys create|status|rotate|encrypt-existing``: the store's encryption keys.

See :mod:`allsource.store.keys` for where the key-encryption key comes from and what it wraps.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from allsource.cli.common import console, print_json, state
from allsource.errors import ConfigError
from allsource.store.encrypt_existing import encrypt_existing, plain_rows
from allsource.store.keys import create_key_file, read_key_file

keys_app = typer.Typer(help="Encryption at rest: key file, status, rotation.",
                       no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


def ensure_key_file() -> Path | None:
    """Create the configured key file when no key is configured at all (``allsource init``);
    returns its path when one was created."""
    settings = state.settings
    path = Path(settings.encryption_key_file).expanduser()
    if settings.encryption_kms or settings.encryption_key is not None or path.exists():
        return None
    create_key_file(path)
    return path


@keys_app.command("create")
def create(path: Annotated[Path | None, typer.Argument(
        help="Where to write the key (default: the encryption_key_file setting).")] = None
           ) -> None:
    """Write a new random key-encryption key to a file (mode 0600)."""
    target = path or Path(state.settings.encryption_key_file).expanduser()
    kek = create_key_file(target)
    console.print(f"key {kek.id} written to [bold]{target}[/bold] (mode 0600); keep a copy "
                  "off this disk — without it the store cannot be read")


@keys_app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Whether the store is encrypted, which key wraps its data keys, what is left in plain
    text."""
    store = state.store
    st = store.keys.status()
    blobs = store.blobs.digests() if store.blobs.root.is_dir() else []
    plain_blobs = sum(1 for d in blobs if not store.blobs.is_sealed(d))
    plain_derived = plain_rows(store) if st.encrypted else {}
    out = {"encrypted": st.encrypted, "key_id": st.kek_id, "key_origin": st.kek_origin,
           "data_keys": st.data_keys, "wrapped_by": st.wrapped_by,
           "sealed_documents": st.sealed_documents,
           "plaintext_documents": st.plaintext_documents,
           "blobs": len(blobs), "plaintext_blobs": plain_blobs,
           "plaintext_rows": plain_derived}
    if as_json:
        print_json(out)
        return
    if not st.encrypted:
        console.print("store is [bold]not encrypted[/bold] (no key configured when it was "
                      "opened); `allsource keys create` then `allsource keys "
                      "encrypt-existing` turns it on")
        return
    console.print(f"store is [bold]encrypted[/bold]; key {st.kek_id or '(not configured)'} "
                  f"from {st.kek_origin or '-'}")
    console.print(f"data keys: {st.data_keys} (wrapped by {st.wrapped_by})")
    console.print(f"documents: {st.sealed_documents} sealed, {st.plaintext_documents} in "
                  f"plain text; blobs: {len(blobs) - plain_blobs} sealed, {plain_blobs} in "
                  "plain text")
    if plain_derived:
        console.print("derived rows in plain text (alerts, hits, claims …): " + ", ".join(
            f"{name} {n}" for name, n in sorted(plain_derived.items())))
    if st.plaintext_documents or plain_blobs or plain_derived:
        console.print("run [cyan]allsource keys encrypt-existing[/cyan] to seal the rest")


@keys_app.command("rotate")
def rotate(new_key_file: Annotated[Path | None, typer.Option(
        "--new-key-file", help="File of the new key (created if missing). Default: replace "
                               "the configured key file in place, keeping the old one as "
                               "<file>.retired-<time>.")] = None) -> None:
    """Re-wrap every data key under a new key-encryption key. Content is not re-encrypted."""
    settings = state.settings
    store = state.store
    in_place = new_key_file is None
    if in_place:
        if settings.encryption_key is not None or settings.encryption_kms:
            raise ConfigError("the key comes from the environment or a KMS: pass "
                              "--new-key-file, then point the settings at it")
        current = Path(settings.encryption_key_file).expanduser()
        target = current.with_name(current.name + ".next")
    else:
        assert new_key_file is not None
        target = new_key_file
    new = read_key_file(target) if target.exists() else create_key_file(target)
    count = store.keys.rotate(new)
    if in_place:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        retired = current.with_name(f"{current.name}.retired-{stamp}")
        os.replace(current, retired)
        os.replace(target, current)
        console.print(f"re-wrapped {count} data keys under key {new.id}; {current} holds the "
                      f"new key, the old one is in {retired} (destroy it once no backup "
                      "needs it)")
    else:
        console.print(f"re-wrapped {count} data keys under key {new.id} from {target}; "
                      "point encryption_key_file (or ALLSOURCE_ENCRYPTION_KEY_FILE) at it")


@keys_app.command("encrypt-existing")
def encrypt_existing_cmd() -> None:
    """Seal documents and blobs written before encryption was turned on (resumable)."""
    store = state.store
    done = encrypt_existing(store, progress=lambda n: console.print(f"sealed {n} documents…")
                            if n % 5000 == 0 else None)
    console.print(f"sealed {done.documents} documents and {done.blobs} blobs"
                  + ("; rows " + ", ".join(f"{name} {n}" for name, n in sorted(done.rows.items()))
                     if done.rows else ""))
