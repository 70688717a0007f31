"""``allsource user add|set|grant|revoke|list|show|passwd|unlock|locks|disable|enable`` and
``allsource token create|list|revoke``: accounts, their read rights, passwords and bearer tokens
(see :mod:`allsource.store.users`, :mod:`allsource.store.rights`,
:mod:`allsource.store.credentials`, :mod:`allsource.store.throttle`). A token's secret is printed
once, when it is created; the store keeps only its hash, and only an argon2id hash of a
password.

Rights: ``--tlp`` (the highest TLP the user reads), ``--clearance`` (the highest
classification), ``--compartment`` (repeatable; an object's compartments must all be the
user's) and ``--group`` (repeatable; an object released to named groups is readable when one
is the user's), or ``--all`` (reads everything, like this CLI). Each command prints the
rights that result, in at most 80 columns.
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from allsource.cli.common import console, parse_duration, print_json, state
from allsource.cli.tables import Column, WideOpt, fitted, print_table
from allsource.errors import InputError
from allsource.model.markings import TLP, Classification
from allsource.store import credentials, logins, rights, sessions, throttle, tokens, users
from allsource.store.sql import SqlStore
from allsource.store.users import User

user_app = typer.Typer(help="Users: passwords, lockouts, disabling.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")


def init_admin(store: SqlStore) -> None:
    """Create the first admin and print its token once (``allsource init``)."""
    created = users.ensure_first_admin(store)
    if created is None:
        console.print("an admin exists already: create tokens with "
                      "[cyan]allsource token create USER[/cyan], set passwords with "
                      "[cyan]allsource user passwd USER[/cyan]")
        return
    user, secret = created
    console.print(f"created admin [bold]{user.name}[/bold]; its API token (shown only once):")
    console.print(secret, markup=False, highlight=False, soft_wrap=True)
    console.print(f"use it as `Authorization: Bearer <token>` or on the web login page; give "
                  f"{user.name} a password for the web with "
                  f"[cyan]allsource user passwd {user.name}[/cyan]")

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
    console.print(f"set a password with `allsource user passwd {user.name}` or make a token "
                  f"with `allsource token create {user.name}`", highlight=False, markup=False)


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
def list_users(json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")
                                ] = False) -> None:
    """Users: role, what each may read, and their login (password, live web sessions,
    lockout)."""
    store = state.store
    locked = {k.key: k for k in throttle.list_locks(store)}
    rows = []
    for user in users.list_users(store):
        lock = locked.get(throttle.account_key(user.name))
        rows.append({**user.as_dict(), "password": credentials.has_password(store, user.id),
                     "sessions": len(sessions.list_sessions(store, user.id)),
                     "locked_until": lock.locked_until.isoformat()
                     if lock and lock.locked_until else None})
    if json_:
        print_json(rows)
        return
    table = Table("name", "role", "reads", "login")
    for user, r in zip(users.list_users(store), rows, strict=True):
        login = ["password" if r["password"] else "token only",
                 f"{r['sessions']} session{'s' if r['sessions'] != 1 else ''}"]
        if r["locked_until"]:
            login.append(f"locked until {r['locked_until'][11:16]} UTC")
        table.add_row(user.name + (" (disabled)" if user.disabled else ""), user.role,
                      rights_line(user), ", ".join(login))
    console.print(table, width=80)


def _read_password(name: str, from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if not password:
            raise InputError("no password on standard input (one line expected)")
        return password
    if not sys.stdin.isatty():
        raise InputError("no terminal to ask for the password: pass --stdin and write it "
                         "on standard input")
    first = getpass.getpass(f"new password for {name}: ")
    credentials.check_policy(first, name)  # say what is wrong before asking again
    if getpass.getpass("again: ") != first:
        raise InputError("the two passwords differ; nothing was changed")
    return first


@user_app.command("passwd")
def passwd(name: str,
           stdin: Annotated[bool, typer.Option(
               "--stdin", help="Read the password from one line of standard input "
                               "(for scripts) instead of asking twice.")] = False,
           remove: Annotated[bool, typer.Option(
               "--remove", help="Remove the password (tokens keep working).")] = False
           ) -> None:
    """Set NAME's password for the web login (ends NAME's web sessions)."""
    user = _found(name)
    if remove:
        done = credentials.remove_password(state.store, user)
        console.print(f"removed the password of {user.name}" if done
                      else f"{user.name} had no password", highlight=False)
        return
    credentials.set_password(state.store, user, _read_password(user.name, stdin))
    throttle.unlock(state.store, throttle.account_key(user.name))
    console.print(f"password set for [bold]{user.name}[/bold]; their web sessions ended")


@user_app.command("unlock")
def unlock(name: Annotated[str | None, typer.Argument(help="The locked user.")] = None,
           address: Annotated[str | None, typer.Option(
               "--address", help="Unlock a client address instead.")] = None) -> None:
    """Lift a login lockout (and forget the failures) of a user or a client address."""
    if (name is None) == (address is None):
        raise InputError("name a user or give --address ADDR (one of the two)")
    key = (throttle.account_key(_found(name).name) if name is not None
           else throttle.address_key(address or ""))
    done = throttle.unlock(state.store, key)
    console.print(f"unlocked {key}" if done else f"{key} had no failed logins",
                  highlight=False, markup=False)


@user_app.command("locks")
def locks(json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")
                           ] = False) -> None:
    """Accounts and addresses locked out now."""
    found = throttle.list_locks(state.store)
    if json_:
        print_json([{"key": k.key, "failures": k.failures,
                     "locked_until": k.locked_until.isoformat() if k.locked_until else None}
                    for k in found])
        return
    table = Table("key", "failures", "locked until")
    for k in found:
        table.add_row(k.key, str(k.failures),
                      k.locked_until.isoformat()[:19] if k.locked_until else "")
    console.print(table)


@user_app.command("disable")
def disable(name: str) -> None:
    """Disable a user: their tokens stop working and their web sessions end now."""
    user = logins.disable_user(state.store, name, True)
    console.print(f"disabled {user.name}", highlight=False, markup=False)


@user_app.command("enable")
def enable(name: str) -> None:
    """Enable a disabled user again."""
    user = logins.disable_user(state.store, name, False)
    console.print(f"enabled {user.name}", highlight=False, markup=False)

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
               "--expires", help="Lifetime such as 90d or 12h (default: no expiry).")] = None,
           scope: Annotated[str | None, typer.Option(
               "--scope", help="What the token may do, within the user's role: read, "
                               "write, admin, comma-separated (default: all the role "
                               "allows).")
           ] = None
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
    info, secret = users.create_token(state.store, found, name=name, expires_at=expires_at,
                                      scopes=tokens.parse_scopes(scope) if scope else None)
    console.print(f"token {info.id} for {found.name}, scopes {','.join(info.scopes)} "
                  "(shown only once):", highlight=False)
    console.print(secret, markup=False, highlight=False, soft_wrap=True)


@token_app.command("list")
def list_(json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")
                          ] = False, wide: WideOpt = False) -> None:
    """List tokens (never their secrets)."""
    found = users.list_tokens(state.store)
    if json_:
        print_json([tok.as_dict() for tok in found])
        return
    columns = (Column("id"), Column("user"), Column("name", flex=True),
               Column("scopes", keep=False), Column("created", keep=False),
               Column("last used"), Column("expires", keep=False), Column("revoked"))
    rows = []
    for tok in found:
        d = tok.as_dict()
        rows.append({"id": tok.id, "user": escape(tok.user), "name": escape(tok.name),
                     "scopes": ",".join(tok.scopes), "created": d["created_at"][:10],
                     "last used": (d["last_used_at"] or "never")[:10],
                     "expires": (d["expires_at"] or "never")[:10],
                     "revoked": "yes" if tok.revoked else ""})
    print_table(fitted(columns, rows, wide=wide), wide)


@token_app.command("revoke")
def revoke(token_id: str) -> None:
    """Revoke a token: requests with it get 401 from now on, and web sessions opened with
    it end."""
    if not users.revoke_token(state.store, token_id):
        raise InputError(f"no token {token_id!r} (see `allsource token list`)")
    console.print(f"revoked token {token_id}")
