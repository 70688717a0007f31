"""Per-user access: clearances, compartments, groups and TLP ceilings on users.

``users`` gains ``max_tlp`` and ``clearance`` (small ints, as the object marking columns) and
``all_access`` (reads everything, like the local owner); ``user_compartments`` and
``user_groups`` hold the compartments a user is read into and the groups (organisations,
communities) they belong to, one row each.

Existing users keep exactly what the fixed role map of ``api/deps.py`` gave them: admins read
everything; analysts up to TLP:AMBER+STRICT and TOP SECRET, without compartments or groups;
readers TLP:GREEN, UNCLASSIFIED; any other role TLP:CLEAR, UNCLASSIFIED.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# (role, max_tlp, clearance, all_access) — the retired role map, as numbers:
# TLP CLEAR=0 GREEN=1 AMBER=2 AMBER+STRICT=3 RED=4; UNCLASSIFIED=0 … TOP_SECRET=4
_OLD_ROLE_MAP = (("admin", 4, 4, True), ("analyst", 3, 4, False), ("reader", 1, 0, False))


def upgrade() -> None:
    op.add_column("users", sa.Column("max_tlp", sa.SmallInteger, nullable=False,
                                     server_default="0"))
    op.add_column("users", sa.Column("clearance", sa.SmallInteger, nullable=False,
                                     server_default="0"))
    op.add_column("users", sa.Column("all_access", sa.Boolean, nullable=False,
                                     server_default=sa.false()))
    users = sa.table("users", sa.column("role", sa.String), sa.column("max_tlp", sa.SmallInteger),
                     sa.column("clearance", sa.SmallInteger),
                     sa.column("all_access", sa.Boolean))
    for role, tlp, clearance, everything in _OLD_ROLE_MAP:
        op.execute(users.update().where(users.c.role == role).values(
            max_tlp=tlp, clearance=clearance, all_access=everything))
    for name in ("user_compartments", "user_groups"):
        op.create_table(
            name,
            sa.Column("user_id", sa.String(80), primary_key=True),
            sa.Column("name", sa.String(120), primary_key=True),
        )


def downgrade() -> None:
    op.drop_table("user_groups")
    op.drop_table("user_compartments")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("all_access")
        batch.drop_column("clearance")
        batch.drop_column("max_tlp")
