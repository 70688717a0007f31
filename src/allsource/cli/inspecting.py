"""``allsource search``, ``show``, ``stats`` and ``quarantine list|retry``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from typer.core import TyperCommand

from allsource.cli import names
from allsource.cli.annotations import annotation_line, explanations
from allsource.cli.audit import record_read
from allsource.cli.common import (
    IdsOpt,
    console,
    parse_when,
    print_ids,
    print_json,
    say,
    snippet_markup,
    state,
)
from allsource.cli.found import print_objects
from allsource.cli.query_hints import DASH_HINT, operator_mistake
from allsource.cli.tables import Column, WideOpt, fitted, print_table
from allsource.collect.runner import retry_quarantined
from allsource.errors import InputError
from allsource.model.markings import Audience
from allsource.store.query import SearchQuery, SearchResult
from allsource.store.sql import snippet_html

try:  # typer >= 0.29 parses with its own copy of click
    from typer._click.exceptions import NoSuchOption
except ImportError:  # pragma: no cover - older typer on plain click
    from click.exceptions import NoSuchOption  # type: ignore[assignment]

quarantine_app = typer.Typer(help="Inspect and retry quarantined items.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


class _SearchCommand(TyperCommand):
    """``search`` whose "no such option" error says how to search for a leading ``-word``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except NoSuchOption as exc:
            exc.message = f"{exc.message}; {DASH_HINT}"
            raise


def register(app: typer.Typer) -> None:
    app.command("search", cls=_SearchCommand)(search)
    app.command("show")(show)
    app.command("stats")(stats)
    app.add_typer(quarantine_app, name="quarantine")


def run_search(text: str, source: list[str] | None = None, kind: list[str] | None = None,
               since: str | None = None, until: str | None = None, limit: int = 10,
               offset: int = 0) -> SearchResult:
    if not 1 <= limit <= 1000:
        raise InputError("--limit must be between 1 and 1000")
    if (mistake := operator_mistake(text)) is not None:
        raise InputError(mistake)
    query = SearchQuery(text=text, sources=source or [], kinds=kind or [],
                        since=parse_when(since), until=parse_when(until), limit=limit,
                        offset=offset)
    return state.store.search(query, Audience.owner())


def print_hits(result: SearchResult, title: str) -> None:
    more = "" if result.total_exact else "+"  # the store's count stopped at its cap
    console.print(f"[bold]{escape(title)}[/bold] — {result.total:,}{more} match(es), "
                  f"{result.took_ms:.1f} ms")
    for i, hit in enumerate(result.hits, 1):
        stamp = hit.published_at or hit.collected_at  # both read: details=True
        when = stamp.date().isoformat() if stamp else "?"
        console.print(f"{i:>2}. [bold]{escape(hit.title[:120])}[/bold]  "
                      f"[dim]{hit.kind} · {escape(hit.source)} · {when} · {hit.tlp}[/dim]")
        console.print(f"    {snippet_markup(hit.snippet)[:600]}")
        console.print(f"    [dim]{hit.id}[/dim]")


def search(
    query: Annotated[str, typer.Argument(help=(
        'Words (all must match), "phrases", a OR b, -exclude, prefix*. Only upper-case OR is '
        "an operator: lower-case or/and/not and AND/NOT between words stop with a hint. Put "
        "a query that starts with - after --: allsource search -- '-ukraine apt28'."))],
    source: Annotated[list[str] | None, typer.Option(help="Only from this source (repeatable).")
                      ] = None,
    type_: Annotated[list[str] | None, typer.Option(
        "--type", help="Document kind, e.g. article, attack-pattern, misp-event (repeatable).")
                     ] = None,
    since: Annotated[str | None, typer.Option(help="From date (YYYY-MM-DD or 7d).")] = None,
    until: Annotated[str | None, typer.Option(help="Before date (YYYY-MM-DD or 7d).")] = None,
    limit: Annotated[int, typer.Option(help="Results per page.")] = 10,
    offset: Annotated[int, typer.Option(help="Skip this many results.")] = 0,
    json_: JsonOpt = False,
) -> None:
    """Full-text search over collected documents, ranked, with highlighted snippets."""
    result = run_search(query, source, type_, since, until, limit, offset)
    record_read("search", query, count=result.total)
    if json_:
        print_json({"query": query, "total": result.total, "total_exact": result.total_exact,
                    "took_ms": round(result.took_ms, 2),
                    "hits": [{**asdict(h), "snippet": snippet_html(h.snippet)}
                             for h in result.hits]})
        return
    print_hits(result, f"search: {query}")


