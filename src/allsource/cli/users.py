"""``allsource user add`` and ``allsource token create|list|revoke``: API accounts and their
bearer tokens (see :mod:`allsource.store.users`). A token's secret is printed once, when it is
created; the store keeps only its hash."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from allsource.cli.common import console, parse_duration, print_json, state
from allsource.errors import InputError
from allsource.store import users
from allsource.store.sql import SqlStore

user_app = typer.Typer(help="API users.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")


def init_admin(store: SqlStore) -> None:
    """Create the first admin and print its token once (``allsource init``)."""
    created = users.ensure_first_admin(store)
    if created is None:
        console.print("an admin exists already: create tokens with "
                      "[cyan]allsource token create USER[/cyan]")
        return
    user, secret = created
    console.print(f"created admin [bold]{user.name}[/bold]; its API token (shown only once):")
    console.print(secret, markup=False, highlight=False, soft_wrap=True)


@user_app.command("add")
def add(name: str,
        role: Annotated[str, typer.Option(help="admin, analyst or reader.")] = "analyst"
        ) -> None:
    """Add an API user (then give it a token with `allsource token create`)."""
    user = users.add_user(state.store, name, role)
    console.print(f"added user [bold]{user.name}[/bold] ({user.role})")


@token_app.command("create")
def create(user: str,
           name: Annotated[str, typer.Option("--name", help="What the token is for.")
                           ] = "default",
           expires: Annotated[str | None, typer.Option(
               "--expires", help="Lifetime such as 90d or 12h (default: no expiry).")] = None
           ) -> None:
    """Create a token for USER and print it once."""
    found = users.get_user(state.store, user)
    if found is None:
        raise InputError(f"no user {user!r} (add one with `allsource user add NAME`)")
    expires_at = None
    if expires:
        seconds = parse_duration(expires)
        if seconds <= 0:
            raise InputError("--expires must be a positive duration")
        expires_at = datetime.fromtimestamp(datetime.now(UTC).timestamp() + seconds, UTC)
    info, secret = users.create_token(state.store, found, name=name, expires_at=expires_at)
    console.print(f"token {info.id} for {found.name} (shown only once):", highlight=False)
    console.print(secret, markup=False, highlight=False, soft_wrap=True)


@token_app.command("list")
def list_(json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")
                          ] = False) -> None:
    """List tokens (never their secrets)."""
    tokens = users.list_tokens(state.store)
    if json_:
        print_json([tok.as_dict() for tok in tokens])
        return
    table = Table("id", "user", "name", "created", "last used", "expires", "revoked")
    for tok in tokens:
        d = tok.as_dict()
        table.add_row(tok.id, tok.user, tok.name, d["created_at"][:19],
                      (d["last_used_at"] or "never")[:19], (d["expires_at"] or "never")[:19],
                      "yes" if tok.revoked else "")
    console.print(table)


@token_app.command("revoke")
def revoke(token_id: str) -> None:
    """Revoke a token: requests with it get 401 from now on."""
    if not users.revoke_token(state.store, token_id):
        raise InputError(f"no token {token_id!r} (see `allsource token list`)")
    console.print(f"revoked token {token_id}")
