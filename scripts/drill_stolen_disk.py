"""Stolen-disk drill: can someone holding a copy of the store's files, without the key, read
protected documents?

The drill ingests TLP:RED documents that carry known phrases and distinctive made-up words
through the real CLI (``allsource ingest`` then ``allsource process``), with a watchlist whose
keywords match them (so hits, alerts, alert events and webhook deliveries quote them), then
grades and scores them (``verify``, ``risk score``), cites one in a case (its title becomes the
evidence's description) and delivers the alerts to a webhook on loopback; it copies what a
thief would take — the SQLite file with its ``-wal``/``-shm`` (or the PostgreSQL data
directory after a ``CHECKPOINT``) and the blob folder, never the key file — and searches every
copied byte for each phrase and word: as stored, case-folded, in UTF-16 (either byte order),
and inside every PostgreSQL ``pglz``-compressed datum it can find. It reports each find with
its file and offset, and names the ``table.column`` holding it (:func:`columns_holding`,
reading the copy — or, for PostgreSQL, the database — through SQL without the key).

``--plain`` runs the same drill on a store without a key: there the finds must be many, which
shows the search would see plain text if it were there (the test runs both).

    python scripts/drill_stolen_disk.py                       # SQLite, encrypted
    python scripts/drill_stolen_disk.py --plain               # SQLite, control run
    python scripts/drill_stolen_disk.py --database-url postgresql://… --pg-data-dir DIR

Exit status 0 when the encrypted drill finds nothing (or the control run finds something).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

#: distinctive words: made up, so they can only come from the drill's documents
WORDS = ["quillfeather", "zorvathine", "bramblecourt", "ostravenko", "kelpmarrow",
         "duskwhistle", "thornvale", "marrowgate"]
PHRASES = [
    "the courier crossed at bramblecourt before dawn",
    "ostravenko wired the second payment through kelpmarrow holdings",
    "duskwhistle will stand down the relay on friday",
    "minister thornvale met the quillfeather contact in the old harbour",
]
#: what the drill's watchlist watches: plain words of the documents, none of the needles (a
#: watchlist's own terms are the analyst's, stored in clear)
KEYWORDS = ["field report", "shipping agents"]


def _copy_if_there(src: str, dst: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.copy2(src, dst)


def documents() -> dict[str, str]:
    """File name → content of the protected documents (one long enough to be compressed)."""
    docs = {}
    for i, phrase in enumerate(PHRASES):
        word = WORDS[i % len(WORDS)]
        other = WORDS[(i + 4) % len(WORDS)]
        docs[f"report-{i}.txt"] = (
            f"{word.capitalize()} field report {i}\n\n"
            f"Sources say {phrase}. The {other} file was reopened after the meeting, and "
            f"analysts linked the {word} network to two shipping agents. "
            f"The report names APT28 as its sponsor. "
            f"{phrase.capitalize()}, according to a second account.\n")
    filler = " ".join(f"The {w} channel stayed active through the week." for w in WORDS)
    docs["long-report.txt"] = ("Marrowgate long report\n\n"
                               + " ".join([filler, *PHRASES] * 12) + "\n")
    return docs


@dataclass
class Finds:
    hits: list[tuple[str, str, int, str]] = field(default_factory=list)
    derived: dict[str, int] = field(default_factory=dict)
    columns: dict[str, set[str]] = field(default_factory=dict)
    webhook_payloads: list[dict[str, object]] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    compressed_datums: int = 0

    def add(self, needle: str, path: str, offset: int, how: str) -> None:
        self.hits.append((needle, path, offset, how))


def _needles() -> list[str]:
    return [*PHRASES, *WORDS]


def pglz_decompress(src: bytes, rawsize: int) -> bytes | None:
    """PostgreSQL's pglz format; None when ``src`` is not a valid stream of ``rawsize``."""
    out = bytearray()
    i = 0
    n = len(src)
    while i < n and len(out) < rawsize:
        ctrl = src[i]
        i += 1
        for _ in range(8):
            if i >= n or len(out) >= rawsize:
                break
            if ctrl & 1:
                if i + 1 >= n:
                    return None
                length = (src[i] & 0x0F) + 3
                off = ((src[i] & 0xF0) << 4) | src[i + 1]
                i += 2
                if length == 18:
                    if i >= n:
                        return None
                    length += src[i]
                    i += 1
                if off == 0 or off > len(out):
                    return None
                for _ in range(length):
                    out.append(out[-off])
            else:
                out.append(src[i])
                i += 1
            ctrl >>= 1
    return bytes(out) if len(out) == rawsize else None


