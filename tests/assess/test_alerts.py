"""Alerts on SQLite and PostgreSQL: one alert per story (not per copy), idempotent hits, closed
alerts that absorb nothing, escalation, the triage audit trail and marking combination.

The story texts are the ATT&CK v15 description of T1566.001 (Spearphishing Attachment), a
wire copy of it, and T1486 (Data Encrypted for Impact) as an unrelated report."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from allsource.assess import alerts as al
from allsource.assess.alerts import AlertDraft, Severity, raise_alerts
from allsource.engine.inline import InlineEngine
from allsource.errors import InputError, StoreError
from allsource.model.markings import TLP, Audience, Classification, Marking
from allsource.model.records import Collected, Document, Source
from allsource.model.stories import Member
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.store import schema as t
from allsource.store import users
from allsource.store.sql import SqlStore
from allsource.store.stories import SqlMemberStore

ORIGINAL = (
    "Adversaries may send spearphishing emails with a malicious attachment in an attempt to "
    "gain access to victim systems. Spearphishing attachment is a specific variant of "
    "spearphishing. Spearphishing attachment is different from other forms of spearphishing "
    "in that it employs the use of malware attached to an email. All forms of spearphishing "
    "are electronically delivered social engineering targeted at a specific individual, "
    "company, or industry. In this scenario, adversaries attach a file to the spearphishing "
    "email and usually rely upon User Execution to gain execution. Spearphishing may also "
    "involve social engineering techniques, such as posing as a trusted source.")
COPY = "WIRE SERVICE — " + ORIGINAL + " Reporting by our security desk. All rights reserved."
OTHER = (
    "Adversaries may encrypt data on target systems or on large numbers of systems in a "
    "network to interrupt availability to system and network resources. They can attempt to "
    "render stored data inaccessible by encrypting files or data on local and remote drives "
    "and withholding access to a decryption key. This may be done in order to extract "
    "monetary compensation from a victim in exchange for decryption or a decryption key.")
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
OWNER = Audience.owner()


def _docs(store: SqlStore, *texts: str, marking: Marking | None = None) -> list[str]:
    src = Source("desk", "files", "x")
    if store.get_source("desk") is None:
        store.add_source(src)
    docs = [Document.build(kind="article", title=text[:30], text=text,
                           marking=marking or Marking()) for text in texts]
    store.write_batch(src, [Collected(d) for d in docs], [], None)
    return [d.id for d in docs]


def _story(store: SqlStore, doc_ids: list[str]) -> str:
    """Put ``doc_ids`` in one story, as the stories stage records it."""
    with store.engine.begin() as conn:
        SqlMemberStore(store, conn).put(
            {d: Member(doc_ids[0], None if i == 0 else doc_ids[0], 1.0 if i == 0 else 0.9)
             for i, d in enumerate(doc_ids)})
    return doc_ids[0]


def _hit(doc: str | None, severity: Severity = Severity.MEDIUM, key: str = "watchlist:wl-1",
         **kw: object) -> AlertDraft:
    return AlertDraft(kind="watchlist", severity=severity, title=f"APT28 named in {doc}",
                      group_key=key, document_id=doc, details={"term": "APT28"}, **kw)  # type: ignore[arg-type]


def _pending_notifications(store: SqlStore) -> int:
    e = t.alert_events
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(e).where(
            e.c.notify.is_(True), e.c.dispatched_at.is_(None))).scalar_one())


def test_copies_of_one_story_make_one_alert(store: SqlStore) -> None:
    original, copy, other = _docs(store, ORIGINAL, COPY, OTHER)
    pipeline = build_pipeline(["stories"], store=store)
    process_store(store, pipeline, InlineEngine(pipeline))

    ids = raise_alerts(store, [_hit(original), _hit(copy), _hit(other)], now=T0)
    assert ids[0] == ids[1] != ids[2]
    alerts = {a.id: a for a in al.list_alerts(store)}
    assert len(alerts) == 2
    story = alerts[ids[0]]
    assert story.story_id == original and set(story.documents) == {original, copy}
    assert story.occurrences == 2 and story.status == "open"
    assert alerts[ids[2]].documents == (other,)
    # one "raised" notification per alert, none per copy
    assert _pending_notifications(store) == 2

    # the same hits again (a detector re-run) change nothing
    assert raise_alerts(store, [_hit(copy), _hit(original)]) == [ids[0], ids[0]]
    again = al.get_alert(store, ids[0])
    assert again is not None and again.occurrences == 2 and again.updated_at == story.updated_at
    assert [e.action for e in al.alert_events(store, ids[0])] == ["raised"]
    assert _pending_notifications(store) == 2


def test_a_closed_alert_absorbs_no_new_hit(store: SqlStore) -> None:
    a, b, c = _docs(store, "first copy", "second copy", "third copy")
    story = _story(store, [a, b, c])
    [first] = raise_alerts(store, [_hit(a)], now=T0)
    al.close(store, first, actor="ana", comment="benign")

    # the closed alert's own document again: still nothing new
    assert raise_alerts(store, [_hit(a)]) == [first]
    assert al.list_alerts(store) == []
    # a new copy of the story: a new alert opens, the closed one is untouched
    [second] = raise_alerts(store, [_hit(b)], now=T0 + timedelta(hours=1))
    assert second != first
    new = al.get_alert(store, second)
    old = al.get_alert(store, first)
    assert new is not None and old is not None
    assert new.status == "open" and new.documents == (b,) and new.story_id == story
    assert old.status == "closed" and old.documents == (a,)
    # and the next copy merges into the new one
    assert raise_alerts(store, [_hit(c)]) == [second]
    # the closed one cannot be reopened while its group has a newer open alert
    with pytest.raises(InputError, match="newer open alert"):
        al.reopen(store, first, actor="ana")
    # a different watchlist entry on the same story is a different alert
    [elsewhere] = raise_alerts(store, [_hit(a, key="watchlist:wl-2")])
    assert elsewhere not in (first, second)


def test_severity_rises_to_the_highest_hit_and_escalations_notify(store: SqlStore) -> None:
    a, b, c = _docs(store, "copy one", "copy two", "copy three")
    _story(store, [a, b, c])
    [alert_id] = raise_alerts(store, [_hit(a, Severity.LOW)], now=T0)
    # escalated before anything was sent: the queued notification carries the new severity
    raise_alerts(store, [_hit(b, Severity.HIGH)], now=T0 + timedelta(minutes=1))
    assert _pending_notifications(store) == 1
    with store.engine.begin() as conn:
        conn.execute(t.alert_events.update().values(dispatched_at=T0.replace(tzinfo=None)))
    # after it was sent, a further escalation is a notification of its own
    raise_alerts(store, [_hit(c, Severity.CRITICAL)], now=T0 + timedelta(minutes=2))
    assert _pending_notifications(store) == 1
    # a lower hit does not lower it
    raise_alerts(store, [_hit(a, Severity.LOW, occurrence_key="second-look")])
    alert = al.get_alert(store, alert_id)
    assert alert is not None and alert.severity is Severity.CRITICAL and alert.occurrences == 4
    assert [e.action for e in al.alert_events(store, alert_id)] == [
        "raised", "escalated", "escalated"]
    assert [h["severity"] for h in al.alert_hits(store, alert_id)] == [
        "low", "high", "critical", "low"]


def test_drafts_without_documents_group_by_key(store: SqlStore) -> None:
    warn = AlertDraft(kind="warning", severity=Severity.HIGH, title="Spike in ransomware",
                      group_key="warning:ransomware", details={"z": 4.2},
                      occurrence_key="2024-05-01")
    ids = raise_alerts(store, [warn, warn])
    assert ids[0] == ids[1]
    again = AlertDraft(kind="warning", severity=Severity.HIGH, title="Spike", group_key=
                       "warning:ransomware", occurrence_key="2024-05-02")
    assert raise_alerts(store, [again]) == [ids[0]]
    unkeyed = AlertDraft(kind="warning", severity=Severity.LOW, title="x", group_key="w:x")
    first = raise_alerts(store, [unkeyed])
    assert raise_alerts(store, [unkeyed]) == first  # same alert, another occurrence
    got = al.get_alert(store, first[0])
    assert got is not None and got.occurrences == 2 and got.documents == ()
    found = al.get_alert(store, ids[0])
    assert found is not None and found.occurrences == 2 and found.details == {"z": 4.2}
    with pytest.raises(InputError, match="group_key"):
        raise_alerts(store, [AlertDraft(kind="warning", severity=Severity.LOW, title="x",
                                        group_key="")])


def test_triage_is_recorded_with_who_when_and_why(store: SqlStore) -> None:
    [doc] = _docs(store, "a report")
    [alert_id] = raise_alerts(store, [_hit(doc, Severity.HIGH)], now=T0)
    short = alert_id.rsplit("--", 1)[-1][:8]

    acked = al.acknowledge(store, short, actor="ana", comment="looking", now=T0)
    assert acked.status == "acknowledged"
    assert al.acknowledge(store, alert_id, actor="ana").status == "acknowledged"  # no-op
    users.add_user(store, "bob", "analyst")
    with pytest.raises(InputError, match="no user 'mallory' who may triage"):
        al.assign(store, alert_id, "mallory", actor="ana")
    assert al.assign(store, alert_id, "bob", actor="ana", now=T0).assignee == "bob"
    al.add_note(store, alert_id, "phoned the vendor", actor="bob", now=T0)
    closed = al.close(store, alert_id, actor="bob", comment="patched", now=T0)
    assert closed.status == "closed" and closed.closed_at is not None
    with pytest.raises(InputError, match="reopen it first"):
        al.acknowledge(store, alert_id, actor="ana")
    reopened = al.reopen(store, alert_id, actor="carol", comment="seen again", now=T0)
    assert reopened.status == "open" and reopened.closed_at is None
    assert reopened.assignee == "bob"

    trail = [(e.action, e.actor, e.comment, e.status, e.assignee)
             for e in al.alert_events(store, alert_id)]
    assert trail == [
        ("raised", "allsource", f"APT28 named in {doc}", "open", None),
        ("acknowledged", "ana", "looking", "acknowledged", None),
        ("assigned", "ana", "", "acknowledged", "bob"),
        ("noted", "bob", "phoned the vendor", "acknowledged", "bob"),
        ("closed", "bob", "patched", "closed", "bob"),
        ("reopened", "carol", "seen again", "open", "bob"),
    ]
    with pytest.raises(InputError, match="no alert"):
        al.acknowledge(store, "0000000000", actor="ana")
    with pytest.raises(InputError, match="who is acting"):
        al.close(store, alert_id, actor="  ")


def test_listing_filters(store: SqlStore) -> None:
    d1, d2, d3 = _docs(store, "one", "two", "three")
    watch, warn, low = raise_alerts(store, [
        _hit(d1, Severity.HIGH),
        AlertDraft(kind="warning", severity=Severity.CRITICAL, title="surge", group_key="w:1",
                   document_id=d2),
        _hit(d3, Severity.LOW)])
    users.add_user(store, "bob", "analyst")
    al.assign(store, watch, "bob", actor="ana")
    al.close(store, low, actor="ana")

    def ids(**kw: object) -> list[str]:
        return [a.id for a in al.list_alerts(store, **kw)]  # type: ignore[arg-type]

    assert ids() == [warn, watch]  # active, most severe first
    assert ids(status=None) == [warn, watch, low]
    assert ids(status="closed") == [low]
    assert ids(status=None, severity=Severity.HIGH) == [warn, watch]
    assert ids(kind="watchlist", status=None) == [watch, low]
    assert ids(assignee="bob") == [watch]
    with pytest.raises(InputError, match="unknown alert status"):
        ids(status="pending")


def test_alert_marking_is_the_combination_of_its_documents(store: SqlStore) -> None:
    amber = Marking(tlp=TLP.AMBER, compartments=frozenset({"ops"}))
    [secret_doc] = _docs(store, "a sensitive report", marking=amber)
    [plain_doc] = _docs(store, "a public copy")
    _story(store, [plain_doc, secret_doc])
    draft_marking = Marking(tlp=TLP.GREEN, classification=Classification.RESTRICTED,
                            releasability=frozenset({"isac"}))
    [alert_id] = raise_alerts(store, [_hit(plain_doc, marking=draft_marking)])
    alert = al.get_alert(store, alert_id)
    assert alert is not None and alert.marking == draft_marking
    raise_alerts(store, [_hit(secret_doc)])
    alert = al.get_alert(store, alert_id)
    assert alert is not None and alert.marking == Marking(
        tlp=TLP.AMBER, classification=Classification.RESTRICTED,
        compartments=frozenset({"ops"}), releasability=frozenset({"isac"}))

    member = Audience(max_tlp=TLP.AMBER, clearance=Classification.RESTRICTED,
                      compartments=frozenset({"ops"}), groups=frozenset({"isac"}))
    outsider = Audience(max_tlp=TLP.GREEN, clearance=Classification.TOP_SECRET,
                        compartments=frozenset({"ops"}), groups=frozenset({"isac"}))
    assert [a.id for a in al.list_alerts(store, audience=member)] == [alert_id]
    assert al.list_alerts(store, audience=outsider) == []
    assert al.get_alert(store, alert_id, outsider) is None
    with pytest.raises(InputError, match="no alert"):
        al.acknowledge(store, alert_id, actor="eve", audience=outsider)


def test_concurrent_writers_make_one_alert_per_story(store: SqlStore) -> None:
    docs = _docs(store, *(f"copy number {i}" for i in range(6)))
    _story(store, docs)
    errors: list[BaseException] = []
    results: list[str] = []

    def worker(doc: str) -> None:
        try:
            results.extend(raise_alerts(store, [_hit(doc)]))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(d,)) for d in docs]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert len(set(results)) == 1
    [alert] = al.list_alerts(store)
    assert set(alert.documents) == set(docs) and alert.occurrences == 6
    assert _pending_notifications(store) == 1


def test_severity_parse() -> None:
    assert Severity.parse("High") is Severity.HIGH
    assert Severity.parse("4") is Severity.CRITICAL
    assert Severity.parse(1) is Severity.LOW
    with pytest.raises(ValueError, match="unknown severity"):
        Severity.parse("urgent")


def test_an_alert_names_its_story_as_the_reader_sees_it(store: SqlStore) -> None:
    """Leak 2 of issue 10: an alert on a CLEAR copy of a TLP:RED original names the story
    by its first member the reader may read, never by the RED founder's ID."""
    from tests.api.conftest import ORIGINAL

    src = Source("desk", "rss", "https://desk.example/feed")
    store.add_source(src)
    red = Document.build(kind="article", title="Original", text=ORIGINAL,
                         marking=Marking(tlp=TLP.RED))
    store.write_batch(src, [Collected(red)], [], None)
    clear = Document.build(kind="article", title="Copy", text="WIRE — " + ORIGINAL)
    store.write_batch(src, [Collected(clear)], [], None)
    pipeline = build_pipeline(["stories"], store=store)
    process_store(store, pipeline, InlineEngine(pipeline))
    [alert_id] = raise_alerts(store, [AlertDraft(kind="watchlist", severity=Severity.HIGH,
                                                 title="hit", group_key="wl:x",
                                                 document_id=clear.id)])
    reader = Audience(max_tlp=TLP.CLEAR)
    [seen] = al.list_alerts(store, audience=reader)
    assert seen.story_id == clear.id
    one = al.get_alert(store, alert_id, reader)
    assert one is not None and one.story_id == clear.id
    [owner] = al.list_alerts(store)
    assert owner.story_id == red.id


