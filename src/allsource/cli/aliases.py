"""``allsource aliases show|undo|merge|list``: alias resolutions as statements with provenance,
which analysts can undo and make (see :mod:`allsource.store.aliases`).

Every command first brings the store's statements in line with the gazetteer as the analysts
left it (:func:`~allsource.process.entities.store_gazetteer`), so what it shows is what
processing applies. Undos and merges take effect on stored documents at the next
``allsource process``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from allsource.cli.common import IdsOpt, analyst_name, console, print_ids, print_json, state
from allsource.errors import InputError
from allsource.model.resolution import ResolvedEntity
from allsource.process.entities import Gazetteer, store_gazetteer
from allsource.process.gazetteer import KINDS
from allsource.store import aliases as statements
from allsource.store.aliases import AliasStatement

aliases_app = typer.Typer(help="Alias resolutions with provenance: show, undo, merge.",
                          no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
EntityArg = Annotated[str, typer.Argument(help="An entity: its id, name or any alias.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept with the statement).")]
AnalystOpt = Annotated[str | None, typer.Option(
    "--analyst", help="Who decides (default: the login name).")]
APPLY_HINT = "run `allsource process` to apply it to stored documents"


def register(app: typer.Typer) -> None:
    app.add_typer(aliases_app, name="aliases")


def _analyst(name: str | None) -> str:
    return analyst_name(name, "unknown")


def _resolve(gazetteer: Gazetteer, text: str) -> ResolvedEntity:
    entity = gazetteer.resolve(text)
    if entity is None:
        raise InputError(f"no entity known as {text!r} (give an id, a name or an alias)")
    return entity


def _short(ref: str) -> str:
    head, _, tail = ref.partition("--")
    return f"{head}--{tail[:8]}" if tail else ref


def _note(s: AliasStatement) -> str:
    if s.status == statements.UNDONE:
        when = s.undone_at.date().isoformat() if s.undone_at else "?"
        return f"undone by {s.undone_by} on {when}: {s.undo_reason}"
    if s.origin == statements.ANALYST:
        return f"by {s.created_by} on {s.created_at.date().isoformat()}: {s.reason}"
    return ""


def _table(rows: list[AliasStatement], title: str, with_entity: bool = False) -> Table:
    columns = ["id", *(["entity"] if with_entity else []), "alias", "basis", "provenance",
               "record", "status", "note"]
    table = Table(*columns, title=title)
    for s in rows:
        record = _short(s.member_id)
        if s.other_id:
            record += f" + {_short(s.other_id)}"
        table.add_row(s.short_id, *([escape(s.entity_name)] if with_entity else []),
                      escape(s.alias), s.basis, escape(s.provenance), record, s.status,
                      escape(_note(s)))
    return table


@aliases_app.command("show")
def show(entity: EntityArg,
         all_: Annotated[bool, typer.Option("--all", help="Include retired statements (no "
                                                          "longer made by the sources).")
                         ] = False,
         json_: JsonOpt = False) -> None:
    """An entity's canonical name and every alias statement: basis, provenance, status."""
    store = state.store
    gazetteer, _ = store_gazetteer(store)
    found = gazetteer.resolve(entity)
    rows = statements.statements(store, found.id if found else entity.strip(), retired=all_)
    if not rows:
        raise InputError(f"no entity known as {entity!r} (give an id, a name or an alias)")
    name = found.name if found else rows[0].entity_name
    kind = found.type if found else rows[0].entity_type
    members = found.member_ids if found else []
    if json_:
        print_json({"entity": {"id": rows[0].entity_id, "name": name, "type": kind,
                               "members": members},
                    "statements": [s.as_dict() for s in rows]})
        return
    console.print(f"[bold]{escape(name)}[/bold] ({kind}) {rows[0].entity_id}")
    if len(members) > 1:
        console.print(f"merges {len(members)} records: " + ", ".join(map(_short, members)))
    console.print(_table(rows, "alias statements"))


@aliases_app.command("undo")
def undo(entity: EntityArg,
         alias: Annotated[str, typer.Argument(help="The alias to undo, or a statement id "
                                                   "(as `aliases show` lists it).")],
         reason: ReasonOpt, analyst: AnalystOpt = None, json_: JsonOpt = False) -> None:
    """Undo an alias resolution: the name (or merge) no longer makes it this entity."""
    store = state.store
    gazetteer, _ = store_gazetteer(store)
    target = _resolve(gazetteer, entity)
    done = statements.undo(store, target.id, alias, analyst=_analyst(analyst), reason=reason)
    if json_:
        print_json([s.as_dict() for s in done])
        return
    names = ", ".join(repr(a) for a in sorted({s.alias for s in done}))
    console.print(f"undid {len(done)} statement(s) making {escape(names)} part of "
                  f"[bold]{escape(target.name)}[/bold]; {APPLY_HINT}")
    console.print(_table(done, "undone"))


@aliases_app.command("merge")
def merge(entity: EntityArg,
          alias: Annotated[str, typer.Argument(help="A name, or another entity (id or name), "
                                                    "that is an alias of ENTITY.")],
          reason: ReasonOpt, analyst: AnalystOpt = None, json_: JsonOpt = False) -> None:
    """State that ALIAS is an alias of ENTITY (merging the entity it names, if any)."""
    store = state.store
    gazetteer, _ = store_gazetteer(store)
    target = _resolve(gazetteer, entity)
    other = gazetteer.resolve(alias)
    if other is not None and other.id == target.id:
        raise InputError(f"{alias!r} is already an alias of {target.name}")
    if other is not None and KINDS[other.type] != KINDS[target.type]:
        raise InputError(f"{alias!r} is a {other.type} and {target.name} a {target.type}: "
                         "only entities of one kind merge")
    made = statements.merge(store, target, alias, member_id=other.id if other else "",
                            analyst=_analyst(analyst), reason=reason)
    if json_:
        print_json(made.as_dict())
        return
    what = f"the entity {escape(other.name)} ({other.id})" if other else "a new name"
    console.print(f"{escape(alias)!r} ({what}) is now an alias of "
                  f"[bold]{escape(target.name)}[/bold] — statement {made.short_id}; "
                  f"{APPLY_HINT}")


@aliases_app.command("list")
def list_(undone: Annotated[bool, typer.Option("--undone", help="Only undone statements.")
                            ] = False,
          ids: IdsOpt = False, json_: JsonOpt = False) -> None:
    """What analysts did: their merges and undone statements (latest first; short ids,
    --ids or --json: full ids)."""
    rows = statements.undone(state.store) if undone else statements.analyst_log(state.store)
    if json_:
        print_json([s.as_dict() for s in rows])
        return
    if ids:
        print_ids(s.id for s in rows)
        return
    if not rows:
        console.print("no undone alias statements" if undone else "no analyst statements")
        return
    console.print(_table(rows, "undone statements" if undone else "analysts' statements",
                         with_entity=True))
