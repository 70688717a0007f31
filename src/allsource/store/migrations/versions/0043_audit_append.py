"""What the cheaper audit append needs of the schema; if needed (wt-audit).

Revision ID: 0043
Revises: 0042
"""

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
