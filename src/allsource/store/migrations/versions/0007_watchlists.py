"""Watchlists (priority intelligence requirements), their terms, and the hits recorded as
documents are processed (see :mod:`allsource.assess.watchlists`).

A watchlist carries a marking (what it watches can itself be sensitive). A hit is unique per
(term, document), so reprocessing a document records nothing twice.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _marking() -> list[sa.Column[object]]:
    return [
        sa.Column("tlp", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("classification", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("compartments", sa.Text, nullable=False, server_default=""),
        sa.Column("releasability", sa.Text, nullable=False, server_default=""),
    ]


def upgrade() -> None:
    op.create_table(
        "watchlists",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("severity", sa.SmallInteger, nullable=False),
        sa.Column("owner", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        *_marking(),
    )
    op.create_table(
        "watchlist_terms",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("watchlist_id", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("display", sa.Text, nullable=False),
        sa.Column("value_type", sa.String(40), nullable=False, server_default=""),
        sa.Column("radius_km", sa.Float),
        sa.Column("latitude", sa.Float),
        sa.Column("longitude", sa.Float),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("watchlist_id", "kind", "value", name="uq_watchlist_terms_value"),
    )
    op.create_index("ix_watchlist_terms_watchlist_id", "watchlist_terms", ["watchlist_id"])
    op.create_table(
        "watchlist_hits",
        sa.Column("term_id", sa.Integer, primary_key=True),
        sa.Column("document_id", sa.String(80), primary_key=True),
        sa.Column("watchlist_id", sa.String(80), nullable=False),
        sa.Column("matched", sa.Text, nullable=False),
        sa.Column("span_start", sa.Integer),
        sa.Column("span_end", sa.Integer),
        sa.Column("evidence", sa.String(160), nullable=False, server_default=""),
        sa.Column("occurrences", sa.Integer, nullable=False, server_default="1"),
        sa.Column("via", sa.String(20), nullable=False, server_default="process"),
        sa.Column("created_at", sa.DateTime, nullable=False),
        *_marking(),
    )
    for column in ("watchlist_id", "document_id", "created_at"):
        op.create_index(f"ix_watchlist_hits_{column}", "watchlist_hits", [column])


def downgrade() -> None:
    for table in ("watchlist_hits", "watchlist_terms", "watchlists"):
        op.drop_table(table)
