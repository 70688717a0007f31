"""Stories as a reader sees them (leak 2 of issue 10): a TLP:CLEAR document's story never
names, counts or matches a TLP:RED member, and a story is known only by its first readable
member. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from allsource.engine.inline import InlineEngine
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Source
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.store import story_views
from allsource.store.sql import SqlStore
from tests.api.conftest import ORIGINAL

CLEAR_READER = Audience(max_tlp=TLP.CLEAR)


@pytest.fixture
def docs(store: SqlStore) -> tuple[Document, Document, Document]:
    src = Source("outlet", "rss", "https://outlet.example/feed")
    store.add_source(src)
    red = Document.build(kind="article", title="Spearphishing wave", text=ORIGINAL,
                         published_at=datetime(2024, 5, 1, tzinfo=UTC),
                         marking=Marking(tlp=TLP.RED))
    clear = Document.build(kind="article", title="Spearphishing wave (wire)",
                           text="WIRE — " + ORIGINAL + " Reporting by our desk.",
                           published_at=datetime(2024, 5, 2, tzinfo=UTC))
    later = Document.build(kind="article", title="Spearphishing wave (again)",
                           text="AGAIN — " + ORIGINAL + " More from the desk.",
                           published_at=datetime(2024, 5, 3, tzinfo=UTC))
    # the RED report comes first, so it founds the story and names it
    store.write_batch(src, [Collected(red)], [], None)
    store.write_batch(src, [Collected(clear), Collected(later)], [], None)
    pipeline = build_pipeline(["stories"], store=store)
    process_store(store, pipeline, InlineEngine(pipeline))
    return red, clear, later


def test_the_owner_sees_the_story_as_stored(store: SqlStore, docs: tuple[Document, ...]
                                            ) -> None:
    red, clear, later = docs
    with store.engine.connect() as conn:
        view = story_views.stories_of_documents(conn, store, [clear.id], Audience.owner())
    story = view[clear.id]
    assert story.id == story.stored_id == red.id
    assert [m.document_id for m in story.members] == [red.id, clear.id, later.id]


def test_a_clear_reader_never_sees_the_red_member(store: SqlStore,
                                                  docs: tuple[Document, ...]) -> None:
    red, clear, later = docs
    with store.engine.connect() as conn:
        story = story_views.stories_of_documents(conn, store, [clear.id],
                                                 CLEAR_READER)[clear.id]
        assert story_views.story_by_public_id(conn, store, red.id, CLEAR_READER) is None
        assert story_views.story_by_public_id(conn, store, clear.id,
                                              CLEAR_READER) == story
        assert story_views.stories_of_documents(conn, store, [red.id], CLEAR_READER) == {}
    assert story.id == clear.id and story.size == 2
    assert [m.document_id for m in story.members] == [clear.id, later.id]
    first = story.members[0]
    assert first.matched_id is None and first.similarity is None  # it matched the RED one
    view = store.get(clear.id, CLEAR_READER)
    assert view is not None
    assert view["story"] == {"id": clear.id, "canonical_document_id": clear.id,
                             "similarity": None, "matched_id": None, "documents": 2}
    assert view["annotations"]["stories"]["story_id"] == clear.id
    assert red.id not in orjson.dumps(view).decode()


def test_the_listing_counts_readable_members(store: SqlStore,
                                             docs: tuple[Document, ...]) -> None:
    red, clear, _ = docs
    import sqlalchemy as sa

    for audience, public, size in ((CLEAR_READER, clear.id, 2), (Audience.owner(), red.id, 3)):
        listing = story_views.readable_story_list(store, audience)
        with store.engine.connect() as conn:
            rows = conn.execute(sa.select(listing)).all()
        assert [(r.public_id, r.size) for r in rows] == [(public, size)]


def test_a_story_of_hidden_members_only_does_not_exist(store: SqlStore) -> None:
    src = Source("secret", "rss", "https://secret.example/feed")
    store.add_source(src)
    red = Document.build(kind="article", title="t", text=ORIGINAL, marking=Marking(tlp=TLP.RED))
    store.write_batch(src, [Collected(red)], [], None)
    pipeline = build_pipeline(["stories"], store=store)
    process_store(store, pipeline, InlineEngine(pipeline))
    with store.engine.connect() as conn:
        assert story_views.stories_by_stored_id(conn, store, [red.id], CLEAR_READER) == {}
        assert story_views.story_by_public_id(conn, store, red.id, CLEAR_READER) is None
        assert story_views.story_by_public_id(conn, store, red.id, Audience.owner())
