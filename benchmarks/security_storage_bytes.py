"""Bytes an encrypted store writes per document, against a plain store: the BBC corpus of
:mod:`security_overhead` through ``write_batch`` in batches of 500, then SQLite's
``page_count × page_size`` after a truncating checkpoint, or PostgreSQL's
``pg_total_relation_size('documents')``, and the stored bytes of the title, text and blind
index columns. Counting, so the figure does not move with the machine's load.

    python benchmarks/security_storage_bytes.py on|off [POSTGRES_URL]

Run it with ``PYTHONPATH`` naming the checkout to measure (e.g. main's ``src`` against a
branch's); it prints one JSON line (``cpu_ms_doc`` is this process's CPU for the writes).
"""

from __future__ import annotations

import base64
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from encryption_overhead import corpus, documents
from pydantic import SecretStr

import allsource
from allsource.config import load_settings
from allsource.model.records import Collected, Source
from allsource.store import open_store

_ROW = ("sum(length(CAST(title AS BLOB)) + length(CAST(text AS BLOB)) + "
        "coalesce(length(index_title), 0) + coalesce(length(index_text), 0))")
_PG_ROW = ("sum(pg_column_size(title) + pg_column_size(text) + "
           "coalesce(pg_column_size(index_title), 0) + coalesce(pg_column_size(index_text), 0))")


def main() -> None:
    mode, url = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
    docs = documents(corpus())
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        key = SecretStr(base64.b64encode(os.urandom(32)).decode()) if mode == "on" else None
        store = open_store(load_settings(database_url=url or f"sqlite:///{tmp / 'x.db'}",
                                         blob_dir=tmp / "b", encryption_key=key))
        src = Source(name="bbc", kind="files", location="/bench")
        store.add_source(src)
        gc.collect()
        cpu = time.process_time()
        for i in range(0, len(docs), 500):
            store.write_batch(src, [Collected(d) for d, _ in docs[i:i + 500]], [], None)
        cpu = time.process_time() - cpu
        with store.engine.connect() as conn:
            if store.dialect_name == "sqlite":
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                size = (conn.exec_driver_sql("PRAGMA page_count").scalar_one()
                        * conn.exec_driver_sql("PRAGMA page_size").scalar_one())
                row = conn.exec_driver_sql(f"SELECT {_ROW} FROM documents").scalar_one()
            else:
                size = conn.exec_driver_sql(
                    "SELECT pg_total_relation_size('documents')").scalar_one()
                row = conn.exec_driver_sql(f"SELECT {_PG_ROW} FROM documents").scalar_one()
        store.close()
    n = len(docs)
    print(json.dumps({"code": allsource.__file__, "mode": mode,
                      "cpu_ms_doc": round(1000 * cpu / n, 3), "bytes_doc": round(size / n),
                      "row_bytes_doc": round(row / n)}))


if __name__ == "__main__":
    main()
