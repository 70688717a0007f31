"""Ingest by CPU time, interleaved: allsource's ``run_source`` (files collector →
``write_batch`` → FTS5) against the two raw ``sqlite3`` baselines of ``ingest.py`` — the
minimal table with its FTS5 trigger, and allsource's own migrated schema written raw
(``schema_baseline.py``) — round after round in one process, so a loaded machine's changing
load hits all three alike. CPU = this process's user + system time (SQLite runs in it);
store creation and migrations are not counted.

Run: ``python benchmarks/ingest_cpu.py CORPUS.jsonl --docs 20000 --rounds 3`` (a corpus
written by ``ingest.py --corpus``; its first ``--docs`` lines are used).
"""

from __future__ import annotations

import argparse
import itertools
import resource
import shutil
import statistics
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest as ib
import schema_baseline as sb


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ingest-cpu-"))
    corpus = work / "corpus.jsonl"
    with args.corpus.open("rb") as src, corpus.open("wb") as out:
        out.writelines(itertools.islice(src, args.docs))
    setup = [0.0]

    def untimed(mod: Any, name: str) -> None:
        fn = getattr(mod, name)

        def wrapped(*a: Any, **k: Any) -> Any:
            c0 = _cpu()
            try:
                return fn(*a, **k)
            finally:
                setup[0] += _cpu() - c0
        setattr(mod, name, wrapped)

    untimed(sb, "migrate")
    untimed(ib, "open_store")
    cls = ib.files_collector()
    res: dict[str, list[float]] = {"allsource": [], "raw minimal": [], "raw same schema": []}
    for rnd in range(args.rounds):
        for name, runs in res.items():
            setup[0] = 0.0
            c0 = _cpu()
            if name == "allsource":
                _, store = ib.allsource_ingest("sqlite", f"sqlite:///{work}/a-{uuid.uuid4().hex}.db",
                                               corpus, args.docs, args.batch_size, work, cls,
                                               None)
                store.close()
            elif name == "raw minimal":
                _, conn = ib.sqlite_baseline(corpus, args.docs, args.batch_size, work)
                conn.close()
            else:
                sb.sqlite_schema_baseline(f"sqlite:///{work}/s-{uuid.uuid4().hex}.db", corpus,
                                          args.batch_size, work)
            runs.append(_cpu() - c0 - setup[0])
            load = Path("/proc/loadavg").read_text().split()[:3]
            print(f"round {rnd + 1} {name}: {runs[-1]:.2f} CPU s (load {' '.join(load)})",
                  flush=True)
    mine = statistics.median(res["allsource"])
    for name, runs in res.items():
        med = statistics.median(runs)
        print(f"{name}: median {med:.2f} CPU s, {args.docs / med:,.0f} docs per CPU s, "
              f"allsource rate ÷ this {med / mine:.2f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
