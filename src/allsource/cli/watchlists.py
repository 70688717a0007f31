"""``allsource watchlist add|list|show|rm|hits``: analysts' priority intelligence requirements,
matched against every document as it is processed (see :mod:`allsource.assess.watchlists`).

Terms are checked and normalised before anything is written: an entity must be known to the
gazetteer, a place to the offline geocoder, an observable to the value types, a sector to the
topic classifier or the MISP sector galaxy. New terms apply to documents processed from then
on; ``--backfill`` also matches them against the documents already processed.
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from allsource.assess import watchlists as wl
from allsource.assess.alerts import Severity
from allsource.assess.watchlist_terms import term_specs
from allsource.cli.common import console, print_ids, print_json, state
from allsource.cli.tables import Column, WideOpt, fitted, print_table
from allsource.errors import InputError

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

watchlist_app = typer.Typer(help="Watchlists (priority intelligence requirements) and hits.",
                            no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
NameArg = Annotated[str, typer.Argument(help="The watchlist's name.")]
Many = list[str] | None


def register(app: typer.Typer) -> None:
    app.add_typer(watchlist_app, name="watchlist")


def _owner(name: str | None) -> str:
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment
        return "analyst"


def _get(name: str) -> wl.Watchlist:
    found = wl.get_watchlist(state.store, name)
    if found is None:
        raise InputError(f"no watchlist {name!r} (see `allsource watchlist list`)")
    return found


def _specs(store: SqlStore, entities: Many, keywords: Many, observables: Many, places: Many,
           radius: float | None, sectors: Many) -> list[wl.TermSpec]:
    """Every term, normalised (a bad one stops the command before anything is written)."""
    if radius is not None and not places:
        raise InputError("--radius applies to --place terms: give at least one")
    return term_specs(store, entities=entities or (), keywords=keywords or (),
                      observables=observables or (), places=places or (), radius=radius,
                      sectors=sectors or ())


def _term_row(term: wl.Term) -> dict[str, object]:
    return {"id": term.id, "kind": term.kind, "term": term.display, "value": term.value,
            "type": term.value_type or None, "radius_km": term.radius_km}


def _describe(term: wl.Term) -> str:
    extra = f" within {term.radius_km:g} km" if term.radius_km is not None else ""
    kind = f"{term.kind}/{term.value_type}" if term.value_type else term.kind
    return f"[{term.id}] {kind}: {escape(term.display)}{extra}"


@watchlist_app.command("add")
def add(
    name: NameArg,
    entity: Annotated[Many, typer.Option(
        "--entity", help="Actor, malware, tool, campaign, sector or country by any alias "
                         "(repeatable): 'Fancy Bear' also matches 'APT28'.")] = None,
    keyword: Annotated[Many, typer.Option(
        "--keyword", help="A word or phrase, any case, whole words (repeatable).")] = None,
    observable: Annotated[Many, typer.Option(
        "--observable", help="IP, CIDR, domain (with its subdomains), URL, e-mail, hash, CVE "
                             "…; defanged is fine (repeatable).")] = None,
    place: Annotated[Many, typer.Option(
        "--place", help="A country, or a city/state/'lat,lon' matched within --radius "
                        "(repeatable; 'Odessa, US' picks one of a name).")] = None,
    radius: Annotated[float | None, typer.Option(
        "--radius", help=f"Kilometres around each city, state or point place "
                         f"(default {wl.DEFAULT_RADIUS_KM:g}).")] = None,
    sector: Annotated[Many, typer.Option(
        "--sector", help="A topic (cyber, economic, …) or a MISP sector such as Energy "
                         "(repeatable).")] = None,
    severity: Annotated[str | None, typer.Option(
        "--severity", help="Severity of the alerts it raises: low, medium (new lists' "
                           "default), high, critical.")] = None,
    description: Annotated[str | None, typer.Option("--description", help="What it is for.")
                           ] = None,
    owner: Annotated[str | None, typer.Option(
        "--owner", help="Who owns it (default: the login name, for a new watchlist).")] = None,
    tlp: Annotated[str | None, typer.Option(
        "--tlp", help="Marking of the watchlist and its hits (default for a new one: "
                 "red, the operator's ceiling; e.g. --tlp clear to share it).")] = None,
    enabled: Annotated[bool | None, typer.Option(
        "--enable/--disable", help="Match it (default) or keep it but stop matching.")] = None,
    backfill: Annotated[bool, typer.Option(
        "--backfill", help="Also match the new terms against documents already processed.")
                        ] = False,
    json_: JsonOpt = False,
) -> None:
    """Create a watchlist or add terms to it (or change its settings)."""
    from allsource.cli.sources import build_marking

    store = state.store
    try:
        level = Severity.parse(severity) if severity else None
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    specs = _specs(store, entity, keyword, observable, place, radius, sector)
    existing = wl.get_watchlist(store, name)
    watchlist, created = wl.save_watchlist(
        store, name, severity=level, description=description, enabled=enabled,
        owner=owner or (None if existing else _owner(None)),
        marking=build_marking(tlp, None, None, None) if tlp else None)
    added = wl.add_terms(store, watchlist, specs)
    new_terms = [term for term, is_new in added if is_new]
    result = wl.backfill(store, watchlist, new_terms) if backfill and new_terms else None
    watchlist = _get(watchlist.id)
    if json_:
        print_json({"watchlist": watchlist.name, "id": watchlist.id, "created": created,
                    "severity": watchlist.severity_label, "enabled": watchlist.enabled,
                    "added": [_term_row(term) for term in new_terms],
                    "already": [_term_row(term) for term, is_new in added if not is_new],
                    "backfill": None if result is None else {
                        "hits": result.hits, "documents": result.documents,
                        "alerts": len(set(result.alerts))}})
        return
    verb = "created" if created else "updated"
    console.print(f"{verb} watchlist [bold]{escape(watchlist.name)}[/bold] "
                  f"({watchlist.severity_label}, {len(watchlist.terms)} terms"
                  f"{'' if watchlist.enabled else ', disabled'})")
    for term, is_new in added:
        console.print(f"  {'added' if is_new else 'already there'} {_describe(term)}")
    if result is not None:
        console.print(f"backfill: {result.hits} hits in {result.documents} processed "
                      f"documents, {len(set(result.alerts))} alerts")
    elif new_terms:
        console.print("[dim]new terms apply to documents processed from now on "
                      "(--backfill: also to those already processed)[/dim]")


@watchlist_app.command("list")
def list_(wide: WideOpt = False, json_: JsonOpt = False) -> None:
    """Every watchlist, with its terms and hits counted."""
    store = state.store
    counts = wl.hit_counts(store)
    rows = []
    for w in wl.list_watchlists(store):
        hits, last = counts.get(w.id, (0, None))
        rows.append({"name": w.name, "id": w.id, "severity": w.severity_label,
                     "enabled": w.enabled, "owner": w.owner, "terms": len(w.terms),
                     "hits": hits, "last_hit": last.isoformat() if last else None,
                     "tlp": w.marking.tlp.label, "description": w.description})
    if json_:
        print_json(rows)
        return
    columns = (Column("name", flex=True), Column("severity"), Column("enabled", keep=False),
               Column("terms", justify="right"), Column("hits", justify="right"),
               Column("last hit"), Column("owner", keep=False), Column("TLP", keep=False))
    cells = [{"name": escape(str(r["name"])), "severity": str(r["severity"]),
              "enabled": "yes" if r["enabled"] else "no", "terms": str(r["terms"]),
              "hits": f"{r['hits']:,}", "last hit": str(r["last_hit"] or "")[:10],
              "owner": escape(str(r["owner"])), "TLP": str(r["tlp"]).removeprefix("TLP:")}
             for r in rows]
    print_table(fitted(columns, cells, title=f"{len(rows)} watchlists", wide=wide), wide)


# the document by its title (its id is cut by any table at 80 columns: --ids, --json)
_HIT_COLUMNS = (Column("when"), Column("watchlist", keep=False), Column("term", keep=False),
                Column("matched"), Column("document", flex=True))


def _hits_table(hits: list[wl.StoredHit], title: str, wide: bool = False) -> Table:
    rows = [{"when": h.created_at.strftime("%Y-%m-%d %H:%M"), "watchlist": escape(h.watchlist),
             "term": escape(f"[{h.term_id}] {h.kind}: {h.term}"),
             "matched": escape(h.matched[:40]),
             "document": escape(h.title[:80] if h.title else h.document_id)} for h in hits]
    return fitted(_HIT_COLUMNS, rows, title=title, wide=wide,
                  more="--wide; document ids: --ids")


@watchlist_app.command("show")
def show(
    name: NameArg,
    limit: Annotated[int, typer.Option("--limit", help="Recent hits to show.")] = 10,
    json_: JsonOpt = False,
) -> None:
    """A watchlist's terms and its most recent hits."""
    store = state.store
    w = _get(name)
    hits = wl.list_hits(store, w, limit=limit)
    if json_:
        print_json({"name": w.name, "id": w.id, "severity": w.severity_label,
                    "enabled": w.enabled, "owner": w.owner, "description": w.description,
                    "marking": w.marking.as_dict(),
                    "created_at": w.created_at.isoformat() if w.created_at else None,
                    "terms": [_term_row(term) for term in w.terms],
                    "hits": [h.as_json() for h in hits]})
        return
    console.print(f"[bold]{escape(w.name)}[/bold] — {w.severity_label}, owner "
                  f"{escape(w.owner)}, {w.marking.tlp.label}"
                  f"{'' if w.enabled else ', disabled'}")
    if w.description:
        console.print(escape(w.description))
    for term in w.terms:
        console.print(f"  {_describe(term)}")
    if not w.terms:
        console.print("  (no terms: add some with `allsource watchlist add NAME --keyword …`)")
    console.print(_hits_table(hits, f"{len(hits)} most recent hits"))


