"""What a restricted reader's alert list needs to judge an alert's hits from an index alone.

A reader is shown an alert only with a hit they may read, and sees it at the highest
severity among those hits (:func:`allsource.assess.alerts.shown`,
:func:`~allsource.assess.alerts.seen_severity`): per alert, the list, its total, the tabs'
counts and the volume chart each ask ``alert_hits`` for the alert's hits' documents and
severities. The primary key ``(alert_id, hit_key)`` holds neither, so each hit also read
its table row (which carries the sealed title and details). This index holds what the
checks read of a hit next to the alert's id.

Measured on ``benchmarks/web_pages.py``'s 120k store (32,504 alerts; a TLP:GREEN reader
who may read 4,708): ``alert_page`` 205–261 → 106–167 ms CPU, ``alert_volume`` 59–61 →
28–29 ms. Cost: one index entry per hit (a hit is written per watchlist match, not per
document).

Revision ID: 0046
Revises: 0045
"""

from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None

_NAME = "ix_alert_hits_seen"
_COLUMNS = ["alert_id", "document_id", "severity"]


def upgrade() -> None:
    op.create_index(_NAME, "alert_hits", _COLUMNS)


def downgrade() -> None:
    op.drop_index(_NAME, table_name="alert_hits")
