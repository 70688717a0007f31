"""Initial schema: sources, checkpoints, documents (+ full text), sightings, objects,
relationships, mentions, quarantine, runs.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _marking() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("tlp", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("classification", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("compartments", sa.Text, nullable=False, server_default=""),
        sa.Column("releasability", sa.Text, nullable=False, server_default=""),
    ]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "sources",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("schedule_seconds", sa.Integer, nullable=False),
        sa.Column("allow_private", sa.Boolean, nullable=False),
        sa.Column("config", JSONType, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_collected_at", sa.DateTime),
        sa.Column("last_status", sa.Text),
        *_marking(),
    )
    op.create_table(
        "checkpoints",
        sa.Column("source_id", sa.String(80), primary_key=True),
        sa.Column("state", JSONType, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "documents",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("id", sa.String(80), nullable=False, unique=True),
        sa.Column("source_id", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("language", sa.String(16)),
        sa.Column("media_type", sa.String(120)),
        sa.Column("published_at", sa.DateTime),
        sa.Column("collected_at", sa.DateTime, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("blob_sha256", sa.String(64)),
        sa.Column("blob_ref", sa.Text),
        sa.Column("labels", JSONType, nullable=False),
        sa.Column("meta", JSONType, nullable=False),
        *_marking(),
    )
    op.create_index("ix_documents_source_id", "documents", ["source_id"])
    op.create_index("ix_documents_kind", "documents", ["kind"])
    op.create_index("ix_documents_published_at", "documents", ["published_at"])
    op.create_table(
        "sightings",
        sa.Column("document_id", sa.String(80), primary_key=True),
        sa.Column("source_id", sa.String(80), primary_key=True),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("url", sa.Text),
    )
    op.create_index("ix_sightings_source_id", "sightings", ["source_id"])
    op.create_table(
        "objects",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("stix", JSONType, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        *_marking(),
    )
    op.create_index("ix_objects_type", "objects", ["type"])
    op.create_table(
        "relationships",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("relationship_type", sa.String(80), nullable=False),
        sa.Column("source_ref", sa.String(120), nullable=False),
        sa.Column("target_ref", sa.String(120), nullable=False),
        sa.Column("stix", JSONType, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        *_marking(),
    )
    op.create_index("ix_relationships_source_ref", "relationships", ["source_ref"])
    op.create_index("ix_relationships_target_ref", "relationships", ["target_ref"])
    op.create_table(
        "mentions",
        sa.Column("object_id", sa.String(120), primary_key=True),
        sa.Column("document_id", sa.String(80), primary_key=True),
        sa.Column("extractor", sa.String(80), primary_key=True),
        sa.Column("span_start", sa.Integer, primary_key=True),
        sa.Column("span_end", sa.Integer, nullable=False),
    )
    op.create_index("ix_mentions_document_id", "mentions", ["document_id"])
    op.create_table(
        "quarantine",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("source_id", sa.String(80)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("item_ref", sa.Text, nullable=False),
        sa.Column("blob_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
    )
    op.create_index("ix_quarantine_source_id", "quarantine", ["source_id"])
    op.create_table(
        "runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("plugin", sa.String(80), nullable=False),
        sa.Column("source_id", sa.String(80)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("counts", JSONType, nullable=False),
        sa.Column("errors", JSONType, nullable=False),
    )
    op.create_index("ix_runs_source_id", "runs", ["source_id"])

    if dialect == "sqlite":
        # External-content FTS5 over documents(title, text), kept in sync by triggers.
        op.execute(
            "CREATE VIRTUAL TABLE documents_fts USING fts5(title, text, content='documents', "
            "content_rowid='seq', tokenize='porter unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER documents_ai AFTER INSERT ON documents BEGIN "
            "INSERT INTO documents_fts(rowid, title, text) VALUES (new.seq, new.title, new.text); "
            "END"
        )
        op.execute(
            "CREATE TRIGGER documents_ad AFTER DELETE ON documents BEGIN "
            "INSERT INTO documents_fts(documents_fts, rowid, title, text) "
            "VALUES ('delete', old.seq, old.title, old.text); END"
        )
        op.execute(
            "CREATE TRIGGER documents_au AFTER UPDATE OF title, text ON documents BEGIN "
            "INSERT INTO documents_fts(documents_fts, rowid, title, text) "
            "VALUES ('delete', old.seq, old.title, old.text); "
            "INSERT INTO documents_fts(rowid, title, text) VALUES (new.seq, new.title, new.text); "
            "END"
        )
    elif dialect == "postgresql":
        op.execute(
            "ALTER TABLE documents ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
            "setweight(to_tsvector('english', coalesce(left(text, 500000), '')), 'B')) STORED"
        )
        op.execute("CREATE INDEX ix_documents_tsv ON documents USING gin (tsv)")


def downgrade() -> None:
    for table in ("runs", "quarantine", "mentions", "relationships", "objects", "sightings"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS documents_fts")
    op.drop_table("documents")
    op.drop_table("checkpoints")
    op.drop_table("sources")
