"""Migration 0024 on a store holding watchlists (both backends): the store-wide unique name
becomes a plain index, existing watchlists and their terms stay, and going back restores the
constraint."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from allsource.assess import watchlists as wl
from allsource.model.markings import TLP, Audience, Marking
from allsource.store import schema as t
from allsource.store.sql import SqlStore
from tests.store.migrating import alembic


def _copy(store: SqlStore, of: wl.Watchlist) -> None:
    with store.engine.begin() as conn:
        conn.execute(t.watchlists.insert().values(
            id=of.id + "-2", name=of.name, severity=2, owner="x", description="",
            enabled=True, created_at=of.created_at.replace(tzinfo=None),
            **Marking(tlp=TLP.RED).to_columns()))


def test_names_stop_being_unique_store_wide(store: SqlStore) -> None:
    first, _ = wl.save_watchlist(store, "grid", creator=Audience.owner())
    wl.add_terms(store, first, [wl.keyword_spec("wiper")])
    alembic(store, "downgrade", "0023")
    with pytest.raises(sa.exc.IntegrityError):
        _copy(store, first)
    alembic(store, "upgrade", "head")

    kept = wl.get_watchlist(store, first.id)
    assert kept is not None and [x.value for x in kept.terms] == ["wiper"]
    _copy(store, first)  # a second "grid" is allowed now
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.watchlists)
                            ).scalar_one() == 2
