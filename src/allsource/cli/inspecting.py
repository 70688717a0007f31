"""``allsource search``, ``show``, ``stats`` and ``quarantine list|retry``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from allsource.cli.audit import record_read
from allsource.cli.common import (
    console,
    parse_when,
    print_json,
    snippet_markup,
    state,
)
from allsource.collect.runner import retry_quarantined
from allsource.errors import InputError
from allsource.model.markings import Audience
from allsource.store.query import SearchQuery, SearchResult
from allsource.store.sql import snippet_html

quarantine_app = typer.Typer(help="Inspect and retry quarantined items.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def register(app: typer.Typer) -> None:
    app.command("search")(search)
    app.command("show")(show)
    app.command("stats")(stats)
    app.add_typer(quarantine_app, name="quarantine")


def run_search(text: str, source: list[str] | None = None, kind: list[str] | None = None,
               since: str | None = None, until: str | None = None, limit: int = 10,
               offset: int = 0) -> SearchResult:
    if not 1 <= limit <= 1000:
        raise InputError("--limit must be between 1 and 1000")
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
    query: Annotated[str, typer.Argument(help='Words, "phrases", OR, -exclude, prefix*.')],
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


def show(object_id: Annotated[str, typer.Argument(help="A document, object or source ID.")],
         json_: JsonOpt = False) -> None:
    """Show a document (with its sightings and objects) or an object (with provenance)."""
    view = state.store.get(object_id, Audience.owner())
    if view is None:
        raise InputError(f"nothing stored with ID {object_id!r}")
    record_read("read", str(view.get("id") or object_id))
    if json_:
        print_json(view)
        return
    _print_view(view)


def _print_view(view: dict[str, Any]) -> None:
    if view["record"] == "document":
        meta = (f"{view['kind']} · {view['marking']['tlp']} · published "
                f"{view['published_at'] or '?'} · collected {view['collected_at']}")
        body = escape(view["text"][:3000]) + ("…" if len(view["text"]) > 3000 else "")
        console.print(Panel(body, title=escape(view["title"][:100]), subtitle=meta))
        if view["url"]:
            console.print(f"url: {escape(view['url'])}")
        for s in view["sightings"]:
            console.print(f"seen in [bold]{escape(s['source'] or s['source_id'])}[/bold] "
                          f"at {s['first_seen']}")
        if view.get("story"):
            st = view["story"]
            similarity = ("?" if st["similarity"] is None  # matched a hidden document
                          else f"{st['similarity']:.2f}")
            console.print(f"story {st['id']}: {st['documents']} document(s); canonical "
                          f"{st['canonical_document_id']}, similarity {similarity}")
        annotations = view.get("annotations") or {}
        for stage, note in annotations.items():
            if isinstance(note, dict):  # per-mention explanations are shown with the objects
                note = {k: v for k, v in note.items() if k not in ("why", "refused")}
            console.print(f"[bold]{stage}[/bold] {escape(str(note))[:300]}")
        why = _explanations(annotations.get("entities"), "why")
        if view["objects"]:
            table = Table("type", "name", "extractor", "evidence", "why", "id", title="objects")
            full = f"{view['title']}\n{view['text']}"
            for o in view["objects"][:50]:
                span = o.get("span")
                evidence = (escape(full[max(0, span[0] - 30):span[1] + 30].replace("\n", " "))
                            if span and span[1] <= len(full) else "")
                reason = (why.get((span[0], span[1]), "")
                          if span and o["extractor"].startswith("entities@") else "")
                table.add_row(o["type"], escape(o["name"][:80]), o["extractor"], evidence,
                              escape(reason), o["id"])
            console.print(table)
        refused = _explanations(annotations.get("entities"), "refused")
        if refused:
            table = Table("span", "name", "why not", title="threat names refused")
            for (start, end), reason in list(refused.items())[:30]:
                table.add_row(f"{start}–{end}", escape(_view_text(view, start, end)),
                              escape(reason))
            console.print(table)
        return
    console.print(f"[bold]{escape(str(view['name']))}[/bold] ({view['type']}) {view['id']}")
    console.print(f"marking: {view.get('marking')}")
    for p in view.get("provenance", []):
        console.print(f"  from [bold]{escape(p['title'][:80])}[/bold] via {p['extractor']} "
                      f"({escape(p['source'] or '?')}) {p['document_id']}")
    for r in view.get("relationships", [])[:30]:
        console.print(f"  {r['source_ref']} —{r['type']}→ {r['target_ref']}")


def _explanations(note: Any, key: str) -> dict[tuple[int, int], str]:
    """(start, end) → reason, from the ``entities`` stage's ``why``/``refused`` lists."""
    rows = note.get(key) if isinstance(note, dict) else None
    out: dict[tuple[int, int], str] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, list) and len(row) == 4 and all(isinstance(x, int) for x in row[:2]):
            out[(row[0], row[1])] = f"{row[2]}: {row[3]}" if key == "refused" else str(row[3])
    return out


def _view_text(view: dict[str, Any], start: int, end: int) -> str:
    """The words at ``start:end`` of a document view (offsets into title + newline + text)."""
    return f"{view['title']}\n{view['text']}"[start:end]


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
    json_: JsonOpt = False,
) -> None:
    """List quarantined items with their reasons."""
    store = state.store
    source_id = state.source(source).id if source else None
    items = store.list_quarantine(None if all_ else "open", source_id)
    if json_:
        print_json(items)
        return
    if not items:
        console.print("quarantine is empty")
        return
    table = Table("id", "source", "item", "reason", "status", "attempts")
    for q in items:
        table.add_row(q["id"].split("--")[-1][:8], escape(q["source"] or "?"),
                      escape(q["item_ref"][-60:]), escape(q["reason"][:120]), q["status"],
                      str(q["attempts"]))
    console.print(table)


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
