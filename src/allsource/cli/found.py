"""Found objects printed as blocks, so names, values and ids are never cut.

A table with a column per field (type, name, extractor, evidence, why, id) cannot fit an
80-column terminal: Rich shrinks the widest cells and ends them with "…", which is how a
SHA-256 or a STIX id lost its tail. Each object is therefore a block — a head line with the
type and the full value, then indented lines for what explains it — and the id (or the value
for an observable, which is its id in practice) is always on a line of its own, whole, so it
can be copied at any terminal width.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.markup import escape

from allsource.cli.common import console

#: places shown for an object found at several places in one document
MAX_EVIDENCE = 3


def _spans(spans: Sequence[Sequence[int]]) -> str:
    shown = ", ".join(f"{s[0]}–{s[1]}" for s in spans[:5])
    return shown + (f" (+{len(spans) - 5})" if len(spans) > 5 else "")


def _print(line: str) -> None:
    # soft_wrap: a long value or id runs on instead of being folded or cut by Rich
    console.print(line, soft_wrap=True, highlight=False)


def print_found(objects: Sequence[Mapping[str, Any]],
                reasons: Mapping[tuple[int, int], str]) -> None:
    """``extract``'s objects: type and full value, then extractor, spans, place and why."""
    console.print(f"[bold]found[/bold] ({len(objects)})")
    for o in objects:
        kind = o.get("value_type") or o["type"]
        _print(f"  [bold]{escape(kind)}[/bold]  {escape(str(o['name']))}")
        spans = [tuple(s) for s in o.get("spans") or []]
        detail = [o.get("extractor") or "", f"at {_spans(spans)}" if spans else ""]
        if o["type"] == "location" and o.get("latitude") is not None:
            detail.append(f"geonames:{o['geonameid']} "
                          f"({o['latitude']:.4f}, {o['longitude']:.4f})")
        _print("    [dim]" + escape(" · ".join(d for d in detail if d)) + "[/dim]")
        why = [reasons[s] for s in spans if s in reasons]
        if why:
            _print(f"    why: {escape(why[0])}")


def print_objects(objects: Sequence[Mapping[str, Any]], full_text: str,
                  reasons: Mapping[tuple[int, int], str], limit: int = 50) -> None:
    """``show``'s objects of a document: type, name, extractor; the evidence around each
    place it was found (an object found at several places is one block with up to
    ``MAX_EVIDENCE`` of them); why a threat name was accepted; the full id on its own line."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for o in objects:
        groups.setdefault((o["id"], o["extractor"]), []).append(o)
    blocks = list(groups.values())
    console.print(f"[bold]objects[/bold] ({len(blocks)}"
                  + (f", first {limit} shown" if len(blocks) > limit else "") + ")")
    for found in blocks[:limit]:
        o = found[0]
        _print(f"  [bold]{escape(o['type'])}[/bold]  {escape(str(o['name']))}  "
               f"[dim]{escape(o['extractor'])}[/dim]"
               + (f"  ({len(found)} places)" if len(found) > 1 else ""))
        for one in found[:MAX_EVIDENCE]:
            span = one.get("span")
            if not span or span[1] > len(full_text):
                continue
            evidence = full_text[max(0, span[0] - 30):span[1] + 30].replace("\n", " ")
            reason = (reasons.get((span[0], span[1]), "")
                      if one["extractor"].startswith("entities@") else "")
            _print(f"    “{escape(evidence)}”" + (f" — {escape(reason)}" if reason else ""))
        _print(f"    [dim]id[/dim] {o['id']}")
