"""Timeline counts, bucket pages and map places on SQLite and PostgreSQL, plus the shipped
basemap."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime

import pytest

from allsource.analyze.geo import basemap_path, countries, places
from allsource.analyze.timeline import TimelineFilter, bucket_documents, timeline
from allsource.errors import InputError, SourceError
from allsource.model.ids import minted_id
from allsource.model.markings import TLP, Audience, Classification, Marking
from allsource.model.records import Collected, Document, Mention, Source, StixObject
from allsource.store import schema as t
from allsource.store.sql import SqlStore

OWNER = Audience.owner()
READER = Audience(max_tlp=TLP.AMBER, clearance=Classification.UNCLASSIFIED)


def place(name: str, country: str, lat: float | None, lon: float | None) -> StixObject:
    oid = minted_id("location", name)
    stix = {"type": "location", "id": oid, "name": name, "country": country}
    if lat is not None:
        stix |= {"latitude": lat, "longitude": lon}
    return StixObject(oid, "location", name, stix)


PARIS = place("Paris", "FR", 48.85, 2.35)
LYON = place("Lyon", "FR", 45.76, 4.84)
BERLIN = place("Berlin", "DE", 52.52, 13.40)
NOWHERE = place("Atlantis", "XX", None, None)
ACTOR = StixObject(minted_id("intrusion-set", "APT-X"), "intrusion-set", "APT-X", {})


def doc(title: str, day: date, kind: str = "article", marking: Marking | None = None
        ) -> Document:
    return Document.build(kind=kind, title=title, text=title, marking=marking or Marking(),
                          published_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC))


@pytest.fixture
def docs(store: SqlStore) -> dict[str, Document]:
    feed = Source(name="feed", kind="rss", location="http://example.test/a")
    wire = Source(name="wire", kind="rss", location="http://example.test/b")
    store.add_source(feed)
    store.add_source(wire)
    d = {"mon": doc("Monday in Paris", date(2024, 3, 4)),          # week of 4 March
         "sun": doc("Sunday in Lyon", date(2024, 3, 10)),          # same ISO week
         "next": doc("Berlin next week", date(2024, 3, 11)),
         "event": doc("event in Paris", date(2024, 3, 11), kind="gdelt-event"),
         "red": doc("red Paris", date(2024, 3, 4), marking=Marking(tlp=TLP.RED)),
         "ops": doc("ops Paris", date(2024, 3, 4),
                    marking=Marking(compartments=frozenset({"ops"})))}
    def mention(*objs: StixObject) -> list[Mention]:
        return [Mention(o.id, "places@1", 0, 3) for o in objs]
    store.write_batch(feed, [
        Collected(d["mon"], [PARIS, ACTOR], [], mention(PARIS, ACTOR)),
        Collected(d["sun"], [LYON, NOWHERE], [], mention(LYON, NOWHERE)),
        Collected(d["red"], [PARIS], [], mention(PARIS)),
        Collected(d["ops"], [PARIS], [], mention(PARIS))], [], None)
    store.write_batch(wire, [
        Collected(d["next"], [BERLIN, ACTOR], [], mention(BERLIN, ACTOR)),
        Collected(d["event"], [PARIS], [], mention(PARIS))], [], None)
    now = datetime(2024, 4, 1)
    with store.engine.begin() as conn:
        conn.execute(t.stage_annotations.insert(), [
            {"document_id": d["mon"].id, "stage": "topics", "version": "1", "updated_at": now,
             "data": {"topics": [{"topic": "cyber", "score": 0.9}]}},
            {"document_id": d["next"].id, "stage": "topics", "version": "1", "updated_at": now,
             "data": {"topics": [{"topic": "politics", "score": 0.7},
                                 {"topic": "cyber", "score": 0.6}]}}])
        conn.execute(t.grades.insert(), [
            {"subject_type": "document", "subject_id": d[k].id, "reliability": "B",
             "credibility": c, "corroboration": 0, "explanation": {}, "computed_at": now}
            for k, c in (("mon", 2), ("next", 5))])
    return d


def counts(store: SqlStore, f: TimelineFilter, audience: Audience = READER,
           interval: str = "day") -> dict[str, int]:
    return {b.start: b.count for b in timeline(store, f, audience=audience,
                                                interval=interval).buckets}


def test_days_weeks_and_months(store: SqlStore, docs: dict[str, Document]) -> None:
    assert counts(store, TimelineFilter()) == {"2024-03-04": 1, "2024-03-10": 1,
                                               "2024-03-11": 2}
    assert counts(store, TimelineFilter(), OWNER) == {"2024-03-04": 3, "2024-03-10": 1,
                                                      "2024-03-11": 2}
    weeks = timeline(store, TimelineFilter(), audience=READER, interval="week")
    assert [(b.start, b.end, b.count) for b in weeks.buckets] == [
        ("2024-03-04", "2024-03-11", 2), ("2024-03-11", "2024-03-18", 2)]
    assert counts(store, TimelineFilter(), interval="month") == {"2024-03-01": 4}
    with pytest.raises(InputError):
        timeline(store, TimelineFilter(), audience=READER, interval="hour")


def test_filters(store: SqlStore, docs: dict[str, Document]) -> None:
    assert counts(store, TimelineFilter(entity_id=ACTOR.id)) == {"2024-03-04": 1,
                                                                 "2024-03-11": 1}
    assert counts(store, TimelineFilter(topic="cyber")) == {"2024-03-04": 1, "2024-03-11": 1}
    assert counts(store, TimelineFilter(topic="politics")) == {"2024-03-11": 1}
    assert counts(store, TimelineFilter(source="wire")) == {"2024-03-11": 2}
    assert counts(store, TimelineFilter(country="fr")) == {"2024-03-04": 1, "2024-03-10": 1,
                                                           "2024-03-11": 1}
    assert counts(store, TimelineFilter(kinds=("gdelt-event",))) == {"2024-03-11": 1}
    assert counts(store, TimelineFilter(since=datetime(2024, 3, 10),
                                        until=datetime(2024, 3, 11))) == {"2024-03-10": 1}
    assert counts(store, TimelineFilter(min_credibility=3)) == {"2024-03-04": 1}
    with pytest.raises(SourceError):
        timeline(store, TimelineFilter(source="nope"), audience=READER)


def test_bucket_pages(store: SqlStore, docs: dict[str, Document]) -> None:
    page = bucket_documents(store, TimelineFilter(), date(2024, 3, 11), audience=READER,
                            limit=1)
    assert page.total == 2 and len(page.items) == 1
    rest = bucket_documents(store, TimelineFilter(), date(2024, 3, 11), audience=READER,
                            limit=1, offset=1)
    assert {page.items[0]["id"], rest.items[0]["id"]} == {docs["next"].id, docs["event"].id}
    assert rest.items[0]["source"] == "wire"
    week = bucket_documents(store, TimelineFilter(), date(2024, 3, 4), audience=READER,
                            interval="week")
    assert [i["id"] for i in week.items] == [docs["sun"].id, docs["mon"].id]
    owner = bucket_documents(store, TimelineFilter(), date(2024, 3, 4), audience=OWNER)
    assert owner.total == 3 and json.dumps(owner.as_dict())


def test_places_as_geojson(store: SqlStore, docs: dict[str, Document]) -> None:
    fc = places(store, TimelineFilter(), audience=READER)
    assert fc["type"] == "FeatureCollection"
    by_name = {f["properties"]["name"]: f for f in fc["features"]}
    assert set(by_name) == {"Paris", "Lyon", "Berlin"}  # Atlantis has no coordinates
    assert by_name["Paris"]["properties"]["documents"] == 2  # not the red or ops documents
    assert by_name["Paris"]["geometry"] == {"type": "Point", "coordinates": [2.35, 48.85]}
    assert fc["features"][0]["properties"]["name"] == "Paris"
    owner = places(store, TimelineFilter(), audience=OWNER)
    assert {f["properties"]["name"]: f["properties"]["documents"]
            for f in owner["features"]}["Paris"] == 4
    french = places(store, TimelineFilter(country="FR"), audience=READER)
    assert {f["properties"]["name"] for f in french["features"]} == {"Paris", "Lyon"}
    recent = places(store, TimelineFilter(since=datetime(2024, 3, 11)), audience=READER)
    assert {f["properties"]["name"] for f in recent["features"]} == {"Paris", "Berlin"}
    one = places(store, TimelineFilter(), audience=READER, limit=1)
    assert len(one["features"]) == 1 and one["properties"]["truncated"]


def _inside(point: tuple[float, float], ring: list[list[float]]) -> bool:
    x, y = point
    hit = False
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            hit = not hit
    return hit


def test_basemap_ships_and_is_right_side_up() -> None:
    path = basemap_path()
    assert path.stat().st_size < 1_000_000
    world = json.loads(path.read_text())
    assert world["type"] == "FeatureCollection" and len(world["features"]) > 170
    france = next(f for f in world["features"] if f["properties"]["iso_a3"] == "FRA")
    polygons = france["geometry"]["coordinates"]
    assert any(_inside((2.35, 48.85), poly[0]) for poly in polygons)  # Paris
    assert not any(_inside((13.40, 52.52), poly[0]) for poly in polygons)  # Berlin
    assert (path.parent / "README.md").read_text().count("public domain")


def test_bounds_at_midnight_are_exact(store: SqlStore) -> None:
    """Rows the bulk insert writes at a whole second sort right against the bounds."""
    src = Source(name="feed", kind="rss", location="http://example.test/a")
    store.add_source(src)
    first, second = (Document.build(kind="article", title=f"day {d}", text="x",
                                    published_at=datetime(2024, 5, d, tzinfo=UTC))
                     for d in (1, 2))
    store.write_batch(src, [Collected(first), Collected(second)], [], None)
    page = bucket_documents(store, TimelineFilter(), date(2024, 5, 1), audience=OWNER)
    assert [i["id"] for i in page.items] == [first.id]
    since = TimelineFilter(since=datetime(2024, 5, 2, tzinfo=UTC))
    assert counts(store, since, OWNER) == {"2024-05-02": 1}
    until = TimelineFilter(until=datetime(2024, 5, 2, tzinfo=UTC))
    assert counts(store, until, OWNER) == {"2024-05-01": 1}


def test_places_filtered_by_entity(store: SqlStore, docs: dict[str, Document]) -> None:
    """The entity filter's own ``mentions`` must not correlate with the places' join."""
    fc = places(store, TimelineFilter(entity_id=ACTOR.id, country="fr"), audience=READER)
    assert {f["properties"]["name"] for f in fc["features"]} == {"Paris"}
    assert places(store, TimelineFilter(entity_id="x--0"), audience=READER)["features"] == []


# --- min_credibility judges the grade the reader sees (issue 10, derived views) ---------------

def test_min_credibility_uses_the_grade_the_reader_sees(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CLEAR report graded 1 on RED support is graded 3 for a CLEAR reader: the timeline
    keeps it from ``min_credibility=3`` on — not never (as ungraded), not from 1 (as
    stored) — and regrades only that document, once per request."""
    from tests.verify.test_audience import CLEAR_READER, Spy, hidden_support

    clear, _ = hidden_support(store)
    spy = Spy(monkeypatch)
    day = (clear.published_at or datetime.now(UTC)).date()
    for c in range(1, 7):
        f = TimelineFilter(min_credibility=c)
        want = 1 if c >= 3 else 0
        assert timeline(store, f, audience=CLEAR_READER).total == want, c
        page = bucket_documents(store, f, day, audience=CLEAR_READER)
        assert [d["id"] for d in page.items] == [clear.id] * want and page.total == want
    # two requests per filter, each recomputing the one readable hidden-graded document
    assert spy.batches == [[clear.id]] * 12
    # the owner keeps the stored figures, with nothing recomputed
    assert timeline(store, TimelineFilter(min_credibility=1), audience=Audience.owner()
                    ).total == 3
    assert len(spy.batches) == 12