# --- encryption at rest ------------------------------------------------------------------

QUOTE = "Minister met the courier at the old harbour"


def _raw(store: SqlStore, sql: str) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def _sealed_alert_story(store: SqlStore) -> tuple[str, list[str]]:
    """An alert quoting a document's title, merged, escalated, noted and acknowledged."""
    first, second = _docs(store, ORIGINAL, OTHER)
    details = {"watchlist": "wl", "hits": [{"matched": "courier", "evidence": "text"}]}
    [alert_id] = raise_alerts(store, [AlertDraft(
        kind="watchlist", severity=Severity.LOW, title=f"wl: courier in “{QUOTE}”",
        group_key="watchlist:wl-9", details=details)], now=T0)
    raise_alerts(store, [AlertDraft(
        kind="watchlist", severity=Severity.HIGH, title=f"wl: courier in “{QUOTE} (2)”",
        group_key="watchlist:wl-9", details=details)], now=T0 + timedelta(hours=1))
    al.add_note(store, alert_id, f"checked {QUOTE}", actor="ana")
    al.acknowledge(store, alert_id, actor="ana")
    return alert_id, [first, second]


def test_an_encrypted_store_seals_what_alerts_quote(sealed_store: SqlStore) -> None:
    store = sealed_store
    alert_id, _ = _sealed_alert_story(store)
    # on disk: tokens only, in every column that quotes the document
    for sql in ("SELECT title, CAST(details AS TEXT) FROM alerts",
                "SELECT title, CAST(details AS TEXT) FROM alert_hits",
                "SELECT comment FROM alert_events WHERE comment <> ''"):
        rows = _raw(store, sql)
        assert rows
        for row in rows:
            for value in row:
                assert QUOTE not in str(value) and "courier" not in str(value)
                assert "as1." in str(value)
    # read back through the normal paths, as written
    alert = al.get_alert(store, alert_id)
    assert alert is not None and alert.title == f"wl: courier in “{QUOTE}”"
    assert alert.severity == Severity.HIGH and alert.occurrences == 2  # merged, escalated
    assert alert.details["hits"][0]["matched"] == "courier"
    assert [a.title for a in al.list_alerts(store)] == [alert.title]
    events = al.alert_events(store, alert_id)
    assert [e.action for e in events] == ["raised", "escalated", "noted", "acknowledged"]
    assert events[0].comment == alert.title
    assert events[1].comment == f"low → high: wl: courier in “{QUOTE} (2)”"
    assert events[2].comment == f"checked {QUOTE}"
    assert [h["title"] for h in al.alert_hits(store, alert_id)] == [
        alert.title, f"wl: courier in “{QUOTE} (2)”"]


