"""``allsource verify`` (grade everything) and ``allsource grade ID`` (explain one grade)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from allsource.cli.audit import record_read
from allsource.cli.common import console, print_json, state
from allsource.cli.tables import Column, WideOpt, fitted, print_table
from allsource.errors import InputError
from allsource.model.admiralty import Credibility, Grade, Reliability

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
    app.command("grade")(grade)


# the source and its grade stay; the prose "why" wraps; the counts wait for --wide
_SOURCE_COLUMNS = (Column("source"), Column("grade"), Column("score", justify="right"),
                   Column("confirmed", keep=False, justify="right"),
                   Column("refuted", keep=False, justify="right"),
                   Column("track (days)", keep=False, justify="right"),
                   Column("why", flex=True))


def verify(json_: JsonOpt = False, wide: WideOpt = False) -> None:
    """Grade claims, documents, stories and sources (Admiralty A–F / 1–6) from independent
    corroboration, contradictions and each source's track record."""
    from allsource.verify.run import verify_store

    with console.status("verifying…") as status:
        result = verify_store(state.store, progress=lambda msg: status.update(msg))
    if json_:
        print_json({"claims": result.claims, "reports": result.reports,
                    "documents": result.documents, "stories": result.stories,
                    "contradicted": result.contradicted,
                    "by_credibility": {str(k): v for k, v in
                                       sorted(result.by_credibility.items())},
                    "sources": result.sources, "seconds": round(result.seconds, 2)})
        return
    console.print(f"graded {result.claims:,} claims from {result.reports:,} reports "
                  f"({result.documents:,} documents, {result.stories:,} stories) in "
                  f"{result.seconds:.1f} s; {result.contradicted:,} contradicted")
    table = Table(title="claims by information credibility")
    table.add_column("credibility")
    table.add_column("claims", justify="right")
    for value, count in sorted(result.by_credibility.items()):
        table.add_row(f"{value} {Credibility(value).meaning}", f"{count:,}")
    console.print(table)
    rows = []
    for name, e in sorted(result.sources.items()):
        why = (e.get("override") and f"override by {e['override']['analyst']}") or e["rule"]
        rows.append({"source": escape(name), "grade": e["effective"],
                     "confirmed": f"{e['confirmations']:g}", "refuted": f"{e['refutations']:g}",
                     "score": f"{e['score']:.2f}", "track (days)": f"{e['track_record_days']:g}",
                     "why": escape(str(why))})
    print_table(fitted(_SOURCE_COLUMNS, rows, title="source reliability (from track record)",
                       wide=wide, more="--wide, or `allsource source show NAME`"), wide)
    console.print("explain one: [cyan]allsource grade DOCUMENT-OR-STORY-ID[/cyan], "
                  "[cyan]allsource source show NAME[/cyan]")


def grade(subject: Annotated[str, typer.Argument(
        help="A document id, a story id or a source name/id.")], json_: JsonOpt = False,
          stix: Annotated[bool, typer.Option(
              "--stix", help="Print the graded document as a STIX 2.1 object.")] = False,
          ) -> None:
    """Explain a grade: the claims, which reports are independent and why."""
    from allsource.verify.run import get_grade

    store = state.store
    found = get_grade(store, "document", subject) or get_grade(store, "story", subject)
    if found is None:
        source = store.get_source(subject)
        found = get_grade(store, "source", source.id) if source else None
    if found is None:
        raise InputError(f"no grade for {subject!r}: run `allsource verify` first, or check "
                         "the id (documents without claims are not graded)")
    record_read("read", str(found["subject_id"]), kind=f"grade of a {found['subject_type']}")
    e = found["explanation"]
    if stix:
        print_json(_graded_stix(found))
        return
    if json_:
        print_json({**found, "computed_at": found["computed_at"].isoformat()})
        return
    if found["subject_type"] == "source":
        print_source_grade(found["reliability"], e, [])
        return
    console.print(f"[bold]{found['subject_type']} {escape(subject)}[/bold]: grade "
                  f"[bold]{e['grade']}[/bold] — source {e['reliability_meaning']}, "
                  f"information {e['credibility_meaning']} ({e['rule']}); independent "
                  f"corroboration: {e['independent_corroboration']}")
    for claim in e["claims"]:
        print_claim(claim)
    tags = Grade(Reliability.parse(found["reliability"]),
                 Credibility(found["credibility"])).misp_tags()
    console.print(f"MISP tags: {', '.join(tags)}")


