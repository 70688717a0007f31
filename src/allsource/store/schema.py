"""Table definitions (SQLAlchemy Core), shared by the SQLite and PostgreSQL stores.

The tables are created and changed only by the Alembic migrations in ``migrations/``; this
module describes the *current* schema for queries. Full-text indexing is backend-specific and
lives in the migrations: an FTS5 external-content table kept in sync by triggers on SQLite, a
generated ``tsvector`` column with a GIN index on PostgreSQL.

Every object table carries the four marking columns (``tlp``, ``classification``,
``compartments``, ``releasability``); reads filter on them in one place (``SqlStore._readable``).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from allsource.store.sealed import Sealed, SealedJSON

metadata = sa.MetaData()

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


#: the names of the four marking columns every marked table carries (:func:`marking_columns`)
MARKING_NAMES = ("tlp", "classification", "compartments", "releasability")


def marking_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("tlp", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("classification", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("compartments", sa.Text, nullable=False, server_default=""),
        sa.Column("releasability", sa.Text, nullable=False, server_default=""),
    ]


sources = sa.Table(
    "sources", metadata,
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
    *marking_columns(),
)

checkpoints = sa.Table(
    "checkpoints", metadata,
    sa.Column("source_id", sa.String(80), primary_key=True),
    sa.Column("state", JSONType, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

documents = sa.Table(
    "documents", metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("id", sa.String(80), nullable=False, unique=True),
    sa.Column("source_id", sa.String(80), nullable=False, index=True),
    sa.Column("kind", sa.String(60), nullable=False, index=True),
    # sealed on an encrypted store (0020): see store/sealed.py
    sa.Column("title", Sealed("documents.title"), nullable=False),
    sa.Column("text", Sealed("documents.text"), nullable=False),
    sa.Column("url", sa.Text),
    sa.Column("language", sa.String(16)),
    sa.Column("media_type", sa.String(120)),
    sa.Column("published_at", sa.DateTime, index=True),
    sa.Column("collected_at", sa.DateTime, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("blob_sha256", sa.String(64)),
    sa.Column("blob_ref", sa.Text),
    sa.Column("labels", JSONType, nullable=False),
    sa.Column("meta", JSONType, nullable=False),
    *marking_columns(),
)

sightings = sa.Table(
    "sightings", metadata,
    sa.Column("document_id", sa.String(80), primary_key=True),
    sa.Column("source_id", sa.String(80), primary_key=True),
    sa.Column("first_seen", sa.DateTime, nullable=False),
    sa.Column("url", sa.Text),
)

objects = sa.Table(
    "objects", metadata,
    sa.Column("id", sa.String(120), primary_key=True),
    sa.Column("type", sa.String(60), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("stix", JSONType, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    *marking_columns(),
    # (0015) the entity this collected object denotes, when it is not canonical itself
    sa.Column("canonical_id", sa.String(120), index=True),
)

relationships = sa.Table(
    "relationships", metadata,
    sa.Column("id", sa.String(120), primary_key=True),
    sa.Column("relationship_type", sa.String(80), nullable=False),
    # indexed with the other ends (0026, below)
    sa.Column("source_ref", sa.String(120), nullable=False),
    sa.Column("target_ref", sa.String(120), nullable=False),
    sa.Column("stix", JSONType, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    *marking_columns(),
)

mentions = sa.Table(
    "mentions", metadata,
    sa.Column("object_id", sa.String(120), primary_key=True),
    sa.Column("document_id", sa.String(80), primary_key=True, index=True),
    sa.Column("extractor", sa.String(80), primary_key=True),
    sa.Column("span_start", sa.Integer, primary_key=True),
    sa.Column("span_end", sa.Integer, nullable=False),
    # (0015) the collected object this mention was recorded for, before it was linked to
    # its canonical entity (``object_id``); indexed where set (0035, below)
    sa.Column("via", sa.String(120)),
)

quarantine = sa.Table(
    "quarantine", metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("source_id", sa.String(80), index=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("item_ref", sa.Text, nullable=False),
    sa.Column("blob_sha256", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("plugin", sa.String(80), nullable=False),
    sa.Column("source_id", sa.String(80), index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("counts", JSONType, nullable=False),
    sa.Column("errors", JSONType, nullable=False),
)

stage_annotations = sa.Table(
    "annotations", metadata,
    sa.Column("document_id", sa.String(80), primary_key=True),
    sa.Column("stage", sa.String(60), primary_key=True),
    sa.Column("version", sa.String(40), nullable=False),
    # (0020) the claims stage's data quotes the document: sealed on an encrypted store
    sa.Column("data", SealedJSON("annotations.data", ("document_id", "stage"),
                                 when=("stage", ("claims",))), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

stories = sa.Table(
    "stories", metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("canonical_document_id", sa.String(80), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

story_members = sa.Table(
    "story_members", metadata,
    sa.Column("document_id", sa.String(80), primary_key=True),
    sa.Column("story_id", sa.String(80), nullable=False, index=True),
    sa.Column("similarity", sa.Float, nullable=False),
    sa.Column("matched_id", sa.String(80)),
    sa.Column("added_at", sa.DateTime, nullable=False),
)

lsh_bands = sa.Table(
    "lsh_bands", metadata,
    sa.Column("band", sa.SmallInteger, primary_key=True),
    sa.Column("bucket", sa.LargeBinary, primary_key=True),
    sa.Column("document_id", sa.String(80), primary_key=True, index=True),  # (0011)
    # (0035) on SQLite the primary key is the table: one B-tree per band row written
    sqlite_with_rowid=False,
)

minhash_signatures = sa.Table(
    "minhash_signatures", metadata,
    sa.Column("document_id", sa.String(80), primary_key=True),
    sa.Column("signature", sa.LargeBinary, nullable=False),
)

topic_labels = sa.Table(
    "topic_labels", metadata,
    sa.Column("document_id", sa.String(80), primary_key=True),
    sa.Column("topic", sa.String(60), primary_key=True),
    sa.Column("positive", sa.Boolean, nullable=False),
    sa.Column("analyst", sa.String(120), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

topic_models = sa.Table(
    "topic_models", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(40), nullable=False),
    sa.Column("model", JSONType, nullable=False),
    sa.Column("metrics", JSONType, nullable=False),
    sa.Column("labels_used", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(120), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
)

alias_statements = sa.Table(
    "alias_statements", metadata,
    sa.Column("id", sa.String(120), primary_key=True),
    sa.Column("entity_id", sa.String(120), nullable=False, index=True),
    sa.Column("entity_name", sa.Text, nullable=False),
    sa.Column("entity_type", sa.String(40), nullable=False),
    sa.Column("alias", sa.Text, nullable=False),
    sa.Column("alias_key", sa.Text, nullable=False, index=True),
    sa.Column("member_id", sa.String(120), nullable=False, server_default=""),
    sa.Column("other_id", sa.String(120), nullable=False, server_default=""),
    sa.Column("basis", sa.String(80), nullable=False),
    sa.Column("provenance", sa.Text, nullable=False),
    sa.Column("origin", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(120), nullable=False),
    sa.Column("undone_at", sa.DateTime),
    sa.Column("undone_by", sa.String(120)),
    sa.Column("undo_reason", sa.Text),
)

# --- alerts (0006)
alerts = sa.Table(
    "alerts", metadata,
    sa.Column("id", sa.String(120), primary_key=True),
    sa.Column("kind", sa.String(60), nullable=False, index=True),
    sa.Column("severity", sa.SmallInteger, nullable=False, index=True),
    # (0025) a watchlist alert's title and hits quote its document: sealed when encrypted
    sa.Column("title", Sealed("alerts.title"), nullable=False),
    sa.Column("group_key", sa.Text, nullable=False),
    sa.Column("scope", sa.Text, nullable=False, index=True),
    sa.Column("story_id", sa.String(80)),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("assignee", sa.String(120)),
    sa.Column("documents", JSONType, nullable=False),
    sa.Column("occurrences", sa.Integer, nullable=False),
    sa.Column("details", SealedJSON("alerts.details", "id"), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False, index=True),
    sa.Column("closed_at", sa.DateTime),
    *marking_columns(),
)

alert_hits = sa.Table(
    "alert_hits", metadata,
    sa.Column("alert_id", sa.String(120), primary_key=True),
    sa.Column("hit_key", sa.Text, primary_key=True),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("document_id", sa.String(80)),
    sa.Column("severity", sa.SmallInteger, nullable=False),
    # (0025) sealed when encrypted, bound to (alert_id, hit_key)
    sa.Column("title", Sealed("alert_hits.title", ("alert_id", "hit_key")), nullable=False),
    sa.Column("details", SealedJSON("alert_hits.details", ("alert_id", "hit_key")),
              nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

alert_events = sa.Table(
    "alert_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.String(120), nullable=False, index=True),
    sa.Column("action", sa.String(30), nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    # (0025) "raised"/"escalated" copy the alert's title; notes may quote it: sealed when
    # encrypted (written by KeyRing.insert_with_id, bound to the event's id)
    sa.Column("comment", Sealed("alert_events.comment"), nullable=False, server_default=""),
    sa.Column("severity", sa.SmallInteger, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("assignee", sa.String(120)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("notify", sa.Boolean, nullable=False),
    sa.Column("dispatched_at", sa.DateTime),
)

alert_deliveries = sa.Table(
    "alert_deliveries", metadata,
    sa.Column("id", sa.String(120), primary_key=True),
    sa.Column("alert_id", sa.String(120), nullable=False, index=True),
    sa.Column("event_id", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    # (0025) the alert as sent (title, hits): sealed when encrypted
    sa.Column("payload", SealedJSON("alert_deliveries.payload", "id"), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("sent_at", sa.DateTime),
)

# --- watchlists (0007)
watchlists = sa.Table(
    "watchlists", metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    # unique among what one reader may read, not store-wide (migration 0024)
    sa.Column("name", sa.String(200), nullable=False, index=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("severity", sa.SmallInteger, nullable=False),
    sa.Column("owner", sa.String(120), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    *marking_columns(),
)

watchlist_terms = sa.Table(
    "watchlist_terms", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("watchlist_id", sa.String(80), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("display", sa.Text, nullable=False),
    sa.Column("value_type", sa.String(40), nullable=False, server_default=""),
    sa.Column("radius_km", sa.Float),
    sa.Column("latitude", sa.Float),
    sa.Column("longitude", sa.Float),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("watchlist_id", "kind", "value", name="uq_watchlist_terms_value"),
)

watchlist_hits = sa.Table(
    "watchlist_hits", metadata,
    sa.Column("term_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("document_id", sa.String(80), primary_key=True, index=True),
    sa.Column("watchlist_id", sa.String(80), nullable=False, index=True),
    # (0025) the document's words that matched, and the evidence: sealed when encrypted
    # (evidence widened from String(160) to hold a token)
    sa.Column("matched", Sealed("watchlist_hits.matched", ("term_id", "document_id")),
              nullable=False),
    sa.Column("span_start", sa.Integer),
    sa.Column("span_end", sa.Integer),
    sa.Column("evidence", Sealed("watchlist_hits.evidence", ("term_id", "document_id")),
              nullable=False, server_default=""),
    sa.Column("occurrences", sa.Integer, nullable=False, server_default="1"),
    sa.Column("via", sa.String(20), nullable=False, server_default="process"),
    sa.Column("created_at", sa.DateTime, nullable=False, index=True),
    *marking_columns(),
)

# --- warnings (0008)

early_warnings = sa.Table(
    "warnings", metadata,
    sa.Column("id", sa.String(120), primary_key=True),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("label", sa.Text, nullable=False, server_default=""),
    sa.Column("day", sa.Date, nullable=False, index=True),
    sa.Column("method", sa.String(40), nullable=False),
    sa.Column("observed", sa.Float, nullable=False),
    sa.Column("expected", sa.Float, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("details", JSONType, nullable=False),
    sa.Column("alert_id", sa.String(120)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    *marking_columns(),
    sa.UniqueConstraint("key", "day", "method", name="uq_warnings_key_day_method"),
)

# --- verify (0009)
claim_grades = sa.Table(
    "claim_grades", metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("value", sa.String(200), primary_key=True),
    sa.Column("event", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(30), nullable=False),
    # (0020) the claim's sentence and its explanation quote documents: sealed when encrypted
    sa.Column("text", Sealed("claim_grades.text", ("key", "value", "event")), nullable=False),
    sa.Column("credibility", sa.SmallInteger, nullable=False),
    sa.Column("independent", sa.Integer, nullable=False),
    sa.Column("reports", sa.Integer, nullable=False),
    sa.Column("contradicted", sa.Boolean, nullable=False),
    sa.Column("explanation", SealedJSON("claim_grades.explanation", ("key", "value", "event")),
              nullable=False),
    sa.Column("computed_at", sa.DateTime, nullable=False),
)

claim_documents = sa.Table(
    "claim_documents", metadata,
    sa.Column("document_id", sa.String(80), primary_key=True),
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("value", sa.String(200), primary_key=True),
    sa.Column("event", sa.Integer, nullable=False),
)

grades = sa.Table(
    "grades", metadata,
    sa.Column("subject_type", sa.String(20), primary_key=True),
    sa.Column("subject_id", sa.String(120), primary_key=True),
    sa.Column("reliability", sa.String(1)),
    sa.Column("credibility", sa.SmallInteger),
    sa.Column("corroboration", sa.Integer, nullable=False),
    sa.Column("explanation", JSONType, nullable=False),
    sa.Column("computed_at", sa.DateTime, nullable=False),
)

reliability_overrides = sa.Table(
    "reliability_overrides", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_id", sa.String(80), nullable=False, index=True),
    sa.Column("reliability", sa.String(1)),
    sa.Column("analyst", sa.String(120), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
)

# --- risk (0010)
risk_scores = sa.Table(
    "risk_scores", metadata,
    sa.Column("subject_type", sa.String(20), primary_key=True),
    sa.Column("subject_id", sa.String(120), primary_key=True),
    # (0020) a story's name is its document's title: sealed on an encrypted store
    sa.Column("name", Sealed("risk_scores.name", ("subject_type", "subject_id"),
                             when=("subject_type", ("story",))), nullable=False),
    sa.Column("kind", sa.String(60), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("likelihood", sa.Float, nullable=False),
    sa.Column("impact", sa.Float, nullable=False),
    # (0025) components name the reporting documents with their titles: sealed
    sa.Column("components", SealedJSON("risk_scores.components", ("subject_type", "subject_id")),
              nullable=False),
    sa.Column("last_seen", sa.DateTime),
    sa.Column("expires_at", sa.DateTime),
    sa.Column("computed_at", sa.DateTime, nullable=False),
    *marking_columns(),
    sa.Index("ix_risk_scores_type_score", "subject_type", "score"),
)

# --- api users (0012)
users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    # read rights (0017, access): see allsource.store.users
    sa.Column("max_tlp", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("clearance", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("all_access", sa.Boolean, nullable=False, server_default=sa.false()),
)

api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("user_id", sa.String(80), nullable=False, index=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_used_at", sa.DateTime),
    sa.Column("expires_at", sa.DateTime),
    sa.Column("revoked", sa.Boolean, nullable=False),
    # identity (0018): read, write, admin — comma-joined
    sa.Column("scopes", sa.String(40), nullable=False, server_default="read,write,admin"),
)

# --- cases (0013)
cases = sa.Table(
    "cases", metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("question", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("owner", sa.String(120), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False, index=True),
    *marking_columns(),
)

case_hypotheses = sa.Table(
    "case_hypotheses", metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("case_id", sa.String(80), nullable=False, index=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("position", sa.Integer, nullable=False),
)

case_evidence = sa.Table(
    "case_evidence", metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("case_id", sa.String(80), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("document_id", sa.String(80)),
    sa.Column("claim_key", sa.String(300)),
    sa.Column("claim_value", sa.String(200)),
    # (0025) a linked document's title by default: sealed when encrypted
    sa.Column("description", Sealed("case_evidence.description"), nullable=False),
    sa.Column("credibility", sa.SmallInteger),
    sa.Column("relevance", sa.String(10), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

case_ratings = sa.Table(
    "case_ratings", metadata,
    sa.Column("evidence_id", sa.String(80), primary_key=True),
    sa.Column("hypothesis_id", sa.String(80), primary_key=True, index=True),
    sa.Column("rating", sa.String(2), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

case_events = sa.Table(
    "case_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(80), nullable=False, index=True),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    # (0025) an evidence update logs the new description: sealed like the description
    sa.Column("details", SealedJSON("case_events.details", "id",
                                    when=("action", ("evidence-updated",))), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

# --- document embeddings (0014)
document_embeddings = sa.Table(
    "document_embeddings", metadata,
    sa.Column("document_id", sa.String(80), primary_key=True),
    sa.Column("model", sa.String(40), nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
)

# --- analysts' verdicts on mentions (0016)
mention_verdicts = sa.Table(
    "mention_verdicts", metadata,
    sa.Column("id", sa.String(120), primary_key=True),
    sa.Column("verdict", sa.String(20), nullable=False),
    sa.Column("document_id", sa.String(80), nullable=False, server_default="", index=True),
    sa.Column("entity_id", sa.String(120), nullable=False, index=True),
    sa.Column("entity_name", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("name_key", sa.Text, nullable=False),
    sa.Column("other_id", sa.String(120), nullable=False, server_default=""),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(120), nullable=False),
    sa.Column("undone_at", sa.DateTime),
    sa.Column("undone_by", sa.String(120)),
    sa.Column("undo_reason", sa.Text),
)

# --- identity: passwords, web sessions, login throttling (0018; api_tokens.scopes above)
user_credentials = sa.Table(
    "user_credentials", metadata,
    sa.Column("user_id", sa.String(80), primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

web_sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(80), nullable=False, index=True),
    sa.Column("token_id", sa.String(40)),
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("address", sa.String(64), nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False, index=True),
    sa.Column("last_seen_at", sa.DateTime, nullable=False),
)

login_throttle = sa.Table(
    "login_throttle", metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure_at", sa.DateTime, nullable=False, index=True),
    sa.Column("locked_until", sa.DateTime),
)

# --- per-user access (0017, access helper): compartments and groups of each user
user_compartments = sa.Table(
    "user_compartments", metadata,
    sa.Column("user_id", sa.String(80), primary_key=True),
    sa.Column("name", sa.String(120), primary_key=True),
)
user_groups = sa.Table(
    "user_groups", metadata,
    sa.Column("user_id", sa.String(80), primary_key=True),
    sa.Column("name", sa.String(120), primary_key=True),
)

# --- encryption at rest (0020): wrapped data keys; the blind index of sealed documents
data_keys = sa.Table(
    "data_keys", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("purpose", sa.String(10), nullable=False),
    sa.Column("kek_id", sa.String(40), nullable=False),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("rewrapped_at", sa.DateTime),
)
# NULL on rows written in plain text, which the full-text index reads from title/text; ''
# on sealed rows, whose keyed-hash tokens (store/blind.py) the store writes into the index
# only (0028, store/blind_storage.py); the token strings on rows sealed before 0028
documents.append_column(sa.Column("index_title", sa.Text))
documents.append_column(sa.Column("index_text", sa.Text))

# --- tamper-evident audit (0019; see allsource.store.audit) ----------------------------------
#: one row per audited action, hash-chained in ``seq`` order
audit_events = sa.Table(
    "audit_events", metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=False),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("tlp", sa.SmallInteger, nullable=False),
    sa.Column("classification", sa.SmallInteger, nullable=False),
    sa.Column("compartments", sa.Text, nullable=False),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("detail", JSONType, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_events_actor_at", "actor", "at"),
)

#: signed statements "the chain's hash at seq N was H" (Ed25519 over seq, hash and time)
audit_checkpoints = sa.Table(
    "audit_checkpoints", metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("public_key", sa.String(64), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
)

#: the chain head (one row, id 1): appenders lock it, so seq numbers never race
audit_head = sa.Table(
    "audit_head", metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# --- derived views carry the markings of their evidence (0021, issue 10) ---------------------
# * ``mentions``: the marking of one piece of evidence — the object as proposed in that
#   document, combined with the document's marking. A derived object is visible to a reader
#   who may read one of its mentions (see :mod:`allsource.store.derived`).
# * ``grades`` and ``claim_grades``: the combined marking of every document a stored grade
#   rests on; a reader who may not read all of them gets a grade computed from what they may
#   read (see :mod:`allsource.verify.audience`).
# * ``case_events``: the case's marking when the event was written, combined with that of
#   the document it references; a reader sees the events they may read.
for _table in (mentions, grades, claim_grades, case_events):
    for _column in marking_columns():
        _table.append_column(_column)

# --- search by meaning: a version per embedding model (0022, issue 11) -----------------------
#: bumped in the same transaction as every write or delete of that model's rows in
#: ``document_embeddings`` (see :mod:`allsource.store.embeddings`), so a reader checks its
#: in-memory matrix with one primary-key read instead of counting the table
embedding_versions = sa.Table(
    "embedding_versions", metadata,
    sa.Column("model", sa.String(40), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)

# --- graph neighbourhoods read relationships from an index alone (0026, issue 11) ------------
#: each replaces the single-column index on its first column: ``analyze.graph`` reads the
#: four columns of every relationship touching a frontier without visiting the table
sa.Index("ix_relationships_source_ends", relationships.c.source_ref, relationships.c.target_ref,
         relationships.c.relationship_type, relationships.c.id)
sa.Index("ix_relationships_target_ends", relationships.c.target_ref, relationships.c.source_ref,
         relationships.c.relationship_type, relationships.c.id)

# --- a reader's evidence check reads a mention from an index alone (0027, issue 11) -------------
#: ``derived.visible`` asks, per row, for a readable mention in a readable document: this
#: holds the mention's marking and document next to the object's ID
sa.Index("ix_mentions_object_marking", mentions.c.object_id, mentions.c.tlp,
         mentions.c.classification, mentions.c.compartments, mentions.c.releasability,
         mentions.c.document_id)

# --- a reader's alert list reads an alert's hits from an index alone (0046, issue 12) ----------
#: ``assess.alerts.shown`` and ``seen_severity`` ask, per alert, for its hits' documents and
#: severities: this holds both next to the alert's id
sa.Index("ix_alert_hits_seen", alert_hits.c.alert_id, alert_hits.c.document_id,
         alert_hits.c.severity)

# --- object versions and the ingest sequence (0033, wt-taxii; see allsource.store.object_log) --
#: every stored version of every object and relationship, numbered in commit order: the TAXII
#: server pages over ``seq`` and ``date_added`` (strictly increasing with ``seq``)
object_versions = sa.Table(
    "object_versions", metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=False),
    sa.Column("id", sa.String(120), nullable=False),
    sa.Column("type", sa.String(60), nullable=False),
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    # the STIX ``modified`` at microsecond precision ("2024-01-02T03:04:05.000000Z"), so that
    # string order is time order; '' for an object without one
    sa.Column("modified", sa.String(32), nullable=False, server_default=""),
    sa.Column("spec_version", sa.String(8), nullable=False, server_default="2.1"),
    sa.Column("date_added", sa.DateTime, nullable=False, unique=True),
    sa.Column("is_current", sa.Boolean, nullable=False),
    sa.Column("stix", JSONType, nullable=False),
    *marking_columns(),
    # where the version came from (0044, wt-echo): the id of the source whose run wrote it,
    # or of the user whose TAXII POST did; NULL for a processing stage's finding and for
    # versions stored before 0044 (see allsource.share.taxii.origin)
    sa.Column("origin", sa.String(80), nullable=True),
    sa.UniqueConstraint("id", "modified", name="uq_object_versions_id_modified"),
    sa.Index("ix_object_versions_type_seq", "type", "seq"),
)

#: one row (id 1): the last ``seq`` and ``date_added`` handed out; writers lock it
object_log_head = sa.Table(
    "object_log_head", metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("date_added", sa.DateTime, nullable=False),
)

#: TAXII 2.1 status resources of object POSTs (answered at once, read back by id)
taxii_status = sa.Table(
    "taxii_status", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("user_id", sa.String(80), nullable=False),
    sa.Column("collection", sa.String(80), nullable=False),
    sa.Column("request_timestamp", sa.DateTime, nullable=False),
    sa.Column("total_count", sa.Integer, nullable=False),
    sa.Column("success_count", sa.Integer, nullable=False),
    sa.Column("failure_count", sa.Integer, nullable=False),
    sa.Column("details", JSONType, nullable=False),
)

# --- the pipeline's writes touch fewer B-trees (0035, issue 11) -------------------------------
#: ``via`` is set only on mentions entity linking moved (store/links.py): the index holds
#: those alone, and ``via IN (…)`` implies ``via IS NOT NULL`` on both backends
sa.Index("ix_mentions_via", mentions.c.via, sqlite_where=mentions.c.via.isnot(None),
         postgresql_where=mentions.c.via.isnot(None))

# --- partner sync (0039, issue 13) ------------------------------------------------------------
#: per TAXII partner source: the last ``object_versions.seq`` pushed back (share/sync_push.py)
sync_push = sa.Table(
    "sync_push", metadata,
    sa.Column("source_id", sa.String(80), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("pushed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