def test_a_sealed_alert_title_copied_to_another_alert_does_not_open(
        sealed_store: SqlStore) -> None:
    store = sealed_store
    first = raise_alerts(store, [_hit("doc-a", key="g:1")], now=T0)[0]
    second = raise_alerts(store, [_hit("doc-b", key="g:2")], now=T0)[0]
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alerts SET title = (SELECT title FROM alerts WHERE id = :a)"
                             " WHERE id = :b"), {"a": first, "b": second})
        conn.execute(sa.text("UPDATE alert_events SET comment = (SELECT min(comment) FROM "
                             "alert_events WHERE alert_id = :a) WHERE alert_id = :b"),
                     {"a": first, "b": second})
    with pytest.raises(StoreError):
        al.get_alert(store, second)
    with pytest.raises(StoreError):
        al.alert_events(store, second)
    alert = al.get_alert(store, first)
    assert alert is not None and alert.title == "APT28 named in doc-a"


def test_a_plaintext_store_keeps_alerts_in_clear(store: SqlStore) -> None:
    alert_id, _ = _sealed_alert_story(store)
    assert _raw(store, "SELECT title FROM alerts") == [(f"wl: courier in “{QUOTE}”",)]
    assert (f"checked {QUOTE}",) in _raw(store, "SELECT comment FROM alert_events")
    alert = al.get_alert(store, alert_id)
    assert alert is not None and alert.details["hits"][0]["matched"] == "courier"


