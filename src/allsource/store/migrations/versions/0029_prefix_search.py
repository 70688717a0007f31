"""What prefix queries need to meet the search latency target; filled in only if needed.

Revision ID: 0029
Revises: 0028
"""

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