def show(ref: Annotated[str, typer.Argument(
        help="A document, object, relationship or source id, or a name or alias "
             "(APT28, 'Fancy Bear', attack-enterprise).")],
         json_: JsonOpt = False) -> None:
    """Show a document (with its sightings and objects), an object or entity (with its
    provenance and relationships, by name), or a source."""
    store = state.store
    view = store.get(ref, Audience.owner())
    if view is None and (named := names.resolve(store, ref)) is not None:
        view = store.get(named, Audience.owner())
    if view is None:
        raise InputError(f"nothing stored with the id or name {ref!r}")
    record_read("read", str(view.get("id") or ref))
    if json_:
        print_json(view)
        return
    _print_view(view)


def _print_view(view: dict[str, Any]) -> None:
    if view["record"] == "document":
        _print_document(view)
    elif view["record"] == "source":
        console.print(f"[bold]{escape(view['name'])}[/bold] — source ({escape(view['kind'])}"
                      f", {view['marking']['tlp']}) → {escape(view['location'])}",
                      soft_wrap=True)
        console.print(f"id {view['id']}", soft_wrap=True, highlight=False)
        console.print(f"more: [cyan]allsource source show {escape(view['name'])}[/cyan]")
    else:
        _print_object(view)


def _print_document(view: dict[str, Any]) -> None:
    meta = (f"{view['kind']} · {view['marking']['tlp']} · published "
            f"{view['published_at'] or '?'} · collected {view['collected_at']}")
    body = escape(view["text"][:3000]) + ("…" if len(view["text"]) > 3000 else "")
    console.print(Panel(body, title=escape(view["title"][:100]), subtitle=meta))
    say(f"id {view['id']}")
    if view["url"]:
        say(f"url {escape(view['url'])}")
    for s in view["sightings"]:
        say(f"seen in [bold]{escape(s['source'] or s['source_id'])}[/bold] "
                      f"at {s['first_seen']}")
    if view.get("story"):
        st = view["story"]
        similarity = ("?" if st["similarity"] is None  # matched a hidden document
                      else f"{st['similarity']:.2f}")
        say(f"story of {st['documents']} document(s), similarity {similarity}: "
                      f"{st['id']}")
        say(f"  canonical document {st['canonical_document_id']}")
    annotations = view.get("annotations") or {}
    for stage, note in annotations.items():
        say(escape(annotation_line(stage, note)))
    full = f"{view['title']}\n{view['text']}"
    if view["objects"]:
        print_objects(view["objects"], full, explanations(annotations.get("entities"), "why"))
    refused = explanations(annotations.get("entities"), "refused")
    if refused:
        console.print(f"[bold]threat names refused[/bold] ({len(refused)})")
        for (start, end), reason in list(refused.items())[:30]:
            say(f"  “{escape(full[start:end])}” at {start}–{end}: "
                          f"{escape(reason)}")


