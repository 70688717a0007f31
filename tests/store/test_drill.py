"""The stolen-disk drill (scripts/drill_stolen_disk.py) on SQLite and PostgreSQL: a copy of the
store's files without the key holds none of the protected documents' phrases or words — in
the documents nor in what quotes them (watchlist hits, alerts, their events and webhook
deliveries, risk scores, case evidence) — while the same drill on a store without a key finds
them (so the search would see plain text)."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.pgserver import PgServer

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "drill_stolen_disk.py"


def _drill() -> ModuleType:
    spec = importlib.util.spec_from_file_location("drill_stolen_disk", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("drill_stolen_disk", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


#: columns the control run must find the needles in: the documents and what quotes them
QUOTING = {"documents.title", "documents.text", "alerts.title", "alert_hits.title",
           "alert_events.comment", "alert_deliveries.payload", "case_evidence.description"}


def _check_derived(finds: Any) -> None:
    """The drill made what quotes documents, and the webhook got the alerts as they read."""
    assert finds.derived["watchlist_hits"] >= 4 and finds.derived["alerts"] >= 4
    payloads = finds.webhook_payloads
    assert len(payloads) == finds.derived["alerts"]
    # each alert's title quotes its document's title (opened before it was sent)
    titles = sorted(p["alert"]["title"] for p in payloads)
    assert any("“Quillfeather field report 0”" in t for t in titles), titles
    assert all(p["alert"]["details"]["hits"][0]["matched"] for p in payloads)


def test_pglz_decompression_matches_the_format() -> None:
    drill = _drill()
    # literal "abc", then a match of length 6 at distance 3: "abcabcabc"
    stream = bytes([0b00001000, *b"abc", 0x03, 0x03])
    assert drill.pglz_decompress(stream, 9) == b"abcabcabc"
    assert drill.pglz_decompress(stream, 10) is None


@pytest.mark.parametrize("plain", [False, True], ids=["encrypted", "plain-control"])
def test_drill_sqlite(tmp_path: Path, plain: bool) -> None:
    finds = _drill().drill(tmp_path / "work", plain=plain)
    assert finds.files >= 3 and finds.bytes > 0
    _check_derived(finds)
    if plain:
        assert {h[0] for h in finds.hits} >= {"quillfeather", "ostravenko"}
        assert any(h[1].startswith("db/") for h in finds.hits)
        assert set(finds.columns) >= QUOTING
    else:
        assert finds.hits == []
        assert finds.columns == {}


@pytest.mark.postgres
@pytest.mark.parametrize("plain", [False, True], ids=["encrypted", "plain-control"])
def test_drill_postgres(tmp_path: Path, pg_server: PgServer, plain: bool) -> None:
    name = "drill_" + uuid.uuid4().hex[:10]
    url = pg_server.create_database(name)
    try:
        finds = _drill().drill(tmp_path / "work", plain=plain, database_url=url,
                               pg_data_dir=pg_server.data_dir)
    finally:
        pg_server.drop_database(name)
    assert finds.files > 100  # the whole data directory was copied
    _check_derived(finds)
    if plain:
        assert {h[0] for h in finds.hits} >= {"quillfeather", "ostravenko"}
        assert any(h[1].startswith("pgdata/") for h in finds.hits)
        assert set(finds.columns) >= QUOTING
    else:
        assert finds.hits == []
        assert finds.columns == {}
