"""Watchlists on the web (``web/watchlist_pages.py``): created, edited, disabled and deleted
through the forms with the session's CSRF token and a triage role; a bad term refuses the
whole form; and the per-watchlist page of documents hit, with its counts, shows a restricted
reader only the documents they may open (``assess/watchlist_hits.py``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa

from allsource.assess import watchlists as wl
from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store import schema as t
from allsource.store import users
from tests.web.conftest import Workspace
from tests.web.test_pages import _client, _csrf, _login, _no_raw


@pytest.fixture
def admin(workspace: Workspace) -> Iterator[httpx.Client]:
    with _client(workspace) as c:
        _login(c, workspace.admin_token)
        yield c


def _watchlist_id(location: str) -> str:
    found = re.fullmatch(r"/watchlists/(x-allsource-watchlist--[0-9a-f-]+)", location)
    assert found, location
    return found.group(1)


def _create(c: httpx.Client, name: str, **fields: str) -> httpx.Response:
    csrf = _csrf(c.get("/watchlists").text)
    return c.post("/watchlists", data={"csrf": csrf, "name": name, **fields})


def test_create_edit_disable_and_delete(admin: httpx.Client, workspace: Workspace) -> None:
    name = f"<b>Ransom</b> {uuid4().hex[:6]}"
    # a bad term refuses the whole form: nothing is written, what was typed stays
    r = _create(admin, name, keywords="lockbit", observables="not an observable at all")
    assert r.status_code == 400 and "not an observable" in r.text
    assert "lockbit" in r.text and wl.get_watchlist(workspace.store, name) is None
    # a wrong CSRF token changes nothing
    r = admin.post("/watchlists", data={"csrf": "nope", "name": name, "keywords": "x"})
    assert r.status_code == 403 and wl.get_watchlist(workspace.store, name) is None
    r = _create(admin, name, severity="high", description="who <i>encrypts</i>",
                keywords="lockbit\n\n  double extortion ", observables="evil[.]example")
    assert r.status_code == 303
    wid = _watchlist_id(r.headers["location"])
    made = wl.get_watchlist(workspace.store, wid)
    assert made is not None and made.name == name and made.severity_label == "high"
    assert sorted(term.value for term in made.terms) == [
        "double extortion", "evil.example", "lockbit"]
    page = admin.get(f"/watchlists/{wid}").text
    _no_raw(page)
    assert "&lt;b&gt;Ransom&lt;/b&gt;" in page and "who &lt;i&gt;encrypts&lt;/i&gt;" in page
    # the same name again is refused
    assert _create(admin, name, keywords="y").status_code == 400
    csrf = _csrf(page)
    # add terms; remove one
    r = admin.post(f"/watchlists/{wid}/terms", data={"csrf": csrf, "keywords": "conti"})
    assert r.status_code == 303
    made = wl.get_watchlist(workspace.store, wid)
    assert made is not None and "conti" in {term.value for term in made.terms}
    term = next(term for term in made.terms if term.value == "lockbit")
    r = admin.post(f"/watchlists/{wid}/terms/{term.id}/delete", data={"csrf": csrf})
    assert r.status_code == 303
    made = wl.get_watchlist(workspace.store, wid)
    assert made is not None and "lockbit" not in {term.value for term in made.terms}
    # rename, severity, description, TLP
    r = admin.post(f"/watchlists/{wid}/settings", data={
        "csrf": csrf, "name": f"{name} v2", "severity": "critical", "description": "",
        "tlp": "TLP:GREEN"})
    assert r.status_code == 303
    made = wl.get_watchlist(workspace.store, wid)
    assert made is not None and made.name == f"{name} v2" and made.severity == 4
    assert made.marking.tlp == TLP.GREEN and made.description == ""
    # disable, then enable: one button, nothing else changes
    for state, expected in (("off", False), ("on", True)):
        r = admin.post(f"/watchlists/{wid}/settings", data={"csrf": csrf, "enabled": state})
        assert r.status_code == 303
        made = wl.get_watchlist(workspace.store, wid)
        assert made is not None and made.enabled is expected and made.severity == 4
    # delete asks for the confirmation
    assert admin.post(f"/watchlists/{wid}/delete", data={"csrf": csrf}).status_code == 400
    r = admin.post(f"/watchlists/{wid}/delete", data={"csrf": csrf, "confirm": "yes"})
    assert r.status_code == 303 and wl.get_watchlist(workspace.store, wid) is None
    assert admin.get(f"/watchlists/{wid}").status_code == 404


def test_a_reader_reads_but_may_not_change(workspace: Workspace) -> None:
    watchlist, _ = wl.save_watchlist(workspace.store, f"readable {uuid4().hex[:6]}",
                                     marking=Marking())
    with _client(workspace) as reader:
        _login(reader, workspace.reader_token)
        page = reader.get(f"/watchlists/{watchlist.id}")
        assert page.status_code == 200 and "Add terms" not in page.text
        csrf = _csrf(page.text)  # the log-out form's
        for path, data in ((f"/watchlists/{watchlist.id}/settings", {"enabled": "off"}),
                           (f"/watchlists/{watchlist.id}/delete", {"confirm": "yes"}),
                           ("/watchlists", {"name": "mine", "keywords": "x"})):
            assert reader.post(path, data={"csrf": csrf, **data}).status_code == 403
    found = wl.get_watchlist(workspace.store, watchlist.id)
    assert found is not None and found.enabled


def _doc(ws: Workspace, title: str, tlp: TLP) -> str:
    store = ws.store
    src = store.get_source("watch-notes")
    if src is None:
        src = Source(name="watch-notes", kind="files", location="/tmp/watch-notes")
        store.add_source(src)
    doc = Document.build(kind="note", title=title, text=f"{title} {uuid4()}")
    store.write_batch(src, [Collected(doc)], [], None)
    with store.engine.begin() as conn:
        conn.execute(t.documents.update().where(t.documents.c.id == doc.id)
                     .values(tlp=int(tlp)))
    return doc.id


def _hit(ws: Workspace, watchlist: wl.Watchlist, term: wl.Term, doc_id: str,
         marking: Marking) -> None:
    with ws.store.engine.begin() as conn:
        conn.execute(t.watchlist_hits.insert().values(
            term_id=term.id, document_id=doc_id, watchlist_id=watchlist.id, matched="x",
            evidence="", occurrences=1, via="process",
            created_at=datetime.now(UTC).replace(tzinfo=None), **marking.to_columns()))


def test_hits_page_counts_only_what_the_reader_may_open(admin: httpx.Client,
                                                         workspace: Workspace) -> None:
    store = workspace.store
    tag = uuid4().hex[:6]
    clear_list, _ = wl.save_watchlist(store, f"hits {tag}", marking=Marking())
    [(term, _)] = wl.add_terms(store, clear_list, [wl.keyword_spec("quarry")])
    green = _doc(workspace, f"Green quarry {tag}", TLP.GREEN)
    amber = _doc(workspace, f"Amber quarry {tag}", TLP.AMBER)
    raised = _doc(workspace, f"Raised quarry {tag}", TLP.GREEN)
    for doc_id in (green, amber, raised):
        _hit(workspace, clear_list, term, doc_id, Marking(tlp=TLP.GREEN))
    # a document raised to AMBER after its hit was recorded (at GREEN)
    with store.engine.begin() as conn:
        conn.execute(t.documents.update().where(t.documents.c.id == raised).values(tlp=2))
    amber_list, _ = wl.save_watchlist(store, f"amber {tag}", marking=Marking(tlp=TLP.AMBER))
    [(amber_term, _)] = wl.add_terms(store, amber_list, [wl.keyword_spec("quarry")])
    _hit(workspace, amber_list, amber_term, green, Marking(tlp=TLP.AMBER))
    analyst = users.add_user(store, f"green-{tag}", "analyst", max_tlp=TLP.GREEN)
    _, token = users.create_token(store, analyst)
    with _client(workspace) as c:
        _login(c, token)
        page = c.get(f"/watchlists/{clear_list.id}").text
        assert "1 document(s), 1 hit(s)" in page
        assert f"Green quarry {tag}" in page
        assert "Amber quarry" not in page and "Raised quarry" not in page
        listing = c.get("/watchlists").text
        row = listing.split(f"hits {tag}")[1].split("</tr>")[0]
        assert re.search(r'#hits">1<span', row)
        # a watchlist above the reader answers like a missing one, and is not listed
        assert c.get(f"/watchlists/{amber_list.id}").status_code == 404
        assert f"amber {tag}" not in listing
        # the edit form offers no TLP above the reader's own
        assert "TLP:AMBER" not in page and "TLP:GREEN" in page
        r = c.post(f"/watchlists/{clear_list.id}/settings", data={
            "csrf": _csrf(page), "name": f"hits {tag}", "tlp": "TLP:RED"})
        assert r.status_code == 400 and "above what you may read" in r.text
    page = admin.get(f"/watchlists/{clear_list.id}").text
    assert "3 document(s), 3 hit(s)" in page and "Raised quarry" in page
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.watchlist_hits).where(
            t.watchlist_hits.c.watchlist_id == clear_list.id)).scalar_one() == 3
    for made in (clear_list, amber_list):  # the workspace is shared with other modules
        wl.remove_watchlist(store, made.id)


def test_hits_are_paged(admin: httpx.Client, workspace: Workspace) -> None:
    from allsource.web.watchlist_pages import HIT_PAGE

    store = workspace.store
    tag = uuid4().hex[:6]
    watchlist, _ = wl.save_watchlist(store, f"paged {tag}", marking=Marking())
    [(term, _)] = wl.add_terms(store, watchlist, [wl.keyword_spec("paged")])
    for i in range(HIT_PAGE + 2):
        _hit(workspace, watchlist, term, _doc(workspace, f"Paged {tag} {i}", TLP.CLEAR),
             Marking())
    try:
        first = admin.get(f"/watchlists/{watchlist.id}").text
        second = admin.get(f"/watchlists/{watchlist.id}?page=2").text
    finally:
        # the workspace is shared: leave the "most recent hits" of other modules' pages alone
        wl.remove_watchlist(store, watchlist.id)
    titles = [set(re.findall(rf"Paged {tag} \d+", p)) for p in (first, second)]
    assert len(titles[0]) == HIT_PAGE and len(titles[1]) == 2 and not titles[0] & titles[1]
    assert 'rel="next"' in first and 'rel="prev"' in second
