"""``allsource mentions``: say an extracted mention is wrong, list and undo such verdicts.

The verdicts are statements in the store (:mod:`allsource.store.verdicts`); the next
``allsource process`` applies them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from allsource.cli.aliases import AnalystOpt, JsonOpt, ReasonOpt, _analyst, _resolve
from allsource.cli.common import IdsOpt, console, print_ids, print_json, state
from allsource.errors import InputError
from allsource.process.entities import store_gazetteer
from allsource.store import verdicts

mentions_app = typer.Typer(help="Analysts' verdicts on extracted mentions: wrong, list, undo.",
                           no_args_is_help=True)
APPLY_HINT = "run `allsource process` to apply it"


def register(app: typer.Typer) -> None:
    app.add_typer(mentions_app, name="mentions")


def _table(rows: list[verdicts.Verdict], title: str) -> Table:
    table = Table("id", "verdict", "what", "by", "why", "status", title=title)
    for v in rows:
        status = v.status if v.status == verdicts.ACTIVE else (
            f"undone by {v.undone_by}: {v.undo_reason}")
        table.add_row(v.short_id, v.verdict, escape(v.describe(short=True)), escape(v.created_by),
                      escape(v.reason), escape(status))
    return table


@mentions_app.command("wrong")
def wrong(document: Annotated[str, typer.Argument(help="The document the mention is in.")],
          entity: Annotated[str, typer.Argument(help="The entity it was taken for: id, name "
                                                     "or alias.")],
          reason: ReasonOpt,
          name: Annotated[str, typer.Option("--name", help="Only this name (as written in "
                                                           "the document); default: every "
                                                           "mention of the entity there.")] = "",
          never: Annotated[bool, typer.Option("--never", help="The name is never this entity, "
                                                              "in any document.")] = False,
          is_: Annotated[str, typer.Option("--is", help="The entity the mention denotes "
                                                        "instead (id, name or alias).")] = "",
          analyst: AnalystOpt = None, json_: JsonOpt = False) -> None:
    """Say that a mention is wrong: not this entity here (default), never this entity
    (--never), or a different entity (--is OTHER)."""
    if never and is_:
        raise InputError("--never and --is are different verdicts: give one")
    store = state.store
    gazetteer, _ = store_gazetteer(store)
    target = _resolve(gazetteer, entity)
    other = _resolve(gazetteer, is_) if is_ else None
    kind = "never" if never else "other" if other else "here"
    made = verdicts.record(store, kind, target.id, document_id=document.strip(), name=name,
                           other_id=other.id if other else "",
                           other_name=other.name if other else "", analyst=_analyst(analyst),
                           reason=reason)
    if json_:
        print_json(made.as_dict())
        return
    console.print(f"recorded {made.short_id}: {escape(made.describe(short=True))}; {APPLY_HINT}")


@mentions_app.command("list")
def list_(document: Annotated[str | None, typer.Option("--document", help="Only verdicts on "
                                                                          "this document.")]
          = None,
          entity: Annotated[str | None, typer.Option("--entity", help="Only verdicts about "
                                                                      "this entity.")] = None,
          undone: Annotated[bool, typer.Option("--undone", help="Include undone verdicts.")]
          = False,
          ids: IdsOpt = False, json_: JsonOpt = False) -> None:
    """Analysts' verdicts on mentions, the latest first (short ids; --ids or --json: full
    ids)."""
    store = state.store
    entity_id = None
    if entity:
        entity_id = _resolve(store_gazetteer(store)[0], entity).id
    rows = verdicts.list_verdicts(store, document_id=document, entity_id=entity_id,
                                  undone=undone)
    if json_:
        print_json([v.as_dict() for v in rows])
        return
    if ids:
        print_ids(v.id for v in rows)
        return
    if not rows:
        console.print("no verdicts")
        return
    console.print(_table(rows, "mention verdicts"))


@mentions_app.command("undo")
def undo(verdict: Annotated[str, typer.Argument(help="A verdict id (as `mentions list` "
                                                     "shows it).")],
         reason: ReasonOpt, analyst: AnalystOpt = None, json_: JsonOpt = False) -> None:
    """Take a verdict back."""
    done = verdicts.undo(state.store, verdict, analyst=_analyst(analyst), reason=reason)
    if json_:
        print_json(done.as_dict())
        return
    console.print(f"undid {done.short_id}: {escape(done.describe(short=True))}; {APPLY_HINT}")
