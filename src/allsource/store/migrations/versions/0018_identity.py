"""Identity: passwords, persisted web sessions, login throttling, token scopes.

- ``user_credentials``: one argon2id hash per user with a password (users may have tokens
  only); kept apart from ``users`` so that reading a user never reads a hash.
- ``web_sessions``: workspace sessions by the SHA-256 of their cookie value (the value itself
  is never stored), so they survive a restart of ``allsource serve``.
- ``login_throttle``: failed-login counters and lockouts per account and per client address.
- ``api_tokens.scopes``: what a token may do (``read``, ``write``, ``admin``); tokens made
  before this migration keep all three, so nothing that worked stops working.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_credentials",
        sa.Column("user_id", sa.String(80), primary_key=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(80), nullable=False),
        sa.Column("token_id", sa.String(40)),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("address", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("last_seen_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failure_at", sa.DateTime, nullable=False),
        sa.Column("locked_until", sa.DateTime),
    )
    op.create_index("ix_login_throttle_last_failure_at", "login_throttle",
                    ["last_failure_at"])
    op.add_column("api_tokens", sa.Column("scopes", sa.String(40), nullable=False,
                                          server_default="read,write,admin"))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("scopes")
    op.drop_table("login_throttle")
    op.drop_table("web_sessions")
    op.drop_table("user_credentials")
