"""Watchlist names are unique among the watchlists one reader may read, not store-wide.

A store-wide unique name made creating a watchlist an existence oracle: a reader who asked
for the name of a watchlist marked above their rights got "already exists" where a free name
succeeds. The unique constraint becomes a plain index; :mod:`allsource.assess.watchlists`
checks names against what the creator may read.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":  # unnamed inline constraint: rebuild the table
        with op.batch_alter_table("watchlists", recreate="always",
                                  naming_convention=_CONVENTION) as batch:
            batch.drop_constraint("uq_watchlists_name", type_="unique")
    else:
        for found in sa.inspect(bind).get_unique_constraints("watchlists"):
            if found["column_names"] == ["name"] and found["name"]:
                op.drop_constraint(found["name"], "watchlists", type_="unique")
    op.create_index("ix_watchlists_name", "watchlists", ["name"])


def downgrade() -> None:
    op.drop_index("ix_watchlists_name", table_name="watchlists")
    with op.batch_alter_table("watchlists") as batch:
        batch.create_unique_constraint("uq_watchlists_name", ["name"])
