"""Where each object version came from, for server-side echo exclusion (wt-echo).

Revision ID: 0044
Revises: 0043

``object_versions.origin``: the id of the source whose collector run wrote the version, or of
the user whose TAXII POST did (:mod:`allsource.share.taxii.origin`). Versions stored before
this revision keep NULL ("not known"): they are served to everyone as before, so a partner may
still see one manifest record for an old echo. Nullable, no default and no index (the page
filters on it during its ``seq`` range scan), so adding it rewrites no row.
"""

import sqlalchemy as sa
from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("object_versions", sa.Column("origin", sa.String(80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("object_versions") as batch:
        batch.drop_column("origin")
