"""Names instead of ids, as each reader may see them: an alert row names its watchlist and
documents only when the reader may read them, a watchlist hit's matched object by name,
never an id."""

from __future__ import annotations

from allsource.assess.alerts import AlertDraft, Severity, list_alerts, raise_alerts
from allsource.assess.watchlists import save_watchlist
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Mention, Source, StixObject
from allsource.store.sql import SqlStore
from allsource.web.names import NOT_SHOWN, alert_names, object_names, shown_value

READER = Audience(max_tlp=TLP.AMBER)
SECRET = "malware--00000000-0000-4000-8000-0000000000aa"


def test_alert_rows_name_watchlists_and_documents_the_reader_may_read(store: SqlStore) -> None:
    src = Source("desk", "rss", "https://desk.example/feed")
    store.add_source(src)
    open_doc = Document.build(kind="article", title="Open report", text="a")
    red_doc = Document.build(kind="article", title="Red report", text="b",
                             marking=Marking(tlp=TLP.RED))
    store.write_batch(src, [Collected(open_doc), Collected(red_doc)], [], None)
    open_list, _ = save_watchlist(store, "grid watch", marking=Marking())
    red_list, _ = save_watchlist(store, "crown jewels", marking=Marking(tlp=TLP.AMBER))
    raise_alerts(store, [
        AlertDraft(kind="watchlist", severity=Severity.HIGH, title="grid hit",
                   group_key=f"watchlist:{open_list.id}", document_id=open_doc.id),
        AlertDraft(kind="watchlist", severity=Severity.HIGH, title="grid hit",
                   group_key=f"watchlist:{open_list.id}", document_id=red_doc.id),
        AlertDraft(kind="watchlist", severity=Severity.LOW, title="jewels hit",
                   group_key=f"watchlist:{red_list.id}", document_id=open_doc.id)])
    alerts = list_alerts(store, audience=Audience.owner())
    owner = alert_names(store, alerts, Audience.owner())
    clear = Audience(max_tlp=TLP.GREEN)
    reader = alert_names(store, alerts, clear)
    jewels = next(a for a in alerts if a.title == "jewels hit")
    on_red = next(a for a in alerts if red_doc.id in a.documents)
    on_open = next(a for a in alerts if a.title == "grid hit" and open_doc.id in a.documents)
    assert owner.subject(jewels) == "crown jewels"
    assert reader.subject(jewels) == "a watchlist not shown to you"
    assert reader.subject(on_open) == "grid watch"
    assert owner.readable(on_red) == [(red_doc.id, "Red report")]
    assert reader.readable(on_red) == []  # named only to those who may read it
    assert reader.readable(on_open) == [(open_doc.id, "Open report")]
    shown = " ".join([*reader.groups.values(), *reader.documents.values()])
    assert "crown jewels" not in shown and "Red report" not in shown


def test_ids_become_names_or_a_neutral_phrase(store: SqlStore) -> None:
    src = Source("desk", "rss", "https://desk.example/feed")
    store.add_source(src)
    red = Document.build(kind="article", title="r", text="Nightshade",
                         marking=Marking(tlp=TLP.RED))
    store.write_batch(src, [Collected(red, [StixObject(SECRET, "malware", "Nightshade", {
        "type": "malware", "id": SECRET, "name": "Nightshade"}, Marking(tlp=TLP.RED))],
        [], [Mention(SECRET, "t")])], [], None)
    assert object_names(store, [SECRET], Audience.owner()) == {SECRET: "Nightshade"}
    hidden = object_names(store, [SECRET], READER)
    assert hidden == {}
    assert shown_value(SECRET, hidden) == NOT_SHOWN
    assert shown_value("Ukraine", hidden) == "Ukraine"
