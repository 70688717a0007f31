"""What watchlist editing and charts need of the schema; filled in only if needed (wt-watch).

Revision ID: 0036
Revises: 0035
"""

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
