"""Object versions, the ingest sequence and TAXII status resources (wt-taxii; see
allsource.store.object_log).

Existing objects and relationships get their first version here, numbered oldest first
(``created_at``, then id), with a strictly increasing ``date_added`` that starts at their
``created_at``; the head row then holds the last number handed out.

Revision ID: 0033
Revises: 0032
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_TICK = timedelta(microseconds=1)
_BATCH = 2000
_MARKING = ("tlp", "classification", "compartments", "releasability")


def _marking_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("tlp", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("classification", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("compartments", sa.Text, nullable=False, server_default=""),
        sa.Column("releasability", sa.Text, nullable=False, server_default=""),
    ]


def _modified(value: object) -> str:
    """The same normalisation as ``object_log.normalize_modified`` (a migration keeps its own
    copy: it must not change when the module does)."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return ""
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _backfill(conn: sa.Connection, versions: sa.Table) -> tuple[int, datetime]:
    meta = sa.MetaData()
    objects = sa.Table("objects", meta, sa.Column("id", sa.String), sa.Column("type", sa.String),
                       sa.Column("name", sa.Text), sa.Column("stix", _JSON),
                       sa.Column("created_at", sa.DateTime),
                       *[sa.Column(c) for c in _MARKING])
    rels = sa.Table("relationships", meta, sa.Column("id", sa.String),
                    sa.Column("relationship_type", sa.String), sa.Column("stix", _JSON),
                    sa.Column("created_at", sa.DateTime), *[sa.Column(c) for c in _MARKING])
    seq, last = 0, datetime(1970, 1, 1)
    batch: list[dict[str, Any]] = []
    stmt = sa.union_all(
        sa.select(objects.c.id, objects.c.type, objects.c.name, objects.c.stix,
                  objects.c.created_at, *[objects.c[c] for c in _MARKING]),
        sa.select(rels.c.id, sa.literal("relationship").label("type"),
                  rels.c.relationship_type.label("name"), rels.c.stix, rels.c.created_at,
                  *[rels.c[c] for c in _MARKING])).subquery()
    rows = conn.execute(sa.select(stmt).order_by(stmt.c.created_at, stmt.c.id)
                        .execution_options(yield_per=_BATCH))
    for row in rows:
        stix = row.stix if isinstance(row.stix, dict) else {}
        seq += 1
        last = max(row.created_at or last, last + _TICK)
        spec = stix.get("spec_version")
        batch.append({"seq": seq, "id": row.id, "type": row.type or "relationship",
                      "name": row.name or "", "modified": _modified(stix.get("modified")),
                      "spec_version": spec if isinstance(spec, str) else "2.1",
                      "date_added": last, "is_current": True, "stix": stix,
                      **{c: row._mapping[c] for c in _MARKING}})
        if len(batch) >= _BATCH:
            op.get_bind().execute(versions.insert(), batch)
            batch = []
    if batch:
        op.get_bind().execute(versions.insert(), batch)
    return seq, last


def upgrade() -> None:
    versions = op.create_table(
        "object_versions",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(120), nullable=False),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("modified", sa.String(32), nullable=False, server_default=""),
        sa.Column("spec_version", sa.String(8), nullable=False, server_default="2.1"),
        sa.Column("date_added", sa.DateTime, nullable=False, unique=True),
        sa.Column("is_current", sa.Boolean, nullable=False),
        sa.Column("stix", _JSON, nullable=False),
        *_marking_columns(),
        sa.UniqueConstraint("id", "modified", name="uq_object_versions_id_modified"),
    )
    op.create_index("ix_object_versions_type_seq", "object_versions", ["type", "seq"])
    head = op.create_table(
        "object_log_head",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("date_added", sa.DateTime, nullable=False),
    )
    op.create_table(
        "taxii_status",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(80), nullable=False),
        sa.Column("collection", sa.String(80), nullable=False),
        sa.Column("request_timestamp", sa.DateTime, nullable=False),
        sa.Column("total_count", sa.Integer, nullable=False),
        sa.Column("success_count", sa.Integer, nullable=False),
        sa.Column("failure_count", sa.Integer, nullable=False),
        sa.Column("details", _JSON, nullable=False),
    )
    seq, last = _backfill(op.get_bind(), versions)
    op.get_bind().execute(head.insert(), [{"id": 1, "seq": seq, "date_added": last}])


def downgrade() -> None:
    op.drop_table("taxii_status")
    op.drop_table("object_log_head")
    op.drop_index("ix_object_versions_type_seq", "object_versions")
    op.drop_table("object_versions")