# --- filled timelines, report vs collection dates, countries (issue 12, timeline and map) -----

def test_filled_timeline_lists_empty_periods(store: SqlStore, docs: dict[str, Document]) -> None:
    days = timeline(store, TimelineFilter(), audience=READER, fill=True)
    assert days.filled and [b.start for b in days.buckets] == [
        f"2024-03-{d:02d}" for d in range(4, 12)]
    assert [b.count for b in days.buckets] == [1, 0, 0, 0, 0, 0, 1, 2]
    assert days.total == 4  # the empty days add nothing
    weeks = timeline(store, TimelineFilter(), audience=READER, interval="week", fill=True)
    assert [(b.start, b.count) for b in weeks.buckets] == [("2024-03-04", 2),
                                                           ("2024-03-11", 2)]
    src = Source(name="late", kind="rss", location="http://example.test/c")
    store.add_source(src)
    store.write_batch(src, [Collected(doc("in May", date(2024, 5, 20)))], [], None)
    months = timeline(store, TimelineFilter(), audience=READER, interval="month", fill=True)
    assert [(b.start, b.end, b.count) for b in months.buckets] == [
        ("2024-03-01", "2024-04-01", 4), ("2024-04-01", "2024-05-01", 0),
        ("2024-05-01", "2024-06-01", 1)]
    empty = timeline(store, TimelineFilter(source="late", topic="cyber"), audience=READER,
                     fill=True)
    assert empty.buckets == [] and empty.filled