def _graded_stix(found: dict[str, Any]) -> dict[str, Any]:
    """The graded document (or a source) as STIX 2.1 with its grade's properties."""
    import sqlalchemy as sa

    from allsource.model.stix import document_to_stix, source_to_stix
    from allsource.store import schema as t
    from allsource.store.sql import aware

    store = state.store
    if found["subject_type"] == "source":
        source = store.get_source(found["subject_id"])
        assert source is not None
        return source_to_stix(source, Reliability.parse(found["reliability"]))
    if found["subject_type"] != "document":
        raise InputError("--stix exports documents and sources, not stories")
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(t.documents).where(
            t.documents.c.id == found["subject_id"])).first()
    if row is None:
        raise InputError(f"no document {found['subject_id']!r}")
    from allsource.model.markings import Marking
    from allsource.model.records import Document

    doc = Document(id=row.id, kind=row.kind, title=row.title, text=row.text,
                   content_hash=row.content_hash, url=row.url,
                   published_at=aware(row.published_at), language=row.language,
                   media_type=row.media_type, blob_sha256=row.blob_sha256,
                   blob_ref=row.blob_ref, labels=list(row.labels or []),
                   meta=dict(row.meta or {}),
                   marking=Marking.from_columns(dict(row._mapping)))
    grade = Grade(Reliability.parse(found["reliability"]), Credibility(found["credibility"]))
    return document_to_stix(doc, aware(row.collected_at) or row.collected_at, grade)


def print_claim(claim: dict[str, Any]) -> None:
    console.print(f"  • {escape(claim['claim'])} — credibility {claim['credibility']} "
                  f"({claim['meaning']}): {claim['reports']} report(s), "
                  f"{claim['independent_origins']} independent origin(s)")
    for label, origins in (("supports", claim["supporting"]),
                           ("contradicts", claim["contradicting"])):
        for o in origins[:5]:
            because = f"; joined: {'; '.join(o['joined_because'][:3])}" if o[
                "joined_because"] else ""
            console.print(f"      {label}: {len(o['documents'])} doc(s) from "
                          f"{escape(', '.join(o['outlets'][:4]))}{escape(because)}")


def print_source_grade(reliability: str, e: dict[str, Any],
                       overrides: list[dict[str, Any]]) -> None:
    meaning = Reliability.parse(reliability).meaning
    console.print(f"reliability [bold]{reliability}[/bold] ({meaning})")
    console.print(f"  how: {escape(str(e.get('rule', '')))}")
    if "confirmations" in e:
        console.print(f"  track record: {e['confirmations']:g} confirmed, "
                      f"{e['refutations']:g} refuted over {e['claims']} claims; "
                      f"{e['track_record_days']:g} days of dated reports")
        for kind in ("confirmed", "refuted"):
            for text in e["examples"].get(kind, [])[:3]:
                console.print(f"    {kind}: {escape(text)}")
    if e.get("override"):
        o = e["override"]
        console.print(f"  analyst override: {o['reliability'] or 'cleared'} by {o['analyst']} "
                      f"at {o['at']}: {escape(o['reason'])}")
    for o in overrides:
        state_word = "active" if o["active"] else "earlier"
        console.print(f"  {state_word} override: {o['reliability'] or 'cleared'} by "
                      f"{o['analyst']} at {o['created_at']}: {escape(o['reason'])}")
