"""What the security fixes need of the schema; filled in only if needed (wt-sec).

Revision ID: 0040
Revises: 0039
"""

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
