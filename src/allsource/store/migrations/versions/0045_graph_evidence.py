"""Empty: stored graph evidence markings were tried here and reverted (write cost; RESULTS).

Revision ID: 0045
Revises: 0044
"""

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
