"""``allsource audit keygen|checkpoint|verify|export|log``: the tamper-evident audit trail
(see :mod:`allsource.store.audit`).

``verify`` exits 1 and names the first bad event when the chain was edited, cut or re-signed;
``export`` signs the head and writes it (and optionally every event, as JSON lines) so the
head can be kept somewhere the database's administrators cannot write — a ticket, a mail, a
transparency log — and handed back later to ``verify --anchor``.

Every command run by the local operator is audited as ``cli:<os user>``: user and token
commands as ``permission``, others as ``write`` when they change data (:func:`cli_scope`);
``search``, ``show`` and ``grade`` leave a ``search`` or ``read`` event (:func:`record_read`)
before they print, as the API's reads do — the query as a SHA-256, never its text.
"""

from __future__ import annotations

import contextlib
import sys
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any

import orjson
import sqlalchemy as sa
import typer

from allsource.cli.common import console, err_console, print_json, state
from allsource.errors import ConfigError, InputError
from allsource.store import audit, audit_scope
from allsource.store import schema as t
from allsource.store.audit import AuditEvent, Head
from allsource.store.audit_keys import AuditKey, generate_key_file, load_key, signature_ok
from allsource.store.audit_verify import PAGE, verify

audit_app = typer.Typer(help="The tamper-evident audit trail: verify, export, read.",
                        no_args_is_help=True)

#: commands that change who may do what
_PERMISSION_COMMANDS = frozenset({"user", "token", "init"})
#: commands that are not one action (a server audits its own requests) or read the trail
_UNSCOPED_COMMANDS = frozenset({"serve", "audit"})
_LOG_WIDTH = 80


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


def cli_scope(ctx: typer.Context) -> None:
    """Open the audit scope of this invocation (called by the global CLI callback)."""
    command = ctx.invoked_subcommand
    if not command or command in _UNSCOPED_COMMANDS:
        return
    argv = sys.argv[1:]
    rest = argv[argv.index(command):] if command in argv else [command]
    words: list[str] = []
    for word in rest:  # "user add alice": enough to say what, never an option's value
        if word.startswith("-") or len(words) == 3:
            break
        words.append(word[:100])
    action: audit.Action = "permission" if command in _PERMISSION_COMMANDS else "write"
    ctx.with_resource(audit_scope.scope(audit_scope.cli_actor(), action,
                                        " ".join(words or [command])))


def record_read(action: audit.Action, target: str, *, count: int = 1,
                **detail: Any) -> None:
    """Append the ``read``/``search`` event of a command that shows stored content, in its
    own transaction, before the content is printed: a search's ``target`` is its query,
    kept as ``q:<first 16 hex of its SHA-256>`` (the full digest in ``detail``); a read's
    target carries its marking."""
    tlp, classification, compartments = 0, 0, ""
    if action == "search":
        digest = audit.query_digest(target)
        target, detail = "q:" + digest[:16], {**detail, "query_sha256": digest}
    with state.store.engine.begin() as conn:
        if action == "read":
            tlp, classification, compartments = audit.marking_of(conn, target)
        audit_scope.append(conn, AuditEvent(
            actor=audit_scope.cli_actor(), action=action, target=target, tlp=tlp,
            classification=classification, compartments=compartments, count=count,
            detail={"command": " ".join(sys.argv[1:2]), **detail}))


def ensure_key(path: Path) -> AuditKey | None:
    """Create the signing key at ``path`` unless one exists (``allsource init``); the new
    key, or ``None`` when there was one already."""
    if load_key(path) is not None:
        return None
    return generate_key_file(path)


def _key() -> AuditKey:
    key = load_key(state.settings.audit_key_file)
    if key is None:
        raise ConfigError(f"no audit key at {state.settings.audit_key_file}: create one with "
                          "`allsource audit keygen`")
    return key


@audit_app.command("keygen")
def keygen() -> None:
    """Create the Ed25519 key that signs checkpoints (0600; never overwritten)."""
    path = state.settings.audit_key_file
    key = generate_key_file(path)
    console.print(f"audit key written to [bold]{path}[/bold] (owner-only)")
    console.print(f"public key: {key.public_hex}", highlight=False)


@audit_app.command("checkpoint")
def checkpoint() -> None:
    """Sign the chain's current head now."""
    with state.store.engine.begin() as conn:
        head = audit.checkpoint(conn, _key())
    if head is None:
        console.print("the audit trail is empty: nothing to sign")
        return
    console.print(f"signed seq {head.seq} ({head.hash})", highlight=False)


def _trusted(extra: list[str]) -> list[str]:
    keys = [*extra, *state.settings.audit_public_keys]
    own = load_key(state.settings.audit_key_file)
    if own is not None:
        keys.append(own.public_hex)
    return keys


def _read_anchor(path: Path, trusted: list[str]) -> Head:
    try:
        data = orjson.loads(path.read_bytes())
        head = Head(int(data["seq"]), str(data["hash"]), datetime.fromisoformat(data["at"]))
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"cannot read the anchor {path}: {exc}") from None
    message = audit.checkpoint_message(head.seq, head.hash, head.at or datetime.min)
    if data.get("public_key") not in trusted or not signature_ok(
            str(data.get("public_key")), str(data.get("signature", "")), message):
        raise InputError(f"the anchor {path} is not signed by a trusted key")
    return head


