"""What PostgreSQL search overhead needs of the schema; filled in only if needed (wt-sec).

Revision ID: 0037
Revises: 0036
"""

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
