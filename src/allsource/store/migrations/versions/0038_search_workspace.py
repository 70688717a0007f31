"""What the search page needs of the schema; filled in only if needed (wt-search).

Revision ID: 0038
Revises: 0037
"""

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
