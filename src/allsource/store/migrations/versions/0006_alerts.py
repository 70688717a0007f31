"""Alerts, their audit trail and the delivery outbox (webhooks, e-mail).

``alerts`` holds one row per alert; at most one alert per ``scope`` (group key + story) is
not closed, enforced by a partial unique index. ``alert_hits`` records each hit merged into
an alert (idempotent per alert and document). ``alert_events`` is the audit trail (raised,
escalated, acknowledged, assigned, closed, reopened, noted); events that call for a
notification stay undispatched until the delivery worker fans them out into
``alert_deliveries``, the outbox of webhook and e-mail sends with their retry state.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _markings() -> list[sa.Column[object]]:
    return [
        sa.Column("tlp", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("classification", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("compartments", sa.Text, nullable=False, server_default=""),
        sa.Column("releasability", sa.Text, nullable=False, server_default=""),
    ]


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("severity", sa.SmallInteger, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("group_key", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("story_id", sa.String(80)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("assignee", sa.String(120)),
        sa.Column("documents", JSONType, nullable=False),
        sa.Column("occurrences", sa.Integer, nullable=False),
        sa.Column("details", JSONType, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("closed_at", sa.DateTime),
        *_markings(),
    )
    for column in ("scope", "status", "kind", "severity", "updated_at"):
        op.create_index(f"ix_alerts_{column}", "alerts", [column])
    active = sa.text("status <> 'closed'")
    op.create_index("ux_alerts_active_scope", "alerts", ["scope"], unique=True,
                    sqlite_where=active, postgresql_where=active)
    op.create_table(
        "alert_hits",
        sa.Column("alert_id", sa.String(120), primary_key=True),
        sa.Column("hit_key", sa.Text, primary_key=True),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("document_id", sa.String(80)),
        sa.Column("severity", sa.SmallInteger, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("details", JSONType, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_alert_hits_scope_key", "alert_hits", ["scope", "hit_key"])
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(120), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("severity", sa.SmallInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("assignee", sa.String(120)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("notify", sa.Boolean, nullable=False),
        sa.Column("dispatched_at", sa.DateTime),
    )
    op.create_index("ix_alert_events_alert_id", "alert_events", ["alert_id"])
    op.create_index("ix_alert_events_notify", "alert_events", ["notify", "dispatched_at"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("alert_id", sa.String(120), nullable=False),
        sa.Column("event_id", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
    )
    op.create_index("ix_alert_deliveries_alert_id", "alert_deliveries", ["alert_id"])
    op.create_index("ix_alert_deliveries_due", "alert_deliveries",
                    ["status", "next_attempt_at"])


def downgrade() -> None:
    for table in ("alert_deliveries", "alert_events", "alert_hits", "alerts"):
        op.drop_table(table)