def test_pages_count_exactly_what_the_reader_may_read(store: SqlStore) -> None:
    """Totals and per-status counts come from SQL with the whole access rule, so a page of a
    restricted reader is neither short nor padded by alerts they may not read."""
    docs = _docs(store, *(f"report number {i}" for i in range(60)))
    ids = raise_alerts(store, [_hit(d, Severity.HIGH if i % 2 else Severity.LOW,
                                    key=f"watchlist:wl-{i % 3}") for i, d in enumerate(docs)])
    [ops] = _docs(store, "ops report", marking=Marking(compartments=frozenset({"ops"})))
    secret = raise_alerts(store, [_hit(ops, Severity.HIGH, key="watchlist:wl-0")])
    al.close(store, ids[0], actor="ana")
    users.add_user(store, "bob", "analyst")
    al.assign(store, ids[1], "bob", actor="ana")
    reader = Audience(max_tlp=TLP.AMBER, clearance=Classification.UNCLASSIFIED)
    first = al.alert_page(store, audience=reader, limit=25)
    assert first.total == 59 and len(first.alerts) == 25
    assert first.by_status == {"open": 59, "acknowledged": 0, "closed": 1}
    rest = [al.alert_page(store, audience=reader, limit=25, offset=o).alerts for o in (25, 50)]
    seen = [a.id for a in first.alerts + rest[0] + rest[1]]
    assert len(seen) == len(set(seen)) == 59 and secret[0] not in seen
    owner = al.alert_page(store, status=None, audience=Audience.owner(), limit=500)
    assert owner.total == 62 - 1 and secret[0] in {a.id for a in owner.alerts}
    assert al.alert_page(store, status=None, watchlist="wl-0", audience=reader).total == 20
    assert al.alert_page(store, severity=Severity.HIGH, audience=reader).total == 30
    assert [a.id for a in al.alert_page(store, assignee="bob", audience=reader).alerts] == [
        ids[1]]
    assert al.alert_page(store, assignee="", audience=reader).total == 58
    with pytest.raises(InputError):
        al.alert_page(store, status="snoozed", audience=reader)
    assert al.assignees(store) == ["bob"]