@watchlist_app.command("rm")
def remove(
    name: NameArg,
    term: Annotated[int | None, typer.Option(
        "--term", help="Remove only this term (its id, from `watchlist show`).")] = None,
) -> None:
    """Remove a watchlist (its terms and hits; the alerts it raised stay), or one term."""
    store = state.store
    w = _get(name)
    if term is None:
        wl.remove_watchlist(store, w.id)
        console.print(f"removed watchlist {escape(w.name)} ({len(w.terms)} terms)")
        return
    if not wl.remove_term(store, w.id, term):
        raise InputError(f"watchlist {w.name!r} has no term {term} "
                         "(see `allsource watchlist show`)")
    console.print(f"removed term {term} from {escape(w.name)}")


@watchlist_app.command("hits")
def hits(
    name: Annotated[str | None, typer.Argument(help="Only this watchlist.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 50,
    wide: WideOpt = False,
    ids: Annotated[bool, typer.Option(
        "--ids", help="Print only the hit documents' full ids, one per line.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Recorded hits, newest first."""
    found = wl.list_hits(state.store, _get(name) if name else None, limit=limit)
    if json_:
        print_json([h.as_json() for h in found])
        return
    if ids:
        print_ids(h.document_id for h in found)
        return
    print_table(_hits_table(found, f"{len(found)} watchlist hits", wide), wide)
