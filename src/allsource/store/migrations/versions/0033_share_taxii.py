"""What the TAXII 2.1 server and partner sync need of the schema (wt-taxii).

Revision ID: 0033
Revises: 0032
"""

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
