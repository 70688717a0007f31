"""The release rule in SQL (:func:`allsource.store.access.readable`) selects exactly the rows
:func:`~allsource.model.markings.can_release` releases, on both backends, for generated
audiences and markings whose names are built to trip string matching: prefixes (``ab`` /
``abc``), case (``ab`` / ``AB``), LIKE wildcards (``a%``, ``a_c``) and regex-ish characters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allsource.model.markings import TLP, Audience, Classification, Marking, can_release
from allsource.model.records import Collected, Document, Source
from allsource.store import schema as t
from allsource.store.access import readable
from allsource.store.sql import SqlStore

NAMES = ("ab", "abc", "AB", "b", "a%", "a_c", "a.c", "x y")

tlps = st.sampled_from(list(TLP))
levels = st.sampled_from(list(Classification))
names = st.frozensets(st.sampled_from(NAMES), max_size=4)
markings = st.builds(Marking, tlp=tlps, classification=levels, compartments=names,
                     releasability=names)
audiences = st.builds(Audience, max_tlp=tlps, clearance=levels, compartments=names,
                      groups=names)

_SETTINGS = settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


def _write(store: SqlStore, marks: list[Marking]) -> dict[str, Marking]:
    """Documents with ``marks`` under a fresh source; their id → marking."""
    source = Source("s-" + uuid.uuid4().hex[:8], "files", "/dev/null")
    store.add_source(source)
    docs = [Document.build(kind="report", title=f"d{i}", text=f"{uuid.uuid4().hex} {i}",
                           marking=m, published_at=datetime(2024, 1, 1, tzinfo=UTC))
            for i, m in enumerate(marks)]
    store.write_batch(source, [Collected(d) for d in docs], [], None)
    return {d.id: d.marking for d in docs}


def _selected(store: SqlStore, ids: list[str], audience: Audience) -> set[str]:
    d = t.documents
    with store.engine.connect() as conn:
        return set(conn.execute(sa.select(d.c.id).where(d.c.id.in_(ids),
                                                        readable(d, audience))).scalars())


@_SETTINGS
@given(marks=st.lists(markings, min_size=1, max_size=8), audience=audiences)
def test_sql_rule_is_can_release(store: SqlStore, marks: list[Marking],
                                 audience: Audience) -> None:
    written = _write(store, marks)
    expected = {i for i, m in written.items() if can_release(m, audience)}
    assert _selected(store, list(written), audience) == expected
    # and the count the database gives is the same set's size (no re-check after a LIMIT)
    d = t.documents
    with store.engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(d).where(
            d.c.id.in_(list(written)), readable(d, audience))).scalar_one()
    assert n == len(expected)


def test_whole_names_only(store: SqlStore) -> None:
    """Regressions: a compartment or group matches only as a whole, exact name."""
    cases = [
        (Marking(compartments=frozenset({"abc"})), Audience(compartments=frozenset({"ab"}))),
        (Marking(compartments=frozenset({"ab"})), Audience(compartments=frozenset({"abc"}))),
        (Marking(compartments=frozenset({"AB"})), Audience(compartments=frozenset({"ab"}))),
        (Marking(compartments=frozenset({"ab", "b"})), Audience(compartments=frozenset({"b"}))),
        (Marking(releasability=frozenset({"abc"})), Audience(groups=frozenset({"ab"}))),
        (Marking(releasability=frozenset({"AB"})), Audience(groups=frozenset({"ab"}))),
        (Marking(releasability=frozenset({"abc"})), Audience(groups=frozenset({"a%"}))),
        (Marking(releasability=frozenset({"abc"})), Audience(groups=frozenset({"a_c"}))),
        # a reader's name with a comma is never one stored name
        (Marking(compartments=frozenset({"ab", "b"})),
         Audience(compartments=frozenset({"ab,b"}))),
        (Marking(releasability=frozenset({"ab", "b"})), Audience(groups=frozenset({"ab,b"}))),
    ]
    written = _write(store, [m for m, _ in cases])
    for (doc_id, marking), (_, audience) in zip(written.items(), cases, strict=True):
        assert not can_release(marking, audience)
        assert _selected(store, [doc_id], audience) == set(), (marking, audience)
    allowed = [
        (Marking(compartments=frozenset({"ab", "b"})),
         Audience(compartments=frozenset({"ab", "b", "abc"}))),
        (Marking(releasability=frozenset({"abc", "b"})), Audience(groups=frozenset({"b"}))),
        (Marking(compartments=frozenset({"a%"}), releasability=frozenset({"a_c"})),
         Audience(compartments=frozenset({"a%"}), groups=frozenset({"a_c"}))),
    ]
    written = _write(store, [m for m, _ in allowed])
    for doc_id, (_, audience) in zip(written, allowed, strict=True):
        assert _selected(store, [doc_id], audience) == {doc_id}


def test_owner_reads_everything(store: SqlStore) -> None:
    written = _write(store, [Marking(tlp=TLP.RED, classification=Classification.TOP_SECRET,
                                     compartments=frozenset({"x"}),
                                     releasability=frozenset({"y"}))])
    assert _selected(store, list(written), Audience.owner()) == set(written)
    assert _selected(store, list(written), Audience()) == set()
