"""Alias statements: why a name resolves to an entity (the gazetteer's source and rule, or an
analyst's merge), and whether an analyst undid it — kept, never deleted, with who, when and
why (see :mod:`allsource.store.aliases`).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alias_statements",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("entity_id", sa.String(120), nullable=False),
        sa.Column("entity_name", sa.Text, nullable=False),
        sa.Column("entity_type", sa.String(40), nullable=False),
        sa.Column("alias", sa.Text, nullable=False),
        sa.Column("alias_key", sa.Text, nullable=False),
        sa.Column("member_id", sa.String(120), nullable=False, server_default=""),
        sa.Column("other_id", sa.String(120), nullable=False, server_default=""),
        sa.Column("basis", sa.String(80), nullable=False),
        sa.Column("provenance", sa.Text, nullable=False),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("undone_at", sa.DateTime),
        sa.Column("undone_by", sa.String(120)),
        sa.Column("undo_reason", sa.Text),
    )
    for column in ("entity_id", "alias_key", "status"):
        op.create_index(f"ix_alias_statements_{column}", "alias_statements", [column])


def downgrade() -> None:
    op.drop_table("alias_statements")
