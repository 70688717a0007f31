"""``allsource label DOC TOPIC…`` and ``allsource topics list|labels|retrain|history|use``:
analysts correct the topic classifier, retrain it and roll it back."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from allsource.cli.common import analyst_name, console, print_json, state
from allsource.errors import InputError
from allsource.store import labels as store_labels

topics_app = typer.Typer(help="Topic/sector classification: labels, retraining, models.",
                         no_args_is_help=True)

AnalystOpt = Annotated[str | None, typer.Option(
    "--analyst", help="Who is labelling (default: the login name).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(app: typer.Typer) -> None:
    app.command("label")(label)
    app.add_typer(topics_app, name="topics")



def label(
    document: Annotated[str, typer.Argument(help="Document ID (see `allsource search`).")],
    topics: Annotated[list[str], typer.Argument(help="One or more topics, e.g. cyber crime.")],
    negative: Annotated[bool, typer.Option(
        "--not", help="Say the document is NOT about these topics.")] = False,
    remove: Annotated[bool, typer.Option(
        "--remove", help="Withdraw earlier labels for these topics.")] = False,
    analyst: AnalystOpt = None,
    note: Annotated[str, typer.Option("--note", help="Why (kept with the label).")] = "",
) -> None:
    """Tell the topic classifier what a document is (or is not) about.

    Labels take effect after `allsource topics retrain` (then `allsource process`)."""
    store = state.store
    if remove:
        gone = store_labels.remove_labels(store, document, topics)
        console.print(f"removed {gone} label(s) from {document}")
        return
    names = store_labels.add_labels(store, document, topics, positive=not negative,
                                    analyst=analyst_name(analyst), note=note)
    word = "not about" if negative else "about"
    console.print(f"{document} is {word}: [bold]{', '.join(names)}[/bold] "
                  f"({len(store_labels.list_labels(store))} labels in all; "
                  "run [cyan]allsource topics retrain[/cyan] to use them)")


@topics_app.command("list")
def list_topics(json_: JsonOpt = False) -> None:
    """Topics the classifier knows, with label counts and the active model."""
    from allsource.process.topics import TOPICS

    store = state.store
    counts: dict[str, list[int]] = {}
    for row in store_labels.list_labels(store):
        counts.setdefault(row.topic, [0, 0])[0 if row.positive else 1] += 1
    active = store_labels.active_model(store)
    known = list(active["topics"]) if active else list(TOPICS)
    rows: list[dict[str, str | int]] = [
        {"topic": name, "description": TOPICS.get(name, ("(taught by analysts)",))[0],
         "positive_labels": counts.get(name, [0, 0])[0],
         "negative_labels": counts.get(name, [0, 0])[1]}
        for name in [*known, *sorted(set(counts) - set(known))]]
    if json_:
        print_json({"topics": rows, "active_model": active is not None})
        return
    table = Table(title="topics (" + ("retrained model" if active else "zero-shot") + ")")
    for col in ("topic", "+ labels", "− labels", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["topic"]), str(r["positive_labels"]), str(r["negative_labels"]),
                      str(r["description"]))
    console.print(table)


@topics_app.command("labels")
def list_labels(
    topic: Annotated[str | None, typer.Option("--topic", help="Only this topic.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Analysts' labels."""
    rows = store_labels.list_labels(state.store, topic=topic)
    if json_:
        print_json([{"document_id": r.document_id, "topic": r.topic, "positive": r.positive,
                     "analyst": r.analyst, "note": r.note,
                     "created_at": r.created_at.isoformat()} for r in rows])
        return
    table = Table(title=f"{len(rows)} topic labels")
    for col in ("document", "topic", "about?", "analyst", "when", "note"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.document_id, r.topic, "yes" if r.positive else "no", r.analyst,
                      r.created_at.strftime("%Y-%m-%d %H:%M"), r.note)
    console.print(table)


@topics_app.command("retrain")
def retrain(analyst: AnalystOpt = None, json_: JsonOpt = False) -> None:
    """Retrain the classifier from all labels and make it the active model.

    Prints zero-shot vs retrained precision/recall/F1 on held-out labelled documents
    (5-fold, split by document). `allsource topics use zero-shot` rolls back."""
    from allsource.process.topic_training import retrain as run_retrain

    result = run_retrain(state.store, analyst=analyst_name(analyst))
    if json_:
        print_json({"model_id": result.model_id, "fingerprint": result.fingerprint,
                    "labels": result.labels, "documents": result.documents,
                    "metrics": result.metrics, "topics": result.topics})
        return
    m = result.metrics
    table = Table(title=f"held-out check: {m['documents']} labelled documents, "
                        f"{m['folds']}-fold by document")
    for col in ("model", "precision", "recall", "F1", "tp", "fp", "fn"):
        table.add_column(col, justify="right")
    for name in ("zero_shot", "retrained"):
        e = m[name]
        table.add_row(name.replace("_", "-"), f"{e['precision']:.2f}", f"{e['recall']:.2f}",
                      f"{e['f1']:.2f}", str(e["tp"]), str(e["fp"]), str(e["fn"]))
    console.print(table)
    console.print(f"model {result.model_id} ({result.fingerprint}) trained from "
                  f"{result.labels} labels on {result.documents} documents is now active; "
                  "run [cyan]allsource process[/cyan] to re-classify the store")


@topics_app.command("history")
def history(json_: JsonOpt = False) -> None:
    """Every retrained model, with the figures it was accepted on."""
    rows = store_labels.model_history(state.store)
    if json_:
        print_json([{**r, "created_at": r["created_at"].isoformat()} for r in rows])
        return
    table = Table(title="topic models")
    for col in ("id", "active", "fingerprint", "labels", "zero-shot F1", "retrained F1",
                "by", "when"):
        table.add_column(col)
    for r in rows:
        metrics = r["metrics"] or {}
        table.add_row(str(r["id"]), "✓" if r["active"] else "", r["fingerprint"],
                      str(r["labels_used"]),
                      f"{metrics.get('zero_shot', {}).get('f1', 0):.2f}",
                      f"{metrics.get('retrained', {}).get('f1', 0):.2f}", r["created_by"],
                      r["created_at"].strftime("%Y-%m-%d %H:%M"))
    console.print(table)


@topics_app.command("use")
def use(model: Annotated[str, typer.Argument(
        help="A model id from `allsource topics history`, or zero-shot.")]) -> None:
    """Switch the active topic model (roll back a retraining)."""
    if model == "zero-shot":
        store_labels.activate_model(state.store, None)
    else:
        try:
            store_labels.activate_model(state.store, int(model))
        except ValueError as exc:
            raise InputError(f"not a model id: {model!r} (a number or zero-shot)") from exc
    console.print(f"active topic model: {model}; run [cyan]allsource process[/cyan] to "
                  "re-classify")
