"""Shared fixtures. The ``store`` fixture runs each test against both backends: SQLite in a
temporary file, and a fresh database on a real PostgreSQL server started on loopback for the
session (see ``tests/pgserver.py``). Without PostgreSQL binaries the postgres half is skipped,
unless ``ALLSOURCE_REQUIRE_POSTGRES=1`` (set by ``make test`` and CI), where it fails."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from allsource.collect.base import CollectContext
from allsource.config import Settings, load_settings
from allsource.store import open_store
from allsource.store.blobs import BlobStore
from allsource.store.sql import SqlStore
from tests.pgserver import PgServer, start_server

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def child_env(db: Path, blobs: Path, **extra: str) -> dict[str, str]:
    """The environment of an ``allsource`` child process: this one's, without its
    ``ALLSOURCE_`` settings (the cache folder kept), with its own store, and with the
    ``allsource`` package this test process imported first on ``PYTHONPATH`` (absolute), so
    the child runs the same code even from another working directory."""
    import allsource

    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ALLSOURCE_") or k == "ALLSOURCE_CACHE_DIR"}
    src = Path(allsource.__file__).resolve().parent.parent
    paths = [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([str(src), *paths]))
    env.update({"ALLSOURCE_DATABASE_URL": f"sqlite:///{db}", "ALLSOURCE_BLOB_DIR": str(blobs),
                **extra})
    return env


def _samples() -> Path | None:
    env = os.environ.get("ALLSOURCE_SAMPLES")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Derived caches (the entity gazetteer) go to a session folder, not the user's home."""
    old = os.environ.get("ALLSOURCE_CACHE_DIR")
    os.environ["ALLSOURCE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("ALLSOURCE_CACHE_DIR", None)
    else:
        os.environ["ALLSOURCE_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def samples() -> Path:
    """The shared real-sample folder (``ALLSOURCE_SAMPLES`` or ../shared/data)."""
    path = _samples()
    if path is None:
        pytest.skip("shared samples not found: set ALLSOURCE_SAMPLES to the shared/data folder")
    return path


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        server = start_server()
    except Exception as exc:  # surface why the server did not start
        if os.environ.get("ALLSOURCE_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"PostgreSQL could not start: {exc}")
    if server is None:
        if os.environ.get("ALLSOURCE_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL binaries not found (run scripts/ensure-postgres.sh)")
        pytest.skip("PostgreSQL binaries not found; install Debian's postgresql")
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(database_url=f"sqlite:///{tmp_path / 'test.db'}",
                         blob_dir=tmp_path / "blobs", batch_size=50, samples_dir=_samples(),
                         audit_key_file=tmp_path / "audit.key")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, settings: Settings) -> Iterator[SqlStore]:
    """A migrated, empty store on each backend."""
    if request.param == "sqlite":
        s = open_store(settings)
        yield s
        s.close()
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = "t_" + uuid.uuid4().hex[:12]
    url = server.create_database(name)
    pg_settings = settings.model_copy(update={"database_url": url})
    s = open_store(pg_settings)
    yield s
    s.close()
    server.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sealed_store(request: pytest.FixtureRequest, settings: Settings) -> Iterator[SqlStore]:
    """A migrated, empty, encrypted store on each backend (a random key in its settings)."""
    keyed = settings.model_copy(update={
        "encryption_key": SecretStr(base64.b64encode(os.urandom(32)).decode())})
    if request.param == "sqlite":
        s = open_store(keyed)
        yield s
        s.close()
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = "t_" + uuid.uuid4().hex[:12]
    s = open_store(keyed.model_copy(update={"database_url": server.create_database(name)}))
    yield s
    s.close()
    server.drop_database(name)


@pytest.fixture
def ctx(settings: Settings) -> CollectContext:
    return CollectContext(settings=settings, blobs=BlobStore(settings.blob_dir))