def test_volume_counts_alerts_raised_per_period(store: SqlStore) -> None:
    d1, d2, d3 = _docs(store, "first", "second", "third")
    raise_alerts(store, [_hit(d1)], now=T0)
    raise_alerts(store, [_hit(d2), _hit(d3, key="watchlist:wl-2")], now=T0 + timedelta(days=21))
    [ops] = _docs(store, "ops", marking=Marking(compartments=frozenset({"ops"})))
    raise_alerts(store, [_hit(ops)], now=T0 + timedelta(days=7))
    reader = Audience(max_tlp=TLP.AMBER, clearance=Classification.UNCLASSIFIED)
    weeks = al.alert_volume(store, audience=reader)
    assert [b.count for b in weeks] == [1, 0, 0, 2]  # the compartmented one is not counted
    assert [b.count for b in al.alert_volume(store, audience=Audience.owner())] == [1, 1, 0, 2]
    assert sum(b.count for b in al.alert_volume(store, watchlist="wl-2", audience=reader)) == 1
    assert al.alert_volume(store, audience=reader, interval="day")[0].count == 1


def _remark(store: SqlStore, doc_id: str, marking: Marking) -> None:
    """Tighten a stored document's marking after its alert was raised, as a rebuild does
    when the re-derived document carries a stricter one (store/rebuild.py never loosens)."""
    with store.engine.begin() as conn:
        conn.execute(t.documents.update().where(t.documents.c.id == doc_id)
                     .values(**marking.to_columns()))


