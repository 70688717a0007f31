"""Fixtures shared by the store's tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from allsource.config import Settings
from tests.pgserver import PgServer


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Settings]:
    """Settings for an empty store on each backend (the store is opened by the test)."""
    if request.param == "sqlite":
        yield settings
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = "t_" + uuid.uuid4().hex[:12]
    yield settings.model_copy(update={"database_url": server.create_database(name)})
    server.drop_database(name)