def _print_object(view: dict[str, Any]) -> None:
    say(f"[bold]{escape(str(view['name']))}[/bold] ({view['type']})")
    say(f"id {view['id']}")
    marking = view.get("marking")
    if isinstance(marking, dict):
        say("marking " + " · ".join(f"{k} {_marking_value(v)}" for k, v in marking.items()
                                    if v not in (None, [], "")))
    # one line per document and extractor (a document naming it four times is one line)
    found_in: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in view.get("provenance", []):
        found_in.setdefault((p["document_id"], p["extractor"]), []).append(p)
    if found_in:
        console.print(f"[bold]found in[/bold] ({len(found_in)})")
    for (document_id, extractor), seen in found_in.items():
        p = seen[0]
        times = f", {len(seen)}×" if len(seen) > 1 else ""
        say(f"  [bold]{escape(p['title'][:80])}[/bold] ({escape(p['source'] or '?')}, "
            f"{extractor}{times})")
        say(f"    [dim]document[/dim] {document_id}")
    relationships = view.get("relationships", [])
    if relationships:
        console.print(f"[bold]relationships[/bold] ({len(relationships)}"
                      + (", first 30 shown" if len(relationships) > 30 else "") + ")")
    shown = relationships[:30]
    known = names.labels(state.store, [r[end] for r in shown
                                       for end in ("source_ref", "target_ref")])
    for r in shown:  # this object at one end: name the other, with its id on its own line
        outgoing = r["source_ref"] == view["id"]
        other = r["target_ref"] if outgoing else r["source_ref"]
        label = known.get(other)
        name = f"{escape(label.name)} ({label.type})" if label else other
        arrow = f"{r['type']} →" if outgoing else f"← {r['type']}"
        say(f"  {arrow} [bold]{name}[/bold]")
        if label:
            say(f"    [dim]id[/dim] {other}")


def _marking_value(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def stats(json_: JsonOpt = False) -> None:
    """Counts of documents, objects, relationships, by source, kind and TLP."""
    s = state.store.stats(Audience.owner())
    if json_:
        print_json(s)
        return
    console.print(f"store: [bold]{s['store']}[/bold]")
    console.print(f"{s['documents']} documents · {s['objects']} objects · "
                  f"{s['relationships']} relationships · {s['sources']} sources · "
                  f"{s['quarantined_open']} quarantined")
    for title, key in (("by source", "documents_by_source"), ("by kind", "documents_by_kind"),
                       ("by TLP", "documents_by_tlp"), ("objects by type", "objects_by_type")):
        if s[key]:
            table = Table("name", "count", title=title)
            for name, n in list(s[key].items())[:25]:
                table.add_row(escape(str(name)), str(n))
            console.print(table)


@quarantine_app.command("list")
def quarantine_list(
    all_: Annotated[bool, typer.Option("--all", help="Include resolved items.")] = False,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    wide: WideOpt = False,
    ids: IdsOpt = False,
    json_: JsonOpt = False,
) -> None:
    """List quarantined items with their reasons (short ids; --ids or --json: full ids)."""
    store = state.store
    source_id = state.source(source).id if source else None
    items = store.list_quarantine(None if all_ else "open", source_id)
    if json_:
        print_json(items)
        return
    if ids:
        print_ids(q["id"] for q in items)
        return
    if not items:
        console.print("quarantine is empty")
        return
    columns = (Column("id"), Column("source"), Column("item", keep=False),
               Column("reason", flex=True), Column("status"),
               Column("attempts", keep=False, justify="right"))
    rows = [{"id": q["id"].split("--")[-1][:8], "source": escape(q["source"] or "?"),
             "item": escape(q["item_ref"][-60:]), "reason": escape(q["reason"][:120]),
             "status": q["status"], "attempts": str(q["attempts"])} for q in items]
    print_table(fitted(columns, rows, wide=wide, more="--wide or --json"), wide)


@quarantine_app.command("retry")
def quarantine_retry(
    ids: Annotated[list[str] | None, typer.Argument(help="IDs (or ID prefixes); default all.")
                   ] = None,
    json_: JsonOpt = False,
) -> None:
    """Re-read quarantined items from their kept raw bytes (after a fix or a raised limit)."""
    store = state.store
    full_ids = None
    if ids:
        open_ids = [q["id"] for q in store.list_quarantine("open")]
        full_ids = [i for i in open_ids if any(i == x or i.split("--")[-1].startswith(x)
                                               for x in ids)]
        if not full_ids:
            raise InputError("no open quarantined item matches those IDs")
    summary = retry_quarantined(store, state.context(), full_ids)
    if json_:
        print_json(summary)
    else:
        console.print(f"retried {summary['retried']}: {summary['resolved']} resolved, "
                      f"{summary['still_open']} still quarantined")
        for e in summary["errors"]:
            console.print(f"  [yellow]{escape(e)}[/yellow]")
    if summary["still_open"]:
        raise typer.Exit(1)
