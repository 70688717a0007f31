"""The early-warning page (``web/warning_pages.py``): a series drawn with its expectation,
band and flags from the documents the reader may read, with a table of the same figures;
stored warnings listed only when their marking is readable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import httpx
import pytest

from allsource.model.markings import TLP
from allsource.model.records import Collected, Document, Source
from allsource.store import schema as t
from allsource.store import users
from tests.web.conftest import Workspace
from tests.web.test_pages import _client, _login, _no_raw


@pytest.fixture
def admin(workspace: Workspace) -> Iterator[httpx.Client]:
    with _client(workspace) as c:
        _login(c, workspace.admin_token)
        yield c


def _source_with_days(ws: Workspace, name: str, per_day: list[int], tlp: TLP) -> str:
    """A source whose documents are published ``per_day[i]`` on the i-th of the days
    ending yesterday."""
    src = Source(name=name, kind="files", location=f"/tmp/{name}")
    ws.store.add_source(src)
    first = date.today() - timedelta(days=len(per_day))
    docs = [Document.build(kind="note", title=f"{name} {i} {j}", text=f"{uuid4()}",
                           published_at=datetime(d.year, d.month, d.day, 12, tzinfo=UTC))
            for i, n in enumerate(per_day) for j in range(n)
            for d in [first + timedelta(days=i)]]
    ws.store.write_batch(src, [Collected(doc) for doc in docs], [], None)
    with ws.store.engine.begin() as conn:
        conn.execute(t.documents.update().where(t.documents.c.id.in_([d.id for d in docs]))
                     .values(tlp=int(tlp)))
    return src.id


def test_a_surge_is_drawn_with_its_band_and_flag(admin: httpx.Client,
                                                 workspace: Workspace) -> None:
    name = f"surge-{uuid4().hex[:6]}"
    sid = _source_with_days(workspace, name, [2] * 40 + [30], TLP.CLEAR)
    page = admin.get(f"/warnings?key=source:{sid}").text
    _no_raw(page)
    chart = page.split('id="warning-chart"')[1].split("</figure>")[0]
    assert '<path class="band"' in chart and '<path class="expected"' in chart
    assert chart.count('<circle class="flag"') == 1
    assert ": 30 document(s)" in chart and ", flagged" in chart
    table = page.split('id="series-table"')[1].split("</table>")[0]
    assert table.count('class="flagged"') == 1
    # the 91 days shown begin 49 days before the source's first: one row says so, not 49
    # (and one for today, not collected yet)
    assert table.count('class="gap"') == 2 and "no coverage (49 days)" in table
    assert table.count("<tr") == 1 + 1 + 41 + 1  # the header, the gaps, the covered days


def test_a_reader_sees_only_the_series_of_what_they_may_read(workspace: Workspace) -> None:
    name = f"amber-{uuid4().hex[:6]}"
    sid = _source_with_days(workspace, name, [2] * 40 + [30], TLP.AMBER)
    analyst = users.add_user(workspace.store, f"g-{name}", "analyst", max_tlp=TLP.GREEN)
    _, token = users.create_token(workspace.store, analyst)
    with _client(workspace) as c:
        _login(c, token)
        page = c.get(f"/warnings?key=source:{sid}").text
    assert 'id="warning-chart"' not in page and "30 document(s)" not in page
    assert "No document you may read counts in this series then." in page


def test_not_a_count_series(admin: httpx.Client) -> None:
    page = admin.get("/warnings?key=tone:UA").text
    assert "not a count series" in page and 'id="warning-chart"' not in page


def test_quiet_runs_are_one_row_each() -> None:
    from allsource.assess.warning_series import SeriesView
    from allsource.web.warning_pages import table_rows

    view = SeriesView("topic:x", "x", starts=[f"d{i}" for i in range(9)],
                      observed=[None, None, 0, 0, 0, 4, 0, 0, None],
                      flagged=[False, False, False, False, True, True, False, False, False])
    # no coverage ×2 | no documents ×2 | a flagged empty day | a day with documents |
    # no documents ×2 | no coverage
    assert table_rows(view) == [(0, 1), (2, 3), (4, 4), (5, 5), (6, 7), (8, 8)]
