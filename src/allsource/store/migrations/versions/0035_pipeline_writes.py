"""Fewer B-trees written per processed document: the parent of ``allsource process`` writes
every batch, and its cost is SQLite inserting rows under random keys.

* ``ix_mentions_via`` becomes a partial index of the mentions that have a ``via`` (those
  entity linking moved to a canonical entity, :mod:`allsource.store.links`). ``via`` is NULL
  on every mention a stage writes — about 30 per document — and the index held an entry for
  each; the only reads (``via IN (…)``) imply ``via IS NOT NULL``, which both engines use to
  pick a partial index. Both backends.
* ``lsh_bands`` (~27 rows per narrative document) becomes a ``WITHOUT ROWID`` table on
  SQLite: its primary key ``(band, bucket, document_id)`` is then the table itself, one
  B-tree per row instead of a rowid table plus the key's index (its document index stays).
  The rows are copied over. PostgreSQL has no clustered tables; nothing changes there.

Measured by replaying a 4,000-document run's rows into fresh tables alone (batches of 500,
one transaction each, on a loaded host): mentions 0.55–0.77 → 0.49–0.52, band rows
0.23–0.25 → 0.18–0.29 CPU ms per document; replaying a whole ``write_results`` the difference
is within the noise (benchmarks/RESULTS.md, the wt-pipe section of 2026-12-07 16:50). Small,
and it grows with the tables (random-key pages stop fitting the cache), so it is kept.

Revision ID: 0035
Revises: 0034
"""

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

_VIA = "ix_mentions_via"
_BANDS = """CREATE TABLE {name} (
    band SMALLINT NOT NULL,
    bucket BLOB NOT NULL,
    document_id VARCHAR(80) NOT NULL,
    PRIMARY KEY (band, bucket, document_id)
){options}"""


def upgrade() -> None:
    op.drop_index(_VIA, table_name="mentions")
    op.create_index(_VIA, "mentions", ["via"], sqlite_where=sa.text("via IS NOT NULL"),
                    postgresql_where=sa.text("via IS NOT NULL"))
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_bands(" WITHOUT ROWID")


def downgrade() -> None:
    op.drop_index(_VIA, table_name="mentions")
    op.create_index(_VIA, "mentions", ["via"])
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_bands("")


def _rebuild_bands(options: str) -> None:
    op.execute(_BANDS.format(name="lsh_bands_0035", options=options))
    # in key order: the new B-tree is filled from its left edge, page after page
    op.execute("INSERT INTO lsh_bands_0035 (band, bucket, document_id) "
               "SELECT band, bucket, document_id FROM lsh_bands "
               "ORDER BY band, bucket, document_id")
    op.execute("DROP TABLE lsh_bands")
    op.execute("ALTER TABLE lsh_bands_0035 RENAME TO lsh_bands")
    op.create_index("ix_lsh_bands_document_id", "lsh_bands", ["document_id"])