def test_hit_counts_and_documents_are_what_the_reader_may_read(store: SqlStore) -> None:
    """An alert readable by a reader counts, lists and shows only the hits whose documents
    the reader may read now: a document in a compartment the reader lacks (the SQL rule's
    conjunctive compartments) or above their TLP is neither counted nor named, and when the
    hit that raised the alert is one of those, the alert reads with the title and details
    of the first hit they may read (its own quote the hidden document). Hits without a
    document (a warning's) stay counted; an alert left without any readable hit reads as
    a missing one."""
    original, copy, other = _docs(store, ORIGINAL, COPY, OTHER)
    _story(store, [original, copy, other])
    [alert_id] = set(raise_alerts(store, [_hit(original), _hit(copy), _hit(other)], now=T0))
    [nodoc] = set(raise_alerts(store, [_hit(None, key="warning:x"), _hit(None, key="warning:x")]))
    [lone] = raise_alerts(store, [_hit(other, key="watchlist:lone")])
    _remark(store, original, Marking(compartments=frozenset({"ops"})))
    _remark(store, other, Marking(tlp=TLP.RED))
    reader = Audience(max_tlp=TLP.AMBER, compartments=frozenset({"hum"}))
    cleared = Audience(max_tlp=TLP.AMBER, compartments=frozenset({"ops", "hum"}))

    owner_view = al.get_alert(store, alert_id, OWNER)
    assert owner_view is not None and owner_view.occurrences == 3
    assert set(owner_view.documents) == {original, copy, other}
    assert owner_view.title == f"APT28 named in {original}"
    for view in (al.get_alert(store, alert_id, reader),
                 next(a for a in al.list_alerts(store, audience=reader) if a.id == alert_id),
                 next(a for a in al.alert_page(store, audience=reader).alerts
                      if a.id == alert_id)):
        assert view is not None and view.occurrences == 1 and view.documents == (copy,)
        assert view.title == f"APT28 named in {copy}"
        assert original not in repr(view) and other not in repr(view)
    assert [h["document_id"] for h in al.alert_hits(store, alert_id, reader)] == [copy]
    assert len(al.alert_hits(store, alert_id)) == 3
    ops = al.get_alert(store, alert_id, cleared)
    assert ops is not None and ops.occurrences == 2 and set(ops.documents) == {original, copy}
    assert ops.title == f"APT28 named in {original}"
    # triage answers with the alert as the reader sees it, too
    acked = al.acknowledge(store, alert_id, actor="rita", audience=reader)
    assert acked.occurrences == 1 and acked.documents == (copy,)
    assert acked.title == f"APT28 named in {copy}"
    # a warning's hits have no document: all of them count
    warning = al.get_alert(store, nodoc, reader)
    assert warning is not None and warning.occurrences == 2
    # no readable hit left: hidden from lists, totals and look-ups, like a missing alert
    assert al.get_alert(store, lone, reader) is None
    assert lone not in {a.id for a in al.list_alerts(store, status=None, audience=reader)}
    page = al.alert_page(store, status=None, audience=reader)
    assert lone not in {a.id for a in page.alerts} and page.total == 2
    assert sum(b.count for b in al.alert_volume(store, audience=reader)) == 2
    with pytest.raises(InputError, match="no alert"):
        al.acknowledge(store, lone, actor="rita", audience=reader)
    assert al.get_alert(store, lone, OWNER) is not None


