"""Derived text that quotes documents is sealed on an encrypted store: watchlist hits' matched
words and evidence, alerts' titles and details, their hits, events' comments and delivery
payloads, risk scores' components, case evidence descriptions and the ``evidence-updated``
case events (see ``store/schema.py``, the columns marked 0025).

Sealed values are AES-GCM tokens in the same columns (``Text`` and JSON columns hold them as
they are), so the only change of schema is ``watchlist_hits.evidence``, widened from
``VARCHAR(160)`` to ``TEXT`` to hold a token: PostgreSQL alters the column in place, SQLite
(which does not enforce lengths, but keeps the declared type) rebuilds the table.

Rows written before this revision stay in plain text and keep reading as before; a migration
holds no key, so ``allsource keys encrypt-existing`` seals them (it covers these columns).

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("watchlist_hits", recreate="always") as batch:
            batch.alter_column("evidence", type_=sa.Text, existing_type=sa.String(160),
                               existing_nullable=False, existing_server_default="")
    else:
        op.alter_column("watchlist_hits", "evidence", type_=sa.Text,
                        existing_type=sa.String(160), existing_nullable=False)


def downgrade() -> None:
    # a sealed evidence does not fit 160 characters: going back drops it (the hit stays; a
    # cut token would not open, and would fail the reads of its hit)
    op.execute("UPDATE watchlist_hits SET evidence = '' WHERE length(evidence) > 160")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("watchlist_hits", recreate="always") as batch:
            batch.alter_column("evidence", type_=sa.String(160), existing_type=sa.Text,
                               existing_nullable=False, existing_server_default="")
    else:
        op.alter_column("watchlist_hits", "evidence", type_=sa.String(160),
                        existing_type=sa.Text, existing_nullable=False)