def _compressed_datums(data: bytes) -> list[bytes]:
    """Every inline compressed varlena (4-byte header, pglz) that decompresses cleanly."""
    out = []
    limit = len(data) - 8
    i = 0
    while i < limit:
        header = int.from_bytes(data[i:i + 4], "little")
        if header & 0x03 == 0x02:
            size = header >> 2
            info = int.from_bytes(data[i + 4:i + 8], "little")
            rawsize, method = info & 0x3FFFFFFF, info >> 30
            if method == 0 and 16 <= size <= len(data) - i and size < rawsize <= 64 * size:
                plain = pglz_decompress(data[i + 8:i + size], rawsize)
                if plain is not None:
                    out.append(plain)
        i += 4  # varlena with 4-byte headers are 4-byte aligned
    return out


def scan(root: Path, finds: Finds) -> None:
    needles = _needles()
    forms = [(n, n.encode(), "raw") for n in needles]
    forms += [(n, n.encode("utf-16-le"), "utf-16-le") for n in needles]
    forms += [(n, n.encode("utf-16-be"), "utf-16-be") for n in needles]
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        finds.files += 1
        finds.bytes += len(data)
        folded = data.lower()
        rel = str(path.relative_to(root))
        for needle, form, how in forms:
            for hay, label in ((data, how), (folded, how + ", case-folded")):
                at = hay.find(form)
                if at >= 0:
                    finds.add(needle, rel, at, label)
                    break
        for datum in _compressed_datums(data):
            finds.compressed_datums += 1
            low = datum.lower()
            for needle in needles:
                if needle.encode() in low:
                    finds.add(needle, rel, -1, "pglz datum")


def columns_holding(url: str) -> dict[str, set[str]]:
    """``table.column`` → the needles its stored values contain (case-folded), read from the
    database as SQL sees it, without the key: names where the byte scan's finds come from."""
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    found: dict[str, set[str]] = {}
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                for column in table.columns:
                    if isinstance(column.type, sa.LargeBinary):
                        continue
                    text = sa.func.lower(sa.cast(column, sa.Text))
                    for needle in _needles():
                        if conn.execute(sa.select(sa.literal(1)).select_from(table)
                                        .where(text.contains(needle, autoescape=True))
                                        .limit(1)).first():
                            found.setdefault(f"{table.name}.{column.name}", set()).add(needle)
    finally:
        engine.dispose()
    return found