def test_the_trail_and_severity_follow_the_documents_as_marked_now(store: SqlStore) -> None:
    """An alert's "raised" event quotes its first hit's title and an "escalated" event the
    escalating hit's, and the alert's severity is its hits' highest: once those documents
    are marked above a reader (a rebuild tightens markings, never loosens them), the reader
    sees the trail and the severity the hits they may still read make, not the hidden
    documents' titles nor the escalation they caused."""
    hidden, kept, later = _docs(store, ORIGINAL, OTHER, COPY)
    _story(store, [hidden, kept, later])  # one story: one alert
    [alert_id] = raise_alerts(store, [_hit(hidden, Severity.LOW)], now=T0)
    raise_alerts(store, [_hit(kept, Severity.LOW)], now=T0 + timedelta(hours=1))
    raise_alerts(store, [_hit(later, Severity.HIGH)], now=T0 + timedelta(hours=2))
    al.acknowledge(store, alert_id, actor="ana", comment="looking")
    _remark(store, hidden, Marking(compartments=frozenset({"ops"})))
    _remark(store, later, Marking(tlp=TLP.RED))
    reader = Audience(max_tlp=TLP.AMBER)

    owner = al.alert_events(store, alert_id)
    assert [e.action for e in owner] == ["raised", "escalated", "acknowledged"]
    assert owner[0].comment == f"APT28 named in {hidden}" and later in owner[1].comment
    assert owner[2].severity == Severity.HIGH
    assert al.alert_events(store, alert_id, OWNER) == owner
    seen = al.alert_events(store, alert_id, reader)
    assert [e.action for e in seen] == ["raised", "acknowledged"]
    assert seen[0].comment == f"APT28 named in {kept}" and seen[1].comment == "looking"
    assert {e.severity for e in seen} == {Severity.LOW}
    assert hidden not in repr(seen) and later not in repr(seen)
    view = al.get_alert(store, alert_id, reader)
    assert view is not None and view.severity == Severity.LOW and view.title.endswith(kept)
    full = al.get_alert(store, alert_id, OWNER)
    assert full is not None and full.severity == Severity.HIGH
    # nor is it listed under, counted for or sorted by the hidden hit's severity
    [medium] = _docs(store, "a medium report")
    [second] = raise_alerts(store, [_hit(medium, Severity.MEDIUM, key="watchlist:wl-2")])
    assert al.list_alerts(store, severity=Severity.HIGH, audience=reader) == []
    assert al.alert_page(store, severity=Severity.HIGH, audience=reader).total == 0
    assert [a.id for a in al.list_alerts(store, audience=reader)] == [second, alert_id]
    assert [a.id for a in al.alert_page(store, audience=reader).alerts] == [second, alert_id]
    assert [a.id for a in al.list_alerts(store, audience=OWNER)] == [alert_id, second]
    assert [a.id for a in al.list_alerts(store, severity=Severity.HIGH)] == [alert_id]
    cleared = Audience(max_tlp=TLP.AMBER, compartments=frozenset({"ops"}))
    assert [e.comment for e in al.alert_events(store, alert_id, cleared)][:1] == [
        f"APT28 named in {hidden}"]
