"""``allsource user add|set|grant|revoke|list|show`` and ``allsource token
create|list|revoke``: accounts, their read rights and their bearer tokens (see
:mod:`allsource.store.users` and :mod:`allsource.store.rights`). A token's secret is printed
once, when it is created; the store keeps only its hash.

Rights: ``--tlp`` (the highest TLP the user reads), ``--clearance`` (the highest
classification), ``--compartment`` (repeatable; an object's compartments must all be the
user's) and ``--group`` (repeatable; an object released to named groups is readable when one
is the user's), or ``--all`` (reads everything, like this CLI). Each command prints the
rights that result, in at most 80 columns.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from allsource.cli.common import console, parse_duration, print_json, state
from allsource.errors import InputError
from allsource.model.markings import TLP, Classification
from allsource.store import rights, users
from allsource.store.sql import SqlStore
from allsource.store.users import User

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


TlpOpt = Annotated[str | None, typer.Option(
    "--tlp", help="Highest TLP the user reads: CLEAR, GREEN, AMBER, AMBER+STRICT, RED.")]
ClearanceOpt = Annotated[str | None, typer.Option(
    "--clearance", help="Highest classification: UNCLASSIFIED, RESTRICTED, CONFIDENTIAL, "
                        "SECRET, TOP_SECRET.")]
CompartmentOpt = Annotated[list[str] | None, typer.Option(
    "--compartment", help="A compartment the user is read into (repeatable).")]
GroupOpt = Annotated[list[str] | None, typer.Option(
    "--group", help="A group or organisation the user belongs to (repeatable).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _tlp(text: str | None) -> TLP | None:
    try:
        return None if text is None else TLP.parse(text)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _clearance(text: str | None) -> Classification | None:
    try:
        return None if text is None else Classification.parse(text)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def rights_line(user: User) -> str:
    """A user's read rights in one short line."""
    if user.all_access:
        return "everything (--all)"
    parts = [user.max_tlp.label, user.clearance.name]
    parts.append("compartments " + (",".join(sorted(user.compartments)) or "none"))
    parts.append("groups " + (",".join(sorted(user.groups)) or "none"))
    return ", ".join(parts)


def _show(user: User, verb: str) -> None:
    console.print(f"{verb} [bold]{user.name}[/bold] ({user.role}) reads: "
                  f"{rights_line(user)}", highlight=False, width=80)


def _found(name: str) -> User:
    found = users.get_user(state.store, name)
    if found is None:
        raise InputError(f"no user {name!r} (see `allsource user list`)")
    return found


@user_app.command("add")
def add(name: str,
        role: Annotated[str, typer.Option(
            help="admin, analyst, reader or partner (read-only, an outside organisation)."
        )] = "analyst",
        tlp: TlpOpt = None, clearance: ClearanceOpt = None,
        compartment: CompartmentOpt = None, group: GroupOpt = None,
        all_: Annotated[bool | None, typer.Option(
            "--all/--no-all", help="Read everything (default for admins only).")] = None,
        ) -> None:
    """Add a user with the role's default rights, changed by the options (then give it a
    token with `allsource token create`)."""
    user = users.add_user(state.store, name, role, max_tlp=_tlp(tlp),
                          clearance=_clearance(clearance), compartments=compartment or (),
                          groups=group or (), all_access=all_)
    _show(user, "added user")


@user_app.command("set")
def set_(name: str,
         role: Annotated[str | None, typer.Option(help="A new role.")] = None,
         tlp: TlpOpt = None, clearance: ClearanceOpt = None,
         all_: Annotated[bool | None, typer.Option(
             "--all/--no-all", help="Read everything, or only what the rights allow.")
         ] = None) -> None:
    """Change a user's role, TLP ceiling or clearance. A ceiling or clearance on a user who
    reads everything limits it to them (unless --all is given too)."""
    user = _found(name)
    if all_ is None and (tlp is not None or clearance is not None) and user.all_access:
        all_ = False
    rights.set_rights(state.store, user.id, role=role, max_tlp=_tlp(tlp),
                      clearance=_clearance(clearance), all_access=all_)
    _show(_found(user.id), "user")


@user_app.command("grant")
def grant(name: str, compartment: CompartmentOpt = None, group: GroupOpt = None) -> None:
    """Read a user into compartments and add it to groups."""
    if not compartment and not group:
        raise InputError("name a --compartment or a --group to grant")
    user = _found(name)
    rights.grant(state.store, user.id, compartments=compartment or (), groups=group or ())
    _show(_found(user.id), "user")


@user_app.command("revoke")
def revoke_rights(name: str, compartment: CompartmentOpt = None, group: GroupOpt = None
                  ) -> None:
    """Take compartments and groups away from a user."""
    if not compartment and not group:
        raise InputError("name a --compartment or a --group to revoke")
    user = _found(name)
    rights.revoke(state.store, user.id, compartments=compartment or (), groups=group or ())
    _show(_found(user.id), "user")


@user_app.command("list")
def list_users(json_: JsonOpt = False) -> None:
    """Users, their roles and what each may read."""
    found = users.list_users(state.store)
    if json_:
        print_json([u.as_dict() for u in found])
        return
    table = Table("name", "role", "reads")
    for u in found:
        table.add_row(u.name + (" (disabled)" if u.disabled else ""), u.role, rights_line(u))
    console.print(table, width=80)


@user_app.command("show")
def show(name: str, json_: JsonOpt = False) -> None:
    """One user's role and read rights."""
    user = _found(name)
    if json_:
        print_json(user.as_dict())
        return
    _show(user, "user")


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