def test_a_filled_timeline_is_bounded(store: SqlStore) -> None:
    """A stray date decades away would make thousands of empty days: the timeline then stays
    sparse (and says so) rather than listing them."""
    src = Source(name="feed", kind="rss", location="http://example.test/a")
    store.add_source(src)
    store.write_batch(src, [Collected(doc("old", date(1990, 1, 1))),
                            Collected(doc("new", date(2024, 1, 1)))], [], None)
    days = timeline(store, TimelineFilter(), audience=OWNER, fill=True)
    assert not days.filled and len(days.buckets) == 2
    months = timeline(store, TimelineFilter(), audience=OWNER, interval="month", fill=True)
    assert months.filled and len(months.buckets) == 34 * 12 + 1


def test_report_and_collection_dates_apart(store: SqlStore) -> None:
    src = Source(name="feed", kind="rss", location="http://example.test/a")
    store.add_source(src)
    dated = doc("dated", date(2024, 3, 4))
    undated = Document.build(kind="article", title="undated", text="undated")
    store.write_batch(src, [Collected(dated), Collected(undated)], [], None)
    with store.engine.begin() as conn:  # collected on known days
        for d, day in ((dated, 20), (undated, 21)):
            conn.execute(t.documents.update().where(t.documents.c.id == d.id)
                         .values(collected_at=datetime(2024, 6, day)))
    either = timeline(store, TimelineFilter(), audience=OWNER)
    assert {b.start: b.count for b in either.buckets} == {"2024-03-04": 1, "2024-06-21": 1}
    report = timeline(store, TimelineFilter(basis="report"), audience=OWNER)
    assert {b.start: b.count for b in report.buckets} == {"2024-03-04": 1}
    assert report.undated == 1 and report.basis == "report"
    collected = timeline(store, TimelineFilter(basis="collected"), audience=OWNER)
    assert {b.start: b.count for b in collected.buckets} == {"2024-06-20": 1, "2024-06-21": 1}
    page = bucket_documents(store, TimelineFilter(basis="collected"), date(2024, 6, 20),
                            audience=OWNER)
    assert [i["id"] for i in page.items] == [dated.id]
    assert counts(store, TimelineFilter(basis="report", since=datetime(2024, 6, 1)),
                  OWNER) == {}
    with pytest.raises(InputError):
        timeline(store, TimelineFilter(basis="whenever"), audience=OWNER)


def test_countries_count_distinct_readable_documents(store: SqlStore,
                                                     docs: dict[str, Document]) -> None:
    rows = countries(store, TimelineFilter(), audience=READER)
    assert [(r["country"], r["iso3"], r["name"], r["documents"]) for r in rows] == [
        ("FR", "FRA", "France", 3), ("DE", "DEU", "Germany", 1), ("XX", "", "XX", 1)]
    owner = {r["country"]: r["documents"] for r in countries(store, TimelineFilter(),
                                                                audience=OWNER)}
    assert owner["FR"] == 5  # the red and the ops documents too
    assert [r["country"] for r in countries(store, TimelineFilter(country="de"),
                                            audience=READER)] == ["DE"]
    assert countries(store, TimelineFilter(source="wire", country="fr"),
                     audience=READER)[0]["documents"] == 1
