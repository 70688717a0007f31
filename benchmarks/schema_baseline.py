"""The engine's own cost of allsource's schema: the same documents written by the raw driver into
an empty, freshly migrated allsource store, with no allsource code on the timed path.

``benchmarks/ingest.py``'s first baseline writes five columns into a table with one unique
index and an FTS index. allsource keeps more per document — provenance (a ``sightings`` row per
source that carried it), markings, the content hash, the raw blob's reference, metadata — and
indexes the columns its reads filter on (source, kind, publication date, unsealed rows). This
baseline writes exactly those rows through ``sqlite3.executemany`` (SQLite) or ``COPY``
(PostgreSQL) into the tables ``open_store`` created, so

* allsource ÷ this baseline is what allsource's own code costs over the engine, and
* this baseline ÷ the minimal one is what the schema costs the engine.

Each line is parsed and hashed on the timed path, as the minimal baseline parses its lines.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from allsource.config import load_settings
from allsource.store import open_store

_DOC_COLUMNS = ("id", "source_id", "kind", "title", "text", "url", "media_type", "published_at",
                "collected_at", "content_hash", "blob_sha256", "blob_ref", "labels", "meta",
                "tlp", "classification", "compartments", "releasability")
_SIGHT_COLUMNS = ("document_id", "source_id", "first_seen", "url")
SOURCE_ID = "identity--00000000-0000-5000-8000-00000000be9c"


def migrate(url: str, work: Path) -> None:
    """An empty allsource store at ``url`` (migrations run here, outside the timed part)."""
    store = open_store(load_settings(database_url=url,
                                     blob_dir=work / f"blobs-{uuid.uuid4().hex[:8]}"))
    store.close()


def _rows(corpus: Path, size: int, stamp: Any, published: Any
          ) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    docs: list[tuple[Any, ...]] = []
    sights: list[tuple[Any, ...]] = []
    blob = hashlib.sha256(corpus.name.encode()).hexdigest()
    with corpus.open("rb") as fh:
        for n, line in enumerate(fh, 1):
            d = orjson.loads(line)
            meta = orjson.dumps({"id": d["id"]}).decode()
            docs.append((d["id"], SOURCE_ID, "record", d["title"], d["text"], d["url"],
                         "application/x-ndjson", published(d["published"]), stamp,
                         hashlib.sha256(line).hexdigest(), blob, f"line:{n}", "[]", meta,
                         0, 0, "", ""))
            sights.append((d["id"], SOURCE_ID, stamp, d["url"]))
            if len(docs) >= size:
                yield docs, sights
                docs, sights = [], []
    if docs:
        yield docs, sights


def sqlite_schema_baseline(url: str, corpus: Path, batch_size: int, work: Path
                           ) -> tuple[float, int]:
    """Seconds and documents for the raw ``sqlite3`` write into a migrated store."""
    migrate(url, work)
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536",
                   "wal_autocheckpoint=10000"):  # the store's own settings (store/sqlite.py)
        conn.execute(f"PRAGMA {pragma}")
    doc_sql = (f"INSERT INTO documents ({', '.join(_DOC_COLUMNS)}) VALUES "
               f"({', '.join('?' * len(_DOC_COLUMNS))}) ON CONFLICT DO NOTHING")
    sight_sql = (f"INSERT INTO sightings ({', '.join(_SIGHT_COLUMNS)}) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT DO NOTHING")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def published(value: str) -> str:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S.%f")

    started = time.perf_counter()
    for docs, sights in _rows(corpus, batch_size, stamp, published):
        conn.execute("BEGIN")
        conn.executemany(doc_sql, docs)
        conn.executemany(sight_sql, sights)
        conn.execute("COMMIT")
    secs = time.perf_counter() - started
    count = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    conn.close()
    return secs, int(count)


def pg_schema_baseline(url: str, corpus: Path, batch_size: int, work: Path
                       ) -> tuple[float, int]:
    """Seconds and documents for ``COPY`` into a migrated store's tables (the generated
    ``tsv`` and the GIN index fill as they do for allsource's own inserts)."""
    import psycopg

    migrate(url, work)
    stamp = datetime.now(UTC)
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor() as cur:
            for docs, sights in _rows(corpus, batch_size, stamp, datetime.fromisoformat):
                with cur.copy(f"COPY documents ({', '.join(_DOC_COLUMNS)}) FROM STDIN") as copy:
                    for row in docs:
                        copy.write_row(row)
                with cur.copy(f"COPY sightings ({', '.join(_SIGHT_COLUMNS)}) "
                              "FROM STDIN") as copy:
                    for row in sights:
                        copy.write_row(row)
                conn.commit()
        secs = time.perf_counter() - started
        count = conn.execute("SELECT count(*) FROM documents").fetchone()
    return secs, int(count[0] if count else 0)