def _cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "allsource", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    if proc.returncode not in (0, 1):  # 1: something quarantined, still a run
        raise RuntimeError(f"allsource {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, object]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """A webhook receiver on loopback: its URL and the payloads it received."""
    received: list[dict[str, object]] = []
    handler = type("Hook", (_Hook,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def _derived(env: dict[str, str], work: Path, hook_url: str) -> dict[str, int]:
    """Grade, score, alert, deliver and cite the documents: what quotes them beyond the
    documents table. Returns how many of each the store then held (the drill's own check
    that there was something to find)."""
    _cli(env, work, "verify")
    _cli(env, work, "risk", "score")
    hits = json.loads(_cli(env, work, "watchlist", "hits", "--json", "--limit", "500"))
    alerts = json.loads(_cli(env, work, "alerts", "list", "--json"))
    case = json.loads(_cli(env, work, "case", "new", "Drill case", "--tlp", "red", "--json"))
    doc_id = sorted(h["document_id"] for h in hits)[0]
    _cli(env, work, "case", "evidence", case["id"], "--document", doc_id)
    hook_env = {**env, "ALLSOURCE_ALERT_WEBHOOKS": json.dumps([hook_url]),
                "ALLSOURCE_ALERT_WEBHOOK_ALLOW_PRIVATE": "true",
                "ALLSOURCE_ALERT_MAX_TLP": "red"}
    _cli(hook_env, work, "alerts", "deliver")
    if alerts:
        _cli(env, work, "alerts", "ack", alerts[0]["id"])
    return {"watchlist_hits": len(hits), "alerts": len(alerts)}


def drill(work: Path, *, plain: bool = False, database_url: str | None = None,
          pg_data_dir: Path | None = None) -> Finds:
    """Ingest, process, copy without the key, scan the copy. ``work`` must be empty."""
    inbox = work / "inbox"
    inbox.mkdir(parents=True)
    for name, text in documents().items():
        (inbox / name).write_text(text)
    store_dir = work / "store"
    store_dir.mkdir()
    key_dir = work / "keys"  # kept apart from the store, as the README advises
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLSOURCE_")
           or k in ("ALLSOURCE_CACHE_DIR", "ALLSOURCE_SAMPLES")}
    env["ALLSOURCE_DATABASE_URL"] = database_url or f"sqlite:///{store_dir / 'allsource.db'}"
    env["ALLSOURCE_BLOB_DIR"] = str(store_dir / "blobs")
    if plain:
        _cli(env, work, "init", "--no-encryption")
    else:
        env["ALLSOURCE_ENCRYPTION_KEY_FILE"] = str(key_dir / "allsource.key")
        _cli(env, work, "init")
    _cli(env, work, "watchlist", "add", "Drill watch", *(
        arg for k in KEYWORDS for arg in ("--keyword", k)), "--severity", "high")
    _cli(env, work, "ingest", str(inbox), "--tlp", "red")
    _cli(env, work, "process")
    with webhook() as (hook_url, received):
        derived = _derived(env, work, hook_url)
    stolen = work / "stolen"
    if pg_data_dir is not None:
        import psycopg

        assert database_url is not None
        with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("CHECKPOINT")
        # the server is live (other tests share it): a cache or temporary file may vanish
        # between listing and copying, as it would for a thief copying a running disk
        shutil.copytree(pg_data_dir, stolen / "pgdata", copy_function=_copy_if_there,
                        ignore=shutil.ignore_patterns("postmaster.pid"))
    else:
        (stolen / "db").mkdir(parents=True)
        for p in store_dir.glob("allsource.db*"):
            shutil.copy2(p, stolen / "db" / p.name)
    shutil.copytree(store_dir / "blobs", stolen / "blobs")
    assert not any(p.name.endswith(".key") for p in stolen.rglob("*"))
    finds = Finds(derived=derived, webhook_payloads=list(received))
    scan(stolen, finds)
    if database_url is not None:
        finds.columns = columns_holding(database_url)
    else:
        finds.columns = columns_holding(f"sqlite:///{stolen / 'db' / 'allsource.db'}")
    return finds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plain", action="store_true", help="control run: no key")
    ap.add_argument("--database-url", help="a PostgreSQL database of a throwaway server")
    ap.add_argument("--pg-data-dir", type=Path, help="that server's data directory")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="drill-") as tmp:
        finds = drill(Path(tmp), plain=args.plain, database_url=args.database_url,
                      pg_data_dir=args.pg_data_dir)
    backend = "postgresql" if args.database_url else "sqlite"
    mode = "plain (control)" if args.plain else "encrypted"
    print(f"{backend}, {mode}: scanned {finds.files} files, {finds.bytes:,} bytes, "
          f"{finds.compressed_datums} pglz datums; {len(_needles())} needles; "
          f"{len(finds.hits)} finds")
    print(f"  derived rows: {finds.derived}; webhook payloads received: "
          f"{len(finds.webhook_payloads)}")
    print(f"  columns holding needles ({len(finds.columns)}): "
          + (", ".join(sorted(finds.columns)) or "none"))
    for needle, path, offset, how in finds.hits[:20]:
        print(f"  {needle!r} in {path} at {offset} ({how})")
    return 0 if bool(finds.hits) == args.plain else 1


if __name__ == "__main__":
    sys.exit(main())
