"""What one audit append costs on PostgreSQL, counted: statements, round trips, driver waits
and CPU (this process and the server) per event, the two ways in one process and one run.

* An audited read's event (a search, a document read) is appended by one statement in
  autocommit (``store/audit.append_at_once``): either on a connection checked out of the pool
  per group (``hold=False``: the way before the held connection, with the pool's liveness
  ping) or on the engine's held autocommit connection (``api/audit_commit._HeldConnection``).
  Rounds alternate between the two.
* A write transaction's event (the commit hook; one per committed ingest batch) costs three
  statements (bump, insert, head update) or, once the engine knows the head, one.

    python benchmarks/audit_append.py [--events 1000] [--rounds 6]

Needs the Debian ``postgresql`` binaries (``tests/pgserver.py``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for extra in (REPO, REPO / "benchmarks"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import sqlalchemy.engine.default as sa_default  # noqa: E402
from security_overhead import Clock  # noqa: E402

from allsource.api import audit_commit  # noqa: E402
from allsource.config import load_settings  # noqa: E402
from allsource.store import audit, audit_scope, open_store  # noqa: E402
from allsource.store import schema as t  # noqa: E402
from allsource.store.audit import AuditEvent  # noqa: E402
from allsource.store.audit_verify import verify  # noqa: E402

counts = {"waits": 0, "pings": 0, "statements": 0}
_wait = psycopg.Connection.wait
_ping = sa_default.DefaultDialect._do_ping_w_event


def _counted_wait(self: Any, *args: Any, **kw: Any) -> Any:
    counts["waits"] += 1
    return _wait(self, *args, **kw)


def _counted_ping(self: Any, conn: Any) -> Any:
    counts["pings"] += 1
    return _ping(self, conn)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=6)
    args = ap.parse_args()
    from tests.pgserver import start_server

    server = start_server()
    if server is None:
        raise SystemExit("PostgreSQL binaries not found")
    psycopg.Connection.wait = _counted_wait  # type: ignore[method-assign]
    sa_default.DefaultDialect._do_ping_w_event = _counted_ping  # type: ignore[method-assign]
    print(f"load average {Path('/proc/loadavg').read_text().strip()}")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
            store = open_store(load_settings(
                database_url=server.create_database("audit_append"),
                blob_dir=Path(tmp) / "b", audit_key_file=Path(tmp) / "audit.key"))

            def statement(*_: object) -> None:
                counts["statements"] += 1

            sa.event.listen(store.engine, "before_cursor_execute", statement)
            reads(store, args.events, args.rounds, server)
            writes(store)
            with store.engine.connect() as conn:
                report = verify(conn)
            print(f"chain verifies: {report.ok} ({report.head.seq} events)")
            store.close()
    finally:
        server.stop()
    print(f"load average {Path('/proc/loadavg').read_text().strip()}")


def reads(store: Any, n: int, rounds: int, server: Any) -> None:
    event = AuditEvent(actor="reader-bench", action="search", target="q:0123456789abcdef",
                       count=12, tlp=2, detail={"route": "GET /api/v1/search",
                                                "query_sha256": "ab" * 32})
    ways = {"pool per group": False, "held connection": True}
    for _ in range(30):
        for hold in ways.values():
            audit_commit.write_events(store, [event], hold=hold)
    got: dict[str, list[tuple[float, ...]]] = {name: [] for name in ways}
    for r in range(rounds):
        for name, hold in (list(ways.items()) if r % 2 == 0 else list(ways.items())[::-1]):
            for k in counts:
                counts[k] = 0
            clock = Clock(server)
            for _ in range(n):
                audit_commit.write_events(store, [event], hold=hold)
            wall, cpu, db = clock.read()
            got[name].append((1000 * wall / n, 1000 * cpu / n, 1000 * db / n,
                              counts["statements"] / n, counts["waits"] / n,
                              (counts["statements"] + counts["pings"]) / n))
    print(f"audited read's append, {rounds} alternating rounds of {n}; median per event")
    print(f"  {'':18} {'wall ms':>8} {'CPU ms':>7} {'db CPU ms':>9} {'stmts':>6} "
          f"{'waits':>6} {'round trips':>11}")
    for name, rows in got.items():
        m = [statistics.median(c) for c in zip(*rows, strict=True)]
        print(f"  {name:18} {m[0]:8.3f} {m[1]:7.3f} {m[2]:9.3f} {m[3]:6.2f} {m[4]:6.2f} "
              f"{m[5]:11.2f}")


def writes(store: Any, n: int = 200) -> None:
    """Commit-hook appends: each transaction writes a row and commits inside a scope."""
    audit_scope.attach(store.engine, None)
    known = audit.append_at_once
    for label, at_once in (("head bump (three statements)", False),
                           ("one statement once the head is known", True)):
        if not at_once:
            audit.append_at_once = lambda *_a, **_k: None  # type: ignore[assignment]
        counts["statements"] = 0
        for i in range(n):
            with audit_scope.scope("bench", "write", "ingest"), store.engine.begin() as conn:
                conn.execute(t.audit_checkpoints.select().where(sa.false()))
                conn.info["audit_rows"] = 1 + i % 2  # as if the batch changed rows
        audit.append_at_once = known  # type: ignore[assignment]
        print(f"commit-hook append, {label}: {counts['statements'] / n - 1:.2f} audit "
              "statements per committed transaction")


if __name__ == "__main__":
    main()
