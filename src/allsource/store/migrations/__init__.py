"""Alembic migrations for the allsource store (run programmatically by ``Store.migrate``)."""