@audit_app.command("verify")
def verify_cmd(
    public_key: Annotated[list[str] | None, typer.Option(
        "--public-key", help="A trusted public key (hex); repeatable. The key file's own "
                             "public key and audit_public_keys are trusted too.")] = None,
    anchor: Annotated[Path | None, typer.Option(
        "--anchor", help="A head written by `audit export` earlier: the chain must still "
                         "hold it.")] = None,
    page: Annotated[int, typer.Option(help="Events read per query.", min=100)] = PAGE,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check every event's hash, link and checkpoint; exit 1 naming the first bad one."""
    trusted = _trusted(public_key or [])
    anchored = _read_anchor(anchor, trusted) if anchor else None
    with state.store.engine.connect() as conn:
        report = verify(conn, trusted_keys=trusted, anchor=anchored, page=page)
    summary: dict[str, Any] = {
        "ok": report.ok, "events": report.events, "checkpoints": report.checkpoints,
        "last_checkpoint": report.last_checkpoint, "unsigned_tail": report.unsigned_tail,
        "head": {"seq": report.head.seq, "hash": report.head.hash},
        "problem": ({"seq": report.problem.seq, "reason": report.problem.reason}
                    if report.problem else None)}
    if json_:
        print_json(summary)
    elif report.problem is not None:
        err_console.print(f"[bold red]audit chain broken at seq {report.problem.seq}:"
                          f"[/bold red] {report.problem.reason}", highlight=False)
    else:
        console.print(f"audit chain intact: {report.events} events, {report.checkpoints} "
                      f"signed checkpoints (last at seq {report.last_checkpoint}; "
                      f"{report.unsigned_tail} events after it)", highlight=False)
        if report.checkpoints == 0 and report.events:
            console.print("no checkpoints: create a key with `allsource audit keygen`")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def export(
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the signed head here (default: standard output).")] = None,
    events: Annotated[Path | None, typer.Option(
        "--events", help="Also write every event to this file, one JSON object a line.")
                      ] = None,
) -> None:
    """Sign the chain head and write it (seq, hash, time, signature, public key)."""
    key = _key()
    store = state.store
    with store.engine.begin() as conn:
        audit_scope.append(conn, AuditEvent(
            actor=audit_scope.cli_actor(), action="export", target="audit trail",
            count=audit.head(conn).seq if events else 1,
            detail={"events": bool(events)}))
        head = audit.checkpoint(conn, key)
    assert head is not None and head.at is not None  # the export event itself is there
    signed = {"seq": head.seq, "hash": head.hash,
              "at": head.at.isoformat(timespec="microseconds"),
              "signature": key.sign(audit.checkpoint_message(head.seq, head.hash, head.at)),
              "public_key": key.public_hex, "algorithm": "sha256-chain+ed25519"}
    if events is not None:
        with events.open("wb") as fh:
            written = _write_events(fh, head.seq)
        err_console.print(f"{written} events written to {events}")
    text = orjson.dumps(signed, option=orjson.OPT_INDENT_2).decode() + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        err_console.print(f"signed head (seq {head.seq}) written to {out}")


def _write_events(fh: IO[bytes], upto: int) -> int:
    """Stream events 1..upto as JSON lines, one page in memory at a time."""
    e = t.audit_events
    last, written = 0, 0
    with state.store.engine.connect() as conn:
        while True:
            rows = conn.execute(sa.select(e).where(e.c.seq > last, e.c.seq <= upto)
                                .order_by(e.c.seq).limit(PAGE)).all()
            if not rows:
                return written
            for row in rows:
                fh.write(orjson.dumps({str(k): v for k, v in row._mapping.items()}) + b"\n")
            written += len(rows)
            last = rows[-1].seq


def _line(row: dict[str, Any]) -> str:
    when = row["at"].strftime("%m-%d %H:%M:%S")
    mark = f"T{row['tlp']}" + (f"/C{row['classification']}" if row["classification"] else "")
    head = f"{row['seq']:>7} {when} {row['actor'][:12]:<12} {row['action']:<12} {mark:<5}"
    count = f" ×{row['count']}" if row["count"] > 1 else ""
    room = _LOG_WIDTH - len(head) - 1 - len(count)
    target = row["target"] if len(row["target"]) <= room else row["target"][:room - 1] + "…"
    return f"{head} {target}{count}"


@audit_app.command("log")
def log(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100_000)] = 30,
    actor: Annotated[str | None, typer.Option(help="Only this actor's events.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The newest events, one 80-column line each (seq, time UTC, actor, action, marking,
    target)."""
    if action and action not in audit.ACTIONS:
        raise InputError(f"unknown action {action!r} (one of {', '.join(audit.ACTIONS)})")
    with state.store.engine.connect() as conn:
        rows = audit.recent(conn, limit, actor=actor, action=action)
    if json_:
        print_json(rows)
        return
    with contextlib.suppress(BrokenPipeError):
        for row in reversed(rows):
            sys.stdout.write(_line(row) + "\n")
