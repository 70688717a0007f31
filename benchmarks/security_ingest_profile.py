"""Where the ingest of :mod:`security_overhead` spends its CPU, *off* against *on*: one
configuration per process (as the benchmark runs them), under ``cProfile``, with each
function's own time put in a bucket (blind index, sealing, the database driver's statements,
blob files, audit, the rest) and printed as ms per document.

    python benchmarks/security_ingest_profile.py [--postgres] [--rounds 2]

On SQLite the engine runs inside this process, so its work (B-tree, FTS5 tokenising and
merging) is the driver bucket; on PostgreSQL that bucket is the client side of the
statements and the server's CPU is printed beside it (from ``/proc``, as the benchmark reads
it).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
for extra in (REPO, REPO / "benchmarks"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from encryption_overhead import corpus, open_one  # noqa: E402
from security_overhead import ingest  # noqa: E402

from allsource.config import load_settings  # noqa: E402

BUCKETS = (  # first match of the profile's "file:function" wins
    ("blind index", ("store/blind.py",)),
    ("sealing", ("store/crypto.py", "store/sealed.py", "store/keys.py", "aead", "b2a_base64")),
    ("blob files", ("store/blobs.py", "posix.", "io.open", "built-in method io.", ".write'",
                    "rename", "mkdir")),
    ("audit", ("store/audit", "audit_scope")),
    ("driver statements", ("sqlite3.Cursor", "sqlite3.Connection", "execute", "psycopg")),
)


def bucket(where: str) -> str:
    for name, needles in BUCKETS:
        if any(n in where for n in needles):
            return name
    return "rest"


def measure(on: bool, tmp: Path, folder: Path, url: str | None, pg_data: Path | None
            ) -> dict[str, float]:
    server = SimpleNamespace(data_dir=pg_data) if pg_data is not None else None
    base = load_settings(database_url=f"sqlite:///{tmp / 'x.db'}", blob_dir=tmp / "b",
                         audit_key_file=tmp / "audit.key")
    store = open_one(base, on, tmp, url)
    prof = cProfile.Profile()
    try:
        prof.enable()
        _rate, _cpu, db = ingest(store, folder, base, on, server)
        prof.disable()
    finally:
        store.close()
    n = len(list(folder.iterdir()))
    out: dict[str, float] = {"server": db}
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    for (path, _line, func), (_cc, _nc, tottime, _ct, _callers) in stats.items():
        key = bucket(f"{path}:{func}")
        out[key] = out.get(key, 0.0) + 1000 * tottime / n
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--child", choices=("on", "off"), help=argparse.SUPPRESS)
    ap.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--pg-data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child == "on", args.tmp, args.folder, args.url,
                                 args.pg_data)))
        return
    server = None
    if args.postgres:
        from tests.pgserver import start_server

        server = start_server()
        if server is None:
            raise SystemExit("PostgreSQL binaries not found")
    got: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-secprof-") as tmpdir:
            tmp = Path(tmpdir)
            folder = tmp / "articles"
            folder.mkdir()
            for i, (_, data) in enumerate(corpus()):
                (folder / f"{i:05d}.txt").write_bytes(data)
            for r in range(args.rounds):
                for cfg in (("off", "on") if r % 2 == 0 else ("on", "off")):
                    cmd = [sys.executable, __file__, "--child", cfg, "--tmp", str(tmp),
                           "--folder", str(folder)]
                    if server is not None:
                        cmd += ["--url", server.create_database(f"p_{uuid.uuid4().hex[:8]}"),
                                "--pg-data", str(server.data_dir)]
                    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
                    got[cfg].append(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        if server is not None:
            server.stop()
    names = [b for b, _ in BUCKETS] + ["rest", "server"]
    print(f"{'ms/doc (profiled)':20}" + "".join(f"{n:>18}" for n in names) + f"{'total':>9}")
    for cfg, runs in got.items():
        for run in runs:
            total = sum(run.get(n, 0.0) for n in names)
            print(f"{cfg:20}" + "".join(f"{run.get(n, 0.0):18.3f}" for n in names)
                  + f"{total:9.3f}")


if __name__ == "__main__":
    main()
