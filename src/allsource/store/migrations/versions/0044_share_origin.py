"""Where each object version came from, for server-side echo exclusion (wt-echo).

Revision ID: 0044
Revises: 0043
"""

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
